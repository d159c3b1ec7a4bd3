// What the fuzz targets share. A reader may reject any input, but only with a visbone::Error whose message
// names the input (DESIGN.md, "Errors and bad input"); any other exception escapes the target and libFuzzer
// reports it, as it reports crashes, leaks, hangs and sanitizer findings.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "visbone/core/errors.h"

namespace visbone::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A failed expectation is a finding: print it and abort so libFuzzer saves the input.
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "visbone fuzz finding: %s\n", what.c_str());
  std::abort();
}

// The error must say where: its message contains `name` (the file, or the source name given to the reader).
inline void expect_named(const Error& e, std::string_view name) {
  if (std::string_view(e.what()).find(name) == std::string_view::npos)
    finding("error message does not name the input '" + std::string(name) + "': " + e.what());
}

}  // namespace visbone::fuzz
