// The arithmetic a BiT model runs in. f32 is exact (the parity fixtures' 1e-4). bf16 runs the convolutions
// on bf16 inputs and weights (fp32 accumulation) with the activations between layers, the residual stream
// among them, stored as bf16; GroupNorm statistics and arithmetic, the residual additions, pooling and the
// classifier are fp32, and outputs are fp32. auto
// is bf16 where oneDNN uses AMX (the speed-up is large there), else f32.
#pragma once
#include <optional>
#include <string>

namespace visbone::bit {

enum class Precision { F32, Bf16, Auto };

std::string to_string(Precision p);
// "f32", "bf16" or "auto"; nothing for any other text.
std::optional<Precision> parse_precision(const std::string& text);
// Whether oneDNN may use bf16 instructions (AVX512-BF16 or AMX) / AMX on this CPU, after ONEDNN_MAX_CPU_ISA.
bool cpu_has_bf16();
bool cpu_has_amx();
// F32 or Bf16: Auto resolved for this CPU. Bf16 on a CPU without it: ConfigError naming the missing
// instruction set and what oneDNN found instead.
Precision resolve_precision(Precision p);
// The instruction set oneDNN uses here (after ONEDNN_MAX_CPU_ISA), e.g. "AVX512-BF16".
std::string effective_isa_name();

}  // namespace visbone::bit
