// VISBONE_CLONES: a function compiled for AVX-512 (x86-64-v4: F, BW, VL), AVX2 and the portable baseline,
// picked at run time by the CPU (GCC/Clang function multiversioning), so loops the compiler vectorises run at
// the machine's width from one binary. Put it on a function called per row or per block, not per value: each
// call goes through the dispatcher. The kernels that use it do the same operations in the same order at every
// width (integers, or floats without FMA contraction), so results are identical on every CPU.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__)
#define VISBONE_CLONES [[gnu::target_clones("arch=x86-64-v4", "avx2", "default")]]
#else
#define VISBONE_CLONES
#endif
