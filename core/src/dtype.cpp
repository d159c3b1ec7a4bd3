// Exact dtype conversions: the bit manipulation is written out so that no platform half type is needed.
#include "visbone/core/dtype.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>

namespace visbone {
namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::size_t size;
};

constexpr std::array<DTypeInfo, 10> kDTypes{{{DType::F64, "F64", 8},
                                             {DType::F32, "F32", 4},
                                             {DType::F16, "F16", 2},
                                             {DType::BF16, "BF16", 2},
                                             {DType::I64, "I64", 8},
                                             {DType::I32, "I32", 4},
                                             {DType::I16, "I16", 2},
                                             {DType::I8, "I8", 1},
                                             {DType::U8, "U8", 1},
                                             {DType::BOOL, "BOOL", 1}}};

const DTypeInfo& info(DType dtype) {
  for (const auto& i : kDTypes)
    if (i.dtype == dtype) return i;
  return kDTypes[1];
}

template <typename T>
T load(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& i : kDTypes)
    if (i.name == name) return i.dtype;
  return std::nullopt;
}

std::string_view dtype_name(DType dtype) { return info(dtype).name; }
std::size_t dtype_size(DType dtype) { return info(dtype).size; }

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  const std::uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24 is exact in float.
    const float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  std::uint32_t bits;
  if (exp == 0x1f)
    bits = sign | 0x7f800000u | (mant << 13);  // inf / nan (payload kept)
  else
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  return std::bit_cast<float>(bits);
}

float bfloat16_to_float(std::uint16_t b) { return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16); }

std::uint16_t float_to_bfloat16(float value) {
  std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);  // quiet nan
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(bits >> 16);
}

std::uint16_t float_to_half(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t abs = bits & 0x7fffffffu;
  if (abs > 0x7f800000u) return sign | 0x7e00u;   // nan
  if (abs >= 0x477ff000u) return sign | 0x7c00u;  // rounds to inf (>= 65520)
  if (abs < 0x38800000u) {
    // Result is subnormal or zero: round abs / 2^-24 to nearest even integer.
    const float f = std::bit_cast<float>(abs);
    const float scaled = f * 16777216.0f;  // exact: power of two
    return sign | static_cast<std::uint16_t>(std::nearbyint(scaled));
  }
  const std::uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
  return sign | static_cast<std::uint16_t>((rounded - (112u << 23)) >> 13);
}

void convert_to_f32(const void* src, DType dtype, std::size_t count, float* dst) {
  const auto* p = static_cast<const unsigned char*>(src);
  const std::size_t step = dtype_size(dtype);
  switch (dtype) {
    case DType::F32:
      std::memcpy(dst, src, count * 4);
      return;
    case DType::F16:
      for (std::size_t i = 0; i < count; ++i) dst[i] = half_to_float(load<std::uint16_t>(p + i * step));
      return;
    case DType::BF16:
      for (std::size_t i = 0; i < count; ++i) dst[i] = bfloat16_to_float(load<std::uint16_t>(p + i * step));
      return;
    case DType::F64:
      for (std::size_t i = 0; i < count; ++i) dst[i] = static_cast<float>(load<double>(p + i * step));
      return;
    case DType::I64:
      for (std::size_t i = 0; i < count; ++i) dst[i] = static_cast<float>(load<std::int64_t>(p + i * step));
      return;
    case DType::I32:
      for (std::size_t i = 0; i < count; ++i) dst[i] = static_cast<float>(load<std::int32_t>(p + i * step));
      return;
    case DType::I16:
      for (std::size_t i = 0; i < count; ++i) dst[i] = static_cast<float>(load<std::int16_t>(p + i * step));
      return;
    case DType::I8:
      for (std::size_t i = 0; i < count; ++i) dst[i] = static_cast<float>(load<std::int8_t>(p + i * step));
      return;
    case DType::U8:
    case DType::BOOL:
      for (std::size_t i = 0; i < count; ++i) dst[i] = static_cast<float>(p[i]);
      return;
  }
}

}  // namespace visbone
