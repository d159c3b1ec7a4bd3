#include "visbone/bit/precision.h"

#include <oneapi/dnnl/dnnl.hpp>

#include "visbone/core/errors.h"

namespace visbone::bit {
namespace {

// oneDNN's ISA values are bit sets: a CPU has an ISA when the effective ISA holds all its bits.
bool effective_isa_has(dnnl::cpu_isa isa) {
  const auto have = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto need = static_cast<unsigned>(isa);
  return (have & need) == need;
}

std::string isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "SSE4.1";
    case dnnl::cpu_isa::avx: return "AVX";
    case dnnl::cpu_isa::avx2: return "AVX2";
    case dnnl::cpu_isa::avx2_vnni: return "AVX2-VNNI";
    case dnnl::cpu_isa::avx512_core: return "AVX512 (core)";
    case dnnl::cpu_isa::avx512_core_vnni: return "AVX512-VNNI";
    case dnnl::cpu_isa::avx512_core_bf16: return "AVX512-BF16";
    case dnnl::cpu_isa::avx512_core_amx: return "AMX";
    default: return "an ISA older than SSE4.1";
  }
}

}  // namespace

std::string to_string(Precision p) {
  switch (p) {
    case Precision::F32: return "f32";
    case Precision::Bf16: return "bf16";
    case Precision::Auto: return "auto";
  }
  return "f32";
}

std::optional<Precision> parse_precision(const std::string& text) {
  for (const Precision p : {Precision::F32, Precision::Bf16, Precision::Auto})
    if (text == to_string(p)) return p;
  return std::nullopt;
}

std::string effective_isa_name() { return isa_name(dnnl::get_effective_cpu_isa()); }

bool cpu_has_bf16() { return effective_isa_has(dnnl::cpu_isa::avx512_core_bf16); }
bool cpu_has_amx() { return effective_isa_has(dnnl::cpu_isa::avx512_core_amx); }

Precision resolve_precision(Precision p) {
  if (p == Precision::Auto) return cpu_has_amx() ? Precision::Bf16 : Precision::F32;
  if (p == Precision::Bf16 && !cpu_has_bf16())
    throw ConfigError("precision bf16 needs the AVX512-BF16 instruction set (avx512_bf16) or AMX; oneDNN finds " +
                      isa_name(dnnl::get_effective_cpu_isa()) +
                      " on this CPU (after ONEDNN_MAX_CPU_ISA, if set). Use precision f32 or auto");
  return p;
}

}  // namespace visbone::bit
