// Where the time of a BiT-R50x1 forward goes, piece by piece:
// - GroupNorm+ReLU over each activation shape (batch 1 and 8, f32 and bf16 maps), with bytes/s of the
//   maps' storage against a plain copy of f32 maps (the bandwidth bound: the kernel reads its input twice
//   and writes once);
// - each distinct convolution shape at 224x224 (the 3x3 stride-1 ones also with Winograd, and at 448), batch
// 1
//   and 8, with FLOP/s (2 x multiply-adds of the direct algorithm) to compare with the peak below;
// - the peaks: AVX-512 fused multiply-adds and AVX512-BF16 dot products alone, 1 and 2 threads (BM_Peak).
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <omp.h>

#include <cstring>
#include <random>

#include "visbone/bit/bf16.h"
#include "visbone/bit/group_norm_act.h"
#include "visbone/bit/ws_conv.h"

namespace visbone::bit {
namespace {

FeatureMap random_map(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w,
                      DataType type = DataType::f32) {
  auto m = FeatureMap::zeros(n, c, h, w, type);
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.5f, 1.0f);
  if (m.is_bf16()) {
    for (std::int64_t i = 0; i < m.data.numel() * 2; ++i) m.bf16_data()[i] = to_bf16(d(rng));
  } else {
    for (float& v : m.data) v = d(rng);
  }
  return m;
}

// Arguments: channels, spatial size, batch, 1 for bf16 maps (in place, as the bf16 precision runs it).
void BM_GroupNormRelu(benchmark::State& state) {
  const std::int64_t c = state.range(0), hw = state.range(1), n = state.range(2);
  const DataType type = state.range(3) ? DataType::bf16 : DataType::f32;
  auto x = random_map(n, c, hw, hw, type);
  auto y = FeatureMap::zeros(n, c, hw, hw, type);
  Tensor gamma({c}), beta({c});
  for (float& g : gamma) g = 1.0f;
  const GroupNormAct gn(gamma, beta, 32, Act::Relu);
  for (auto _ : state) {
    gn.run(x, y);
    benchmark::DoNotOptimize(y.data.data());
  }
  state.SetBytesProcessed(state.iterations() * x.data.numel() * 4 * 3);
}

void BM_CopyBound(benchmark::State& state) {
  const std::int64_t c = state.range(0), hw = state.range(1);
  auto x = random_map(1, c, hw, hw);
  auto y = FeatureMap::zeros(1, c, hw, hw);
  for (auto _ : state) {
    std::memcpy(y.data.data(), x.data.data(), static_cast<std::size_t>(x.data.numel()) * 4);
    benchmark::DoNotOptimize(y.data.data());
  }
  state.SetBytesProcessed(state.iterations() * x.data.numel() * 4 * 2);
}

// The GroupNorm shapes of R50x1 at 224 (channels, spatial size).
constexpr std::pair<int, int> kNormShapes[] = {{64, 56}, {256, 56}, {128, 28}, {512, 28},
                                               {256, 14}, {1024, 14}, {512, 7}, {2048, 7}};
// Each at batch 1 and 8, f32 and bf16.
void norm_shapes(benchmark::internal::Benchmark* b) {
  for (auto [c, hw] : kNormShapes)
    for (int n : {1, 8})
      for (int bf16 : {0, 1}) b->Args({c, hw, n, bf16});
}
// The copy bound at batch 1, f32.
void copy_shapes(benchmark::internal::Benchmark* b) {
  for (auto [c, hw] : kNormShapes) b->Args({c, hw});
}
BENCHMARK(BM_GroupNormRelu)->Apply(norm_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CopyBound)->Apply(copy_shapes)->Unit(benchmark::kMicrosecond);

void BM_Conv(benchmark::State& state) {
  const int ic = static_cast<int>(state.range(0)), oc = static_cast<int>(state.range(1)),
            k = static_cast<int>(state.range(2)), stride = static_cast<int>(state.range(3));
  const std::int64_t in = state.range(4), n = state.range(6);
  Tensor w({oc, ic, k, k});
  std::mt19937 rng(2);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (float& v : w) v = d(rng);
  WsConv conv(w, stride, 1, Padding::Default);
  conv.set_algorithm(state.range(5) ? ConvAlgorithm::Winograd : ConvAlgorithm::Direct);
  const auto x = random_map(n, ic, in, in);
  const auto [oh, ow] = conv.out_size(in, in, "bench");
  auto y = FeatureMap::zeros(n, oc, oh, ow);
  dnnl::stream s(cpu_engine());
  BufferPool pool;
  const PoolScope pass(pool);  // the scratchpad kept between runs, as within a forward pass
  for (auto _ : state) {
    conv.run(x.memory(), y, false, s);
    s.wait();
  }
  if (state.range(5) && conv.winograd_primitives() == 0) state.SkipWithError("no Winograd for this shape");
  const double flops = 2.0 * oc * ic * k * k * static_cast<double>(oh * ow * n);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Every distinct (in, out, kernel, stride, input size) convolution of R50x1 at 224 except the stem, at batch 1
// and 8, direct; the 3x3 stride-1 ones also with Winograd (the standard-FLOP rate then shows its gain), and
// at 448 too (the shapes where the default algorithm's rule is decided).
void conv_shapes(benchmark::internal::Benchmark* b) {
  const int widths[] = {64, 256, 512, 1024, 2048};
  for (const int scale : {1, 2})
    for (int s = 1; s <= 4; ++s) {
      const int out = widths[s], mid = out / 4, in_first = widths[s - 1], stride = s == 1 ? 1 : 2;
      const int in_size = (s == 1 ? 56 : 112 >> (s - 1)) * scale, out_size = in_size / stride;
      for (const int n : {1, 8}) {
        if (scale == 1) {
          b->Args({in_first, out, 1, stride, in_size, 0, n});  // projection shortcut
          b->Args({in_first, mid, 1, 1, in_size, 0, n});       // first unit conv1
          b->Args({mid, mid, 3, stride, in_size, 0, n});       // first unit conv2 (strided)
          b->Args({mid, out, 1, 1, out_size, 0, n});           // conv3
          b->Args({out, mid, 1, 1, out_size, 0, n});           // later units conv1
        }
        for (const int wino : {0, 1}) b->Args({mid, mid, 3, 1, out_size, wino, n});  // later units conv2
      }
    }
}
BENCHMARK(BM_Conv)->Apply(conv_shapes)->Unit(benchmark::kMicrosecond)->UseRealTime();

// The CPU's peaks: each of `threads` OpenMP threads runs 16 independent chains of one 512-bit instruction
// (enough to cover its latency on two pipes), nothing loaded or stored: AVX-512's fused multiply-add (fp32,
// 16 lanes x 2 FLOPs) and AVX512-BF16's dot product (vdpbf16ps: per fp32 lane two bf16 products added, 16 x 4
// FLOPs; what bf16 convolutions can reach without AMX).
// The 16 chains' lanes summed, so that none of the work can be dropped.
__attribute__((target("avx512f"))) float lane_sum(const __m512* a) {
  alignas(64) float lanes[16];
  float total = 0;
  for (int i = 0; i < 16; ++i) {
    _mm512_store_ps(lanes, a[i]);
    for (const float x : lanes) total += x;
  }
  return total;
}
// Different starting values, so that no two chains are the same computation to the compiler.
#define VISBONE_CHAINS(step)                                                                     \
  __m512 a[16];                                                                                  \
  _Pragma("GCC unroll 16") for (int i = 0; i < 16; ++i) a[i] = _mm512_set1_ps(1.0f + 0.01f * i); \
  for (long n = 0; n < iterations; ++n) {                                                        \
    _Pragma("GCC unroll 16") for (int i = 0; i < 16; ++i) a[i] = step;                           \
  }                                                                                              \
  return lane_sum(a)
__attribute__((target("avx512f"))) float fma_chains(long iterations) {
  const __m512 b = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(1e-7f);
  VISBONE_CHAINS(_mm512_fmadd_ps(a[i], b, c));
}
__attribute__((target("avx512f,avx512bf16"))) float bf16_dot_chains(long iterations) {
  const __m512bh b = (__m512bh)_mm512_set1_epi16(0x3f80),
                 c = (__m512bh)_mm512_set1_epi16(0x3380);  // 1, ~6e-8
  VISBONE_CHAINS(_mm512_dpbf16_ps(a[i], b, c));
}
#undef VISBONE_CHAINS

// Arguments: threads, 0 for the FMA / 1 for the bf16 dot product.
void BM_Peak(benchmark::State& state) {
  const bool bf16 = state.range(1) == 1;
  if (bf16 ? !__builtin_cpu_supports("avx512bf16") : !__builtin_cpu_supports("avx512f")) {
    state.SkipWithError(bf16 ? "no AVX512-BF16 on this CPU" : "no AVX-512 on this CPU");
    return;
  }
  const int threads = static_cast<int>(state.range(0));
  constexpr long kIterations = 5'000'000;
  float sink = 0;
  for (auto _ : state) {
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += bf16 ? bf16_dot_chains(kIterations) : fma_chains(kIterations);
  }
  benchmark::DoNotOptimize(sink);
  const double flops_per_instruction = bf16 ? 64 : 32;
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_instruction * 16 * kIterations * threads * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Peak)
    ->ArgNames({"threads", "bf16"})
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace visbone::bit
