// Reads one zip member's contents in order, stored (method 0) or deflated (method 8, through zlib's inflate,
// as np.savez_compressed writes them), a piece at a time, so a large array goes straight into its tensor
// without a copy of the whole member. Both kinds get the same checks: never more than the size the zip
// directory declares, and the CRC-32 of what was read.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace visbone {

class ZipMemberReader {
 public:
  static constexpr std::uint16_t kStored = 0, kDeflated = 8;

  // `data`: the member's bytes in the archive (compressed or not); `size`: its declared uncompressed size;
  // `where` names the archive and member in every error. FormatError for any other method.
  ZipMemberReader(std::span<const std::byte> data, std::uint16_t method, std::uint64_t size, std::string where);
  ~ZipMemberReader();
  ZipMemberReader(const ZipMemberReader&) = delete;
  ZipMemberReader& operator=(const ZipMemberReader&) = delete;

  // Fills `out` with the next bytes. FormatError when that would pass the declared size, or the deflate
  // stream is corrupt or ends first.
  void read(std::span<std::byte> out);
  // Reads and drops `count` bytes.
  void skip(std::uint64_t count);
  // Once the declared size is read: FormatError when a deflate stream holds more (a zip bomb's tail) or
  // does not end there.
  void expect_end();

  std::uint64_t position() const { return position_; }
  // The CRC-32 of the bytes read so far.
  std::uint32_t crc32() const { return crc_; }

 private:
  // One call of zlib's inflate, with input refilled first; true at the end of the stream. FormatError for a
  // corrupt or truncated stream.
  bool inflate_step();
  void inflate_into(std::span<std::byte> out);

  struct Inflater;
  std::span<const std::byte> data_;
  std::uint64_t size_;
  std::string where_;
  std::unique_ptr<Inflater> inflater_;  // null for a stored member
  std::uint64_t position_ = 0;
  std::uint32_t crc_ = 0;
};

}  // namespace visbone
