// What safetensors.cpp (reading) and safetensors_write.cpp (writing) share: the format's constants and
// checks.
#pragma once

#include <bit>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

namespace visbone::safetensors_format {

// The format is little-endian; the reader converts through convert_to_f32 (little-endian only) and the
// writer copies floats as they are in memory.
static_assert(std::endian::native == std::endian::little,
              "visbone's safetensors code assumes a little-endian host");

inline constexpr std::string_view kMetadataKey = "__metadata__";

// Offset of the first byte that does not start a valid UTF-8 sequence (overlong forms, surrogates and
// code points past U+10FFFF included), or npos. Checked before JSON parsing so that the message says
// what is wrong rather than reporting a syntax error somewhere; and before writing a name.
std::size_t invalid_utf8_at(std::string_view s);

inline std::string errno_text(int err) {
  return std::system_category().message(err);
}

}  // namespace visbone::safetensors_format
