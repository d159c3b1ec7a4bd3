// bfloat16 <-> float for the layers visbone writes itself (GroupNorm, pooling). Rounding is to nearest,
// ties to even, as oneDNN's reorders and convolution outputs do.
#pragma once
#include <bit>
#include <cstdint>

namespace visbone::bit {

using bf16_t = std::uint16_t;

inline float from_bf16(bf16_t v) { return std::bit_cast<float>(static_cast<std::uint32_t>(v) << 16); }

inline bf16_t to_bf16(float f) {
  const auto u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<bf16_t>((u >> 16) | 0x40u);  // NaN stays NaN
  return static_cast<bf16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

}  // namespace visbone::bit
