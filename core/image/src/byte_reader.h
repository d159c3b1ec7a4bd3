// Bounds-checked reads of fixed-width integers from untrusted bytes. Every accessor checks the range first,
// so header parsers can never read outside the buffer whatever the file claims.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace visbone::image::detail {

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  std::size_t size() const { return bytes_.size(); }
  // True when [offset, offset + count) lies inside the buffer (written to avoid overflow).
  bool has(std::uint64_t offset, std::uint64_t count) const {
    return offset <= bytes_.size() && count <= bytes_.size() - offset;
  }
  std::span<const std::uint8_t> sub(std::uint64_t offset, std::uint64_t count) const {
    if (!has(offset, count)) return {};
    return bytes_.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(count));
  }

  // An unsigned integer of `n` bytes (1..8) widened to 64 bits.
  std::optional<std::uint64_t> uint(std::uint64_t off, int n, bool little) const {
    if (n < 1 || n > 8 || !has(off, static_cast<std::uint64_t>(n))) return std::nullopt;
    return assemble(off, n, little);
  }
  std::optional<std::uint8_t> u8(std::uint64_t off) const {
    if (!has(off, 1)) return std::nullopt;
    return bytes_[static_cast<std::size_t>(off)];
  }
  std::optional<std::uint16_t> u16(std::uint64_t off, bool little) const {
    if (!has(off, 2)) return std::nullopt;
    return static_cast<std::uint16_t>(assemble(off, 2, little));
  }
  std::optional<std::uint32_t> u32(std::uint64_t off, bool little) const {
    if (!has(off, 4)) return std::nullopt;
    return static_cast<std::uint32_t>(assemble(off, 4, little));
  }
  std::optional<std::uint64_t> u64(std::uint64_t off, bool little) const {
    if (!has(off, 8)) return std::nullopt;
    return assemble(off, 8, little);
  }
  std::optional<std::uint16_t> be16(std::uint64_t off) const { return u16(off, false); }
  std::optional<std::uint32_t> be32(std::uint64_t off) const { return u32(off, false); }
  std::optional<std::uint16_t> le16(std::uint64_t off) const { return u16(off, true); }
  std::optional<std::uint32_t> le32(std::uint64_t off) const { return u32(off, true); }

  // True when the bytes at `off` equal `text` (without its terminating NUL).
  template <std::size_t N>
  bool matches(std::uint64_t off, const char (&text)[N]) const {
    if (!has(off, N - 1)) return false;
    for (std::size_t i = 0; i + 1 < N; ++i)
      if (bytes_[static_cast<std::size_t>(off) + i] != static_cast<std::uint8_t>(text[i])) return false;
    return true;
  }

 private:
  std::uint64_t assemble(std::uint64_t off, int n, bool little) const {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
      const std::uint64_t b = bytes_[static_cast<std::size_t>(off) + static_cast<std::size_t>(i)];
      v |= little ? b << (8 * i) : b << (8 * (n - 1 - i));
    }
    return v;
  }

  std::span<const std::uint8_t> bytes_;
};

}  // namespace visbone::image::detail
