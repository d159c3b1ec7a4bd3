#include "visbone/core/npz.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

#include "visbone/core/errors.h"
#include "zip_member_reader.h"

namespace visbone {

std::uint32_t crc32(std::span<const std::byte> bytes) {
  return static_cast<std::uint32_t>(
      ::crc32_z(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<z_size_t>(bytes.size())));
}

namespace {

// Deflate's best case is 258 bytes from 2 bits: no honest member inflates to more than 1032 times its size.
constexpr std::uint64_t kMaxDeflateRatio = 1032;

constexpr std::uint32_t kEocd = 0x06054b50, kZip64Locator = 0x07064b50, kZip64Eocd = 0x06064b50,
                        kCentral = 0x02014b50, kLocal = 0x04034b50;

// Bounds-checked little-endian reads over the archive; every failure names the archive and what was read.
class Cursor {
 public:
  Cursor(std::span<const std::byte> bytes, const std::string& name) : b_(bytes), name_(name) {}
  template <typename T>
  T get(std::uint64_t at, const char* what) const {
    if (at > b_.size() || b_.size() - at < sizeof(T))
      throw FormatError(name_ + ": truncated zip archive (" + what + " at byte " + std::to_string(at) +
                        " is past the end of the " + std::to_string(b_.size()) + "-byte file)");
    T v;
    std::memcpy(&v, b_.data() + at, sizeof(T));
    return v;
  }
  std::string_view text(std::uint64_t at, std::uint64_t len, const char* what) const {
    if (at > b_.size() || b_.size() - at < len)
      throw FormatError(name_ + ": truncated zip archive (" + what + " past the end of the file)");
    return {reinterpret_cast<const char*>(b_.data() + at), static_cast<std::size_t>(len)};
  }
  std::uint64_t size() const { return b_.size(); }

 private:
  std::span<const std::byte> b_;
  const std::string& name_;
};

std::optional<DType> npy_dtype(std::string_view descr) {
  if (descr.size() < 2) return std::nullopt;
  const char order = descr[0];
  const std::string_view kind = descr.substr(1);
  const bool one_byte = kind == "u1" || kind == "i1" || kind == "b1";
  if (order == '>' && !one_byte) return std::nullopt;  // big-endian data is not converted
  if (order != '<' && order != '|' && order != '=' && order != '>') return std::nullopt;
  if (kind == "f4") return DType::F32;
  if (kind == "f8") return DType::F64;
  if (kind == "f2") return DType::F16;
  if (kind == "i8") return DType::I64;
  if (kind == "i4") return DType::I32;
  if (kind == "i2") return DType::I16;
  if (kind == "i1") return DType::I8;
  if (kind == "u1") return DType::U8;
  if (kind == "b1") return DType::BOOL;
  return std::nullopt;
}

// Parses the .npy header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (7, 7, 3, 32), }
void parse_npy_header(std::string_view h, NpyInfo& info, const std::string& where) {
  auto fail = [&](const std::string& why) { throw FormatError(where + ": invalid .npy header (" + why + "): " + std::string(h.substr(0, 200))); };
  std::size_t i = 0;
  auto skip = [&] {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\n' || h[i] == '\t')) ++i;
  };
  auto expect = [&](char c) {
    skip();
    if (i >= h.size() || h[i] != c) fail(std::string("expected '") + c + "'");
    ++i;
  };
  auto quoted = [&] {
    skip();
    if (i >= h.size() || (h[i] != '\'' && h[i] != '"')) fail("expected a quoted string");
    const char q = h[i++];
    const auto end = h.find(q, i);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string s(h.substr(i, end - i));
    i = end + 1;
    return s;
  };
  bool has_descr = false, has_order = false, has_shape = false;
  expect('{');
  for (;;) {
    skip();
    if (i < h.size() && h[i] == '}') break;
    const std::string key = quoted();
    expect(':');
    skip();
    if (key == "descr") {
      const auto d = npy_dtype(quoted());
      if (!d) fail("unsupported dtype; expected little-endian floats, integers or bools");
      info.dtype = *d;
      has_descr = true;
    } else if (key == "fortran_order") {
      if (h.substr(i, 4) == "True") {
        info.fortran_order = true;
        i += 4;
      } else if (h.substr(i, 5) == "False") {
        info.fortran_order = false;
        i += 5;
      } else {
        fail("fortran_order must be True or False");
      }
      has_order = true;
    } else if (key == "shape") {
      expect('(');
      info.shape.clear();
      for (;;) {
        skip();
        if (i < h.size() && h[i] == ')') {
          ++i;
          break;
        }
        std::int64_t v = 0;
        std::size_t digits = 0;
        while (i < h.size() && h[i] >= '0' && h[i] <= '9') {
          if (v > (INT64_MAX - 9) / 10) fail("dimension too large");
          v = v * 10 + (h[i++] - '0');
          ++digits;
        }
        if (digits == 0) fail("shape entries must be non-negative integers");
        if (info.shape.size() >= 32) fail("more than 32 dimensions");
        info.shape.push_back(v);
        skip();
        if (i < h.size() && h[i] == ',') ++i;
      }
      has_shape = true;
    } else {
      fail("unknown key '" + key + "'");
    }
    skip();
    if (i < h.size() && h[i] == ',') ++i;
  }
  if (!has_descr || !has_order || !has_shape) fail("descr, fortran_order and shape are required");
}

template <typename T>
T read_value(ZipMemberReader& reader) {
  T v;
  reader.read(std::as_writable_bytes(std::span(&v, 1)));
  return v;
}

// The .npy inside a member: magic, version, header length, header dict; the data follows.
NpyInfo read_npy_header(ZipMemberReader& reader, std::uint64_t member_size, const NpzLimits& limits,
                        const std::string& where) {
  std::array<char, 8> magic_and_version;
  if (member_size < 10) throw FormatError(where + ": not a .npy array (bad magic)");
  reader.read(std::as_writable_bytes(std::span(magic_and_version)));
  if (std::string_view(magic_and_version.data(), 6) != "\x93NUMPY")
    throw FormatError(where + ": not a .npy array (bad magic)");
  const auto major = static_cast<std::uint8_t>(magic_and_version[6]);
  std::uint64_t hlen;
  if (major == 1) {
    hlen = read_value<std::uint16_t>(reader);
  } else if (major == 2 || major == 3) {
    hlen = read_value<std::uint32_t>(reader);
  } else {
    throw FormatError(where + ": unsupported .npy version " + std::to_string(major));
  }
  const std::uint64_t header_end = reader.position() + hlen;
  if (header_end > member_size)
    throw FormatError(where + ": .npy header length " + std::to_string(hlen) + " runs past the member");
  if (hlen > limits.max_npy_header_bytes)
    throw FormatError(where + ": .npy header length " + std::to_string(hlen) + " is over the limit of " +
                      std::to_string(limits.max_npy_header_bytes) + " bytes (NpzLimits::max_npy_header_bytes)");
  std::string header(hlen, '\0');
  reader.read(std::as_writable_bytes(std::span(header)));
  NpyInfo info;
  parse_npy_header(header, info, where);
  info.data_offset = header_end;
  info.size = member_size - header_end;
  return info;
}

// The array's bytes, converted to float32 piece by piece: float32 data goes straight into `out`, anything
// else through a small buffer, so no copy of the whole array is ever made.
void read_as_f32(ZipMemberReader& reader, DType dtype, std::size_t count, float* out) {
  if (dtype == DType::F32) {
    reader.read(std::as_writable_bytes(std::span(out, count)));
    return;
  }
  const std::size_t esize = dtype_size(dtype);
  const std::size_t per_piece = (std::size_t{1} << 20) / esize;
  std::vector<std::byte> piece(std::min(count, per_piece) * esize);
  for (std::size_t done = 0; done < count;) {
    const std::size_t n = std::min(count - done, per_piece);
    reader.read(std::span(piece.data(), n * esize));
    convert_to_f32(piece.data(), dtype, n, out + done);
    done += n;
  }
}

}  // namespace

NpzFile NpzFile::open(const std::filesystem::path& path, const NpzLimits& limits) {
  NpzFile f;
  f.name_ = path.string();
  f.bytes_ = map_file(path, "a .npz archive");
  f.parse(limits);
  return f;
}

NpzFile NpzFile::from_bytes(std::string bytes, std::string name, const NpzLimits& limits) {
  NpzFile f;
  f.name_ = std::move(name);
  f.bytes_ = own_bytes(std::move(bytes));
  f.parse(limits);
  return f;
}

void NpzFile::parse(const NpzLimits& limits) {
  const Cursor c(bytes_.bytes, name_);
  if (c.size() < 22) throw FormatError(name_ + ": not a zip archive (" + std::to_string(c.size()) + " bytes)");
  // The end-of-central-directory record is within the last 22 + 65535 bytes (its comment is at most 64 KiB).
  std::uint64_t eocd = UINT64_MAX;
  const std::uint64_t lowest = c.size() > 22 + 65535 ? c.size() - 22 - 65535 : 0;
  for (std::uint64_t at = c.size() - 22;; --at) {
    if (c.get<std::uint32_t>(at, "end record") == kEocd) {
      eocd = at;
      break;
    }
    if (at == lowest) break;
  }
  if (eocd == UINT64_MAX) throw FormatError(name_ + ": not a zip archive (no end-of-central-directory record; truncated?)");
  std::uint64_t count = c.get<std::uint16_t>(eocd + 10, "entry count");
  std::uint64_t cd_size = c.get<std::uint32_t>(eocd + 12, "directory size");
  std::uint64_t cd_offset = c.get<std::uint32_t>(eocd + 16, "directory offset");
  if (eocd >= 20 && c.get<std::uint32_t>(eocd - 20, "zip64 locator") == kZip64Locator) {
    const auto z = c.get<std::uint64_t>(eocd - 20 + 8, "zip64 record offset");
    if (c.get<std::uint32_t>(z, "zip64 record") != kZip64Eocd)
      throw FormatError(name_ + ": corrupt zip64 end record at byte " + std::to_string(z));
    count = c.get<std::uint64_t>(z + 32, "zip64 entry count");
    cd_size = c.get<std::uint64_t>(z + 40, "zip64 directory size");
    cd_offset = c.get<std::uint64_t>(z + 48, "zip64 directory offset");
  }
  if (count > limits.max_arrays)
    throw FormatError(name_ + ": " + std::to_string(count) + " entries, more than the limit of " +
                      std::to_string(limits.max_arrays) + " arrays (NpzLimits::max_arrays)");
  if (cd_offset > c.size() || cd_size > c.size() - cd_offset)
    throw FormatError(name_ + ": the zip directory lies outside the file (truncated archive?)");

  std::uint64_t at = cd_offset;
  for (std::uint64_t e = 0; e < count; ++e) {
    if (c.get<std::uint32_t>(at, "directory entry") != kCentral)
      throw FormatError(name_ + ": corrupt zip directory entry " + std::to_string(e) + " at byte " + std::to_string(at));
    const auto flags = c.get<std::uint16_t>(at + 8, "flags");
    const auto method = c.get<std::uint16_t>(at + 10, "method");
    const auto crc = c.get<std::uint32_t>(at + 16, "CRC-32");
    std::uint64_t csize = c.get<std::uint32_t>(at + 20, "size");
    std::uint64_t usize = c.get<std::uint32_t>(at + 24, "size");
    const auto nlen = c.get<std::uint16_t>(at + 28, "name length");
    const auto xlen = c.get<std::uint16_t>(at + 30, "extra length");
    const auto klen = c.get<std::uint16_t>(at + 32, "comment length");
    std::uint64_t local = c.get<std::uint32_t>(at + 42, "local offset");
    const std::string member(c.text(at + 46, nlen, "member name"));
    // ZIP64 sizes and offset live in extra field 0x0001, in this order, for the fields saturated above.
    for (std::uint64_t x = at + 46 + nlen; x + 4 <= at + 46 + nlen + xlen;) {
      const auto id = c.get<std::uint16_t>(x, "extra id");
      const auto len = c.get<std::uint16_t>(x + 2, "extra length");
      if (id == 1) {
        std::uint64_t p = x + 4;
        if (usize == 0xffffffffu) usize = c.get<std::uint64_t>(p, "zip64 size"), p += 8;
        if (csize == 0xffffffffu) csize = c.get<std::uint64_t>(p, "zip64 size"), p += 8;
        if (local == 0xffffffffu) local = c.get<std::uint64_t>(p, "zip64 offset");
      }
      x += 4 + len;
    }
    at += 46 + nlen + xlen + klen;
    const std::string where = name_ + ": member '" + member + "'";
    if (flags & 1u) throw FormatError(where + " is encrypted");
    if (c.get<std::uint32_t>(local, "local header") != kLocal)
      throw FormatError(where + ": no local header at byte " + std::to_string(local));
    const std::uint64_t data = local + 30 + c.get<std::uint16_t>(local + 26, "name length") +
                               c.get<std::uint16_t>(local + 28, "extra length");
    if (data > c.size() || csize > c.size() - data) throw FormatError(where + " extends past the end of the file");
    if (method == ZipMemberReader::kDeflated) {
      // What inflating may allocate is bounded before any of it is: by the limit, and by what deflate can do.
      if (usize > limits.max_inflated_bytes)
        throw FormatError(where + " inflates to " + std::to_string(usize) + " bytes, over the limit of " +
                          std::to_string(limits.max_inflated_bytes) + " bytes (NpzLimits::max_inflated_bytes)");
      if (usize / kMaxDeflateRatio > csize)
        throw FormatError(where + " declares " + std::to_string(usize) + " bytes inflated from " +
                          std::to_string(csize) + ", more than deflate can produce (at most " +
                          std::to_string(kMaxDeflateRatio) + " to 1): a zip bomb, or a corrupt directory");
    }
    ZipMemberReader reader(bytes_.bytes.subspan(data, csize), method, usize, where);
    NpyInfo info = read_npy_header(reader, usize, limits, where);
    info.name = member.size() > 4 && member.ends_with(".npy") ? member.substr(0, member.size() - 4) : member;
    info.method = method;
    info.member_offset = data;
    info.member_stored_size = csize;
    info.member_size = usize;
    info.crc32 = crc;
    std::int64_t numel = 0;
    try {
      numel = shape_numel(info.shape);
    } catch (const ShapeError& e) {
      throw FormatError(where + ": " + e.what());  // dims whose product overflows
    }
    const auto esize = dtype_size(info.dtype);
    if (static_cast<std::uint64_t>(numel) > info.size / esize || static_cast<std::uint64_t>(numel) * esize != info.size)
      throw FormatError(where + ": shape " + shape_str(info.shape) + " of " + std::string(dtype_name(info.dtype)) +
                        " needs " + std::to_string(static_cast<std::uint64_t>(numel) * esize) + " bytes but the array has " +
                        std::to_string(info.size));
    if (by_name_.count(info.name)) throw FormatError(where + ": duplicate array name");
    by_name_.emplace(info.name, arrays_.size());
    arrays_.push_back(std::move(info));
  }
}

const NpyInfo* NpzFile::find(std::string_view array) const {
  const auto it = by_name_.find(array);
  return it == by_name_.end() ? nullptr : &arrays_[it->second];
}

Tensor NpzFile::load(std::string_view array) const {
  const NpyInfo* info = find(array);
  if (!info) throw NotFoundError(name_ + ": no array '" + std::string(array) + "'");
  const auto member = bytes_.bytes.subspan(info->member_offset, info->member_stored_size);
  ZipMemberReader reader(member, info->method, info->member_size, name_ + ": array '" + info->name + "'");
  reader.skip(info->data_offset);
  Tensor t(info->shape);
  read_as_f32(reader, info->dtype, static_cast<std::size_t>(t.numel()), t.data());
  reader.expect_end();
  if (const std::uint32_t crc = reader.crc32(); crc != info->crc32) {
    char got[16], want[16];
    std::snprintf(got, sizeof got, "%08x", crc);
    std::snprintf(want, sizeof want, "%08x", info->crc32);
    throw FormatError(name_ + ": array '" + info->name + "' is corrupt: its member's CRC-32 is " + got +
                      " but the zip directory records " + want);
  }
  bytes_.release(member);
  if (!info->fortran_order || info->shape.size() < 2) return t;
  // Fortran order: the first index varies fastest. Walk C-order indices and gather.
  Tensor c(info->shape);
  const auto& s = info->shape;
  std::vector<std::int64_t> idx(s.size(), 0), fstride(s.size(), 1);
  for (std::size_t d = 1; d < s.size(); ++d) fstride[d] = fstride[d - 1] * s[d - 1];
  for (std::int64_t k = 0; k < c.numel(); ++k) {
    std::int64_t f = 0;
    for (std::size_t d = 0; d < s.size(); ++d) f += idx[d] * fstride[d];
    c.data()[k] = t.data()[f];
    for (std::size_t d = s.size(); d-- > 0;) {
      if (++idx[d] < s[d]) break;
      idx[d] = 0;
    }
  }
  return c;
}

}  // namespace visbone
