#include "test_files.h"

#include <fstream>
#include <iterator>
#include <stdexcept>


namespace visbone::image::testing {
namespace {

void put_be32(Bytes& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}

std::uint32_t adler32(const Bytes& data) {
  std::uint32_t a = 1, b = 0;
  for (const auto x : data) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

// zlib stream of stored (uncompressed) deflate blocks: no compressor needed, still a valid PNG.
Bytes zlib_stored(const Bytes& data) {
  Bytes out{0x78, 0x01};
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(65535, data.size() - pos);
    const bool last = pos + n == data.size();
    out.push_back(last ? 1 : 0);
    out.push_back(static_cast<std::uint8_t>(n & 0xFF));
    out.push_back(static_cast<std::uint8_t>(n >> 8));
    out.push_back(static_cast<std::uint8_t>(~n & 0xFF));
    out.push_back(static_cast<std::uint8_t>((~n >> 8) & 0xFF));
    out.insert(out.end(), data.begin() + static_cast<std::ptrdiff_t>(pos),
               data.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
  } while (pos < data.size());
  put_be32(out, adler32(data));
  return out;
}

int channels_of(int color_type) {
  switch (color_type) {
    case 0:
      return 1;
    case 2:
      return 3;
    case 3:
      return 1;
    case 4:
      return 2;
    default:
      return 4;
  }
}

}  // namespace

std::uint32_t crc32(const std::uint8_t* data, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= data[i];
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

Bytes png_chunk(const std::string& type, const Bytes& data) {
  Bytes out;
  put_be32(out, static_cast<std::uint32_t>(data.size()));
  Bytes body(type.begin(), type.end());
  body.insert(body.end(), data.begin(), data.end());
  out.insert(out.end(), body.begin(), body.end());
  put_be32(out, crc32(body.data(), body.size()));
  return out;
}

Bytes make_png(const PngSpec& s) {
  Bytes out{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  Bytes ihdr;
  put_be32(ihdr, static_cast<std::uint32_t>(s.width));
  put_be32(ihdr, static_cast<std::uint32_t>(s.height));
  ihdr.insert(ihdr.end(),
              {static_cast<std::uint8_t>(s.bit_depth), static_cast<std::uint8_t>(s.color_type), 0, 0, 0});
  const auto append = [&](const Bytes& b) { out.insert(out.end(), b.begin(), b.end()); };
  append(png_chunk("IHDR", ihdr));
  if (!s.palette.empty()) append(png_chunk("PLTE", s.palette));
  if (!s.transparency.empty()) append(png_chunk("tRNS", s.transparency));
  const std::size_t row_bytes =
      (static_cast<std::size_t>(s.width) * channels_of(s.color_type) * s.bit_depth + 7) / 8;
  if (s.samples.size() != row_bytes * static_cast<std::size_t>(s.height))
    throw std::invalid_argument("make_png: sample count");
  Bytes raw;
  for (int y = 0; y < s.height; ++y) {
    raw.push_back(0);  // filter type None
    raw.insert(raw.end(), s.samples.begin() + static_cast<std::ptrdiff_t>(y * row_bytes),
               s.samples.begin() + static_cast<std::ptrdiff_t>((y + 1) * row_bytes));
  }
  append(png_chunk("IDAT", zlib_stored(raw)));
  for (const auto& c : s.extra_chunks) append(c);
  append(png_chunk("IEND", {}));
  return out;
}

Bytes exif_block(int orientation, bool little_endian) {
  Bytes b{'E', 'x', 'i', 'f', 0, 0};
  const auto u16 = [&](std::uint16_t v) {
    if (little_endian) {
      b.push_back(static_cast<std::uint8_t>(v));
      b.push_back(static_cast<std::uint8_t>(v >> 8));
    } else {
      b.push_back(static_cast<std::uint8_t>(v >> 8));
      b.push_back(static_cast<std::uint8_t>(v));
    }
  };
  const auto u32 = [&](std::uint32_t v) {
    if (little_endian) {
      u16(static_cast<std::uint16_t>(v));
      u16(static_cast<std::uint16_t>(v >> 16));
    } else {
      u16(static_cast<std::uint16_t>(v >> 16));
      u16(static_cast<std::uint16_t>(v));
    }
  };
  b.push_back(little_endian ? 'I' : 'M');
  b.push_back(little_endian ? 'I' : 'M');
  u16(42);
  u32(8);    // IFD0 right after the header
  u16(1);    // one entry
  u16(274);  // Orientation
  u16(3);    // SHORT
  u32(1);
  u16(static_cast<std::uint16_t>(orientation));
  u16(0);  // padding of the 4-byte value field
  u32(0);  // no next IFD
  return b;
}

Bytes jpeg_with_app1(const Bytes& jpeg, const Bytes& payload) {
  const std::size_t len = payload.size() + 2;
  // Reserved up front: growing a small vector by insert() trips a GCC 12 -Warray-bounds false positive.
  Bytes out;
  out.reserve(jpeg.size() + len + 2);
  for (const std::uint8_t b : {jpeg[0], jpeg[1], std::uint8_t{0xFF}, std::uint8_t{0xE1},
                               static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len)})
    out.push_back(b);  // SOI, APP1 marker, segment length
  out.insert(out.end(), payload.begin(), payload.end());
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

Bytes make_tiff_rgb(int width, int height, const Bytes& rgb, int orientation, int bits) {
  Bytes b{'I', 'I', 42, 0};
  const auto u16 = [&](std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v));
    b.push_back(static_cast<std::uint8_t>(v >> 8));
  };
  const auto u32 = [&](std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v));
    u16(static_cast<std::uint16_t>(v >> 16));
  };
  struct Entry {
    std::uint16_t tag, type;
    std::uint32_t count, value;
  };
  std::vector<Entry> entries = {
      {256, 4, 1, static_cast<std::uint32_t>(width)},
      {257, 4, 1, static_cast<std::uint32_t>(height)},
      {258, 3, 3, 0},  // BitsPerSample: 3 values, stored after the IFD
      {259, 3, 1, 1},  // no compression
      {262, 3, 1, 2},  // RGB
      {273, 4, 1, 0},  // StripOffsets, patched below
      {277, 3, 1, 3},  // SamplesPerPixel
      {278, 4, 1, static_cast<std::uint32_t>(height)},
      {279, 4, 1, static_cast<std::uint32_t>(rgb.size())},
      {284, 3, 1, 1},  // chunky
  };
  if (orientation > 0)
    entries.insert(entries.begin() + 6, Entry{274, 3, 1, static_cast<std::uint32_t>(orientation)});
  const std::uint32_t ifd = 8;
  const std::uint32_t ifd_size = 2 + static_cast<std::uint32_t>(entries.size()) * 12 + 4;
  const std::uint32_t bps_at = ifd + ifd_size;
  const std::uint32_t data_at = bps_at + 6;
  u32(ifd);
  u16(static_cast<std::uint16_t>(entries.size()));
  for (auto e : entries) {
    if (e.tag == 258) e.value = bps_at;
    if (e.tag == 273) e.value = data_at;
    u16(e.tag);
    u16(e.type);
    u32(e.count);
    if (e.type == 3 && e.count == 1) {
      u16(static_cast<std::uint16_t>(e.value));
      u16(0);
    } else {
      u32(e.value);
    }
  }
  u32(0);
  for (int i = 0; i < 3; ++i) u16(static_cast<std::uint16_t>(bits));
  b.insert(b.end(), rgb.begin(), rgb.end());
  return b;
}

Bytes read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace visbone::image::testing
