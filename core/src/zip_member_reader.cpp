#include "zip_member_reader.h"

#define ZLIB_CONST  // next_in points to const bytes: the archive is mapped read-only
#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>

#include "visbone/core/errors.h"

namespace visbone {

struct ZipMemberReader::Inflater {
  z_stream z{};
  std::uint64_t fed = 0;  // bytes of the member handed to zlib so far
  ~Inflater() { inflateEnd(&z); }
};

ZipMemberReader::ZipMemberReader(std::span<const std::byte> data, std::uint16_t method, std::uint64_t size,
                                 std::string where)
    : data_(data), size_(size), where_(std::move(where)) {
  if (method == kStored) {
    if (data.size() != size) throw FormatError(where_ + ": stored member with different sizes");
    return;
  }
  if (method != kDeflated)
    throw FormatError(where_ + " is compressed with zip method " + std::to_string(method) +
                      "; only stored (0) and deflate (8) members are read, as np.savez and np.savez_compressed "
                      "write them");
  inflater_ = std::make_unique<Inflater>();
  // Negative window bits: a raw deflate stream, as zip stores it (no zlib header or trailer).
  if (inflateInit2(&inflater_->z, -MAX_WBITS) != Z_OK) throw Error(where_ + ": zlib could not start inflating");
}

ZipMemberReader::~ZipMemberReader() = default;

void ZipMemberReader::read(std::span<std::byte> out) {
  if (out.size() > size_ - position_)
    throw FormatError(where_ + ": the member ends after " + std::to_string(size_) + " bytes, " +
                      std::to_string(position_ + out.size() - size_) + " short of what its .npy header needs");
  if (out.empty()) return;
  if (inflater_) {
    inflate_into(out);
  } else {
    std::memcpy(out.data(), data_.data() + position_, out.size());
  }
  // zlib's crc32_z: vectorised in Debian's zlib, and takes 64-bit lengths.
  crc_ = static_cast<std::uint32_t>(
      crc32_z(crc_, reinterpret_cast<const Bytef*>(out.data()), static_cast<z_size_t>(out.size())));
  position_ += out.size();
}

void ZipMemberReader::skip(std::uint64_t count) {
  std::array<std::byte, 4096> scratch;
  while (count > 0) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(count, scratch.size()));
    read(std::span(scratch.data(), n));
    count -= n;
  }
}

bool ZipMemberReader::inflate_step() {
  z_stream& z = inflater_->z;
  if (z.avail_in == 0 && inflater_->fed < data_.size()) {
    z.next_in = reinterpret_cast<const Bytef*>(data_.data() + inflater_->fed);
    z.avail_in = static_cast<uInt>(std::min<std::uint64_t>(data_.size() - inflater_->fed, UINT_MAX));
    inflater_->fed += z.avail_in;
  }
  const int rc = inflate(&z, Z_NO_FLUSH);
  if (rc == Z_STREAM_END) return true;
  if (rc == Z_OK) return false;
  if (rc == Z_BUF_ERROR && z.avail_in == 0 && inflater_->fed == data_.size())
    throw FormatError(where_ + ": its deflate stream is cut short after " + std::to_string(z.total_out) +
                      " of the " + std::to_string(size_) + " bytes the zip directory declares (truncated archive?)");
  if (rc == Z_BUF_ERROR) return false;  // no room for output: the caller offers more
  if (rc == Z_MEM_ERROR) throw Error(where_ + ": out of memory while inflating");
  throw FormatError(where_ + ": corrupt deflate stream (" + (z.msg ? std::string(z.msg) : "zlib error " + std::to_string(rc)) +
                    ")");
}

void ZipMemberReader::inflate_into(std::span<std::byte> out) {
  z_stream& z = inflater_->z;
  auto* next = reinterpret_cast<Bytef*>(out.data());
  std::size_t left = out.size();
  while (left > 0) {
    z.next_out = next;
    z.avail_out = static_cast<uInt>(std::min<std::size_t>(left, UINT_MAX));
    const uInt offered = z.avail_out;
    const bool ended = inflate_step();
    const std::size_t produced = offered - z.avail_out;
    next += produced;
    left -= produced;
    if (ended && left > 0)
      throw FormatError(where_ + ": its deflate stream ends after " + std::to_string(z.total_out) +
                        " bytes, short of the " + std::to_string(size_) + " the zip directory declares");
  }
}

void ZipMemberReader::expect_end() {
  if (position_ != size_)
    throw Error(where_ + ": expect_end after " + std::to_string(position_) + " of " + std::to_string(size_) + " bytes");
  if (!inflater_) return;
  z_stream& z = inflater_->z;
  Bytef probe = 0;
  while (true) {
    z.next_out = &probe;
    z.avail_out = 1;
    const bool ended = inflate_step();
    if (z.avail_out == 0)
      throw FormatError(where_ + " inflates to more than the " + std::to_string(size_) +
                        " bytes the zip directory declares (a zip bomb, or a corrupt directory)");
    if (ended) return;
  }
}

}  // namespace visbone
