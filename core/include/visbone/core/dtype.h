// Element types found in checkpoint files, and their exact conversion to float32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace visbone {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

// safetensors spelling ("F32", "BF16", ...) <-> DType.
std::optional<DType> dtype_from_name(std::string_view name);
std::string_view dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);

// IEEE half / bfloat16 bit patterns to float, exact for every pattern (subnormals, inf, nan).
float half_to_float(std::uint16_t bits);
float bfloat16_to_float(std::uint16_t bits);
// Round-to-nearest-even float -> half / bfloat16 bit patterns (used by writers and tests).
std::uint16_t float_to_half(float value);
std::uint16_t float_to_bfloat16(float value);

// Converts `count` little-endian elements of `dtype` at `src` (any alignment) to float32.
// F64 and 64/32-bit integers round to the nearest float, like torch's .float().
void convert_to_f32(const void* src, DType dtype, std::size_t count, float* dst);

}  // namespace visbone
