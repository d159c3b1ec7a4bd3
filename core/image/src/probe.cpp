// Header parsing for the supported formats: the pixel size (checked against the decompression-bomb limit
// before OpenCV allocates anything), truncation that OpenCV's decoders would silently paper over, and the
// EXIF/XMP orientation that Pillow's Image.getexif() would find.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "byte_reader.h"
#include "visbone/core/errors.h"
#include "visbone/image/decode.h"

namespace visbone::image {
namespace {

using detail::ByteReader;

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw FormatError(name + ": " + what);
}

std::string hex8(unsigned v) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  return std::string("0x") + kDigits[(v >> 4) & 0xF] + kDigits[v & 0xF];
}

// The first values of the IFD0 tags we need from a TIFF structure (a TIFF file, or an EXIF block, which is
// a TIFF structure without pixels).
struct TiffTags {
  std::optional<std::uint64_t> width;        // 256 ImageWidth
  std::optional<std::uint64_t> height;       // 257 ImageLength
  std::optional<std::uint64_t> bits;         // 258 BitsPerSample (the first sample's)
  std::optional<std::uint64_t> photometric;  // 262 PhotometricInterpretation
  std::optional<std::uint64_t> orientation;  // 274 Orientation
};

// Reads IFD0. Returns nullopt and sets `error` when the structure is malformed or truncated.
std::optional<TiffTags> read_tiff_ifd0(std::span<const std::uint8_t> bytes, std::string& error) {
  const ByteReader r(bytes);
  bool little;
  if (r.matches(0, "II")) {
    little = true;
  } else if (r.matches(0, "MM")) {
    little = false;
  } else {
    error = "no TIFF byte-order mark (expected 'II' or 'MM')";
    return std::nullopt;
  }
  const auto magic = r.u16(2, little);
  if (!magic || (*magic != 42 && *magic != 43)) {
    error = "bad TIFF magic number (expected 42, or 43 for BigTIFF)";
    return std::nullopt;
  }
  const bool big = *magic == 43;
  const std::optional<std::uint64_t> ifd = big ? r.uint(8, 8, little) : r.uint(4, 4, little);
  if (!ifd) {
    error = "TIFF header is truncated";
    return std::nullopt;
  }
  const std::optional<std::uint64_t> count = big ? r.uint(*ifd, 8, little) : r.uint(*ifd, 2, little);
  if (!count) {
    error = "first IFD offset " + std::to_string(*ifd) + " lies outside the " + std::to_string(r.size()) +
            "-byte TIFF data";
    return std::nullopt;
  }
  const std::uint64_t entry_size = big ? 20 : 12;
  const std::uint64_t entries = *ifd + (big ? 8 : 2);
  if (*count > r.size() / entry_size || !r.has(entries, *count * entry_size)) {
    error = "first IFD declares " + std::to_string(*count) + " entries but the TIFF data ends first";
    return std::nullopt;
  }
  TiffTags tags;
  for (std::uint64_t i = 0; i < *count; ++i) {
    const std::uint64_t e = entries + i * entry_size;
    const std::uint16_t tag = *r.u16(e, little);
    std::optional<std::uint64_t>* slot = nullptr;
    switch (tag) {
      case 256:
        slot = &tags.width;
        break;
      case 257:
        slot = &tags.height;
        break;
      case 258:
        slot = &tags.bits;
        break;
      case 262:
        slot = &tags.photometric;
        break;
      case 274:
        slot = &tags.orientation;
        break;
      default:
        continue;
    }
    if (slot->has_value()) continue;  // libtiff keeps the first of duplicated tags and ignores the others
    const std::uint16_t type = *r.u16(e + 2, little);
    const std::uint64_t n = big ? *r.u64(e + 4, little) : *r.u32(e + 4, little);
    std::uint64_t size;
    switch (type) {
      case 1:
        size = 1;
        break;  // BYTE
      case 3:
        size = 2;
        break;  // SHORT
      case 4:
        size = 4;
        break;  // LONG
      case 16:
        size = 8;
        break;  // LONG8 (BigTIFF)
      default:
        continue;  // other types cannot hold these tags
    }
    if (n == 0) continue;
    const std::uint64_t field = e + (big ? 12 : 8);
    const std::uint64_t inline_bytes = big ? 8 : 4;
    std::uint64_t at = field;
    if (n > inline_bytes / size)  // the values do not fit in the entry: the field holds their offset
      at = *r.uint(field, static_cast<int>(inline_bytes), little);
    const std::optional<std::uint64_t> v = r.uint(at, static_cast<int>(size), little);
    if (!v && tag == 258) continue;  // only bounds the memory estimate; libtiff judges the file
    if (!v) {
      error = "value of TIFF tag " + std::to_string(tag) + " lies outside the data";
      return std::nullopt;
    }
    *slot = *v;
  }
  return tags;
}

// EXIF orientation from an EXIF block (Pillow's Exif.load drops an "Exif\0\0" prefix when present).
// A malformed block yields nullopt: Pillow would find no orientation in it either.
std::optional<int> exif_block_orientation(std::span<const std::uint8_t> block) {
  const ByteReader r(block);
  if (r.matches(0, "Exif\0\0")) block = block.subspan(6);
  std::string ignored;
  const auto tags = read_tiff_ifd0(block, ignored);
  if (!tags || !tags->orientation) return std::nullopt;
  return static_cast<int>(std::min<std::uint64_t>(*tags->orientation, 1000));
}

// Pillow's fallback when EXIF has no orientation: re.search(r'tiff:Orientation(="|>)([0-9])', xmp).
std::optional<int> xmp_orientation(std::span<const std::uint8_t> xmp) {
  const std::string_view text(reinterpret_cast<const char*>(xmp.data()), xmp.size());
  constexpr std::string_view kKey = "tiff:Orientation";
  for (std::size_t at = text.find(kKey); at != std::string_view::npos; at = text.find(kKey, at + 1)) {
    std::size_t p = at + kKey.size();
    if (text.substr(p, 2) == "=\"") {
      p += 2;
    } else if (text.substr(p, 1) == ">") {
      p += 1;
    } else {
      continue;
    }
    if (p < text.size() && text[p] >= '0' && text[p] <= '9') return text[p] - '0';
  }
  return std::nullopt;
}

int resolve_orientation(std::optional<int> exif, std::optional<int> xmp) {
  const int o = exif ? *exif : xmp.value_or(1);
  return o >= 1 && o <= 8 ? o : 1;
}

ImageInfo probe_png(const ByteReader& r, const std::string& name) {
  ImageInfo info;
  info.format = ImageFormat::png;
  std::optional<int> exif, xmp;
  bool exif_seen = false, have_header = false;
  std::uint64_t pos = 8;
  for (;;) {
    if (!r.has(pos, 8)) {
      fail(name, "truncated PNG: the file ends at byte " + std::to_string(r.size()) +
                     (have_header ? " without an IEND chunk" : " before the IHDR header"));
    }
    const std::uint32_t length = *r.be32(pos);
    const std::string type(reinterpret_cast<const char*>(r.sub(pos + 4, 4).data()), 4);
    if (length > 0x7FFFFFFFu)
      fail(name, "corrupt PNG: chunk '" + type + "' declares " + std::to_string(length) + " bytes");
    if (!r.has(pos + 8, std::uint64_t{length} + 4)) {
      fail(name, "truncated PNG: chunk '" + type + "' at byte " + std::to_string(pos) + " declares " +
                     std::to_string(length) + " bytes but the file ends at byte " + std::to_string(r.size()));
    }
    const std::uint64_t data = pos + 8;
    if (!have_header) {
      if (type != "IHDR" || length != 13)
        fail(name, "corrupt PNG: expected the 13-byte IHDR chunk first, found '" + type + "'");
      info.width = *r.be32(data);
      info.height = *r.be32(data + 4);
      const int color_type = *r.u8(data + 9);
      info.palette = color_type == 3;
      info.max_decoded_bytes_per_pixel = *r.u8(data + 8) == 16 ? 8 : 4;
      have_header = true;
    } else if (type == "eXIf" && !exif_seen) {
      exif_seen = true;
      exif = exif_block_orientation(r.sub(data, length));
    } else if (type == "iTXt") {
      // keyword NUL, compression flag, method, language NUL, translated keyword NUL, text.
      constexpr char kXmpKeyword[] = "XML:com.adobe.xmp";
      if (r.matches(data, kXmpKeyword) && length > sizeof(kXmpKeyword) + 1 &&
          *r.u8(data + sizeof(kXmpKeyword) - 1) == 0 && *r.u8(data + sizeof(kXmpKeyword)) == 0) {
        // Uncompressed XMP only: compressed iTXt would need zlib for a rare fallback.
        xmp = xmp_orientation(r.sub(data, length));
      }
    } else if (type == "IEND") {
      break;
    }
    pos = data + length + 4;
  }
  if (info.width <= 0 || info.height <= 0 || info.width > 0x7FFFFFFF || info.height > 0x7FFFFFFF)
    fail(name, "corrupt PNG: IHDR gives a size of " + std::to_string(info.width) + "x" +
                   std::to_string(info.height));
  info.orientation = resolve_orientation(exif, xmp);
  return info;
}

bool is_jpeg_frame_marker(unsigned m) {
  // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

ImageInfo probe_jpeg(const ByteReader& r, const std::string& name) {
  ImageInfo info;
  info.format = ImageFormat::jpeg;
  std::optional<int> exif, xmp;
  bool exif_seen = false, have_frame = false;
  std::uint64_t pos = 2;
  for (;;) {
    if (!r.has(pos, 1))
      fail(name,
           "truncated JPEG: the file ends at byte " + std::to_string(r.size()) + " before any image data");
    if (*r.u8(pos) != 0xFF)
      fail(name,
           "corrupt JPEG: expected a marker at byte " + std::to_string(pos) + ", found " + hex8(*r.u8(pos)));
    while (r.has(pos, 1) && *r.u8(pos) == 0xFF) ++pos;  // fill bytes
    const auto marker = r.u8(pos);
    if (!marker) fail(name, "truncated JPEG: the file ends inside a marker at byte " + std::to_string(pos));
    ++pos;
    if (*marker == 0xD8 || *marker == 0x01 || (*marker >= 0xD0 && *marker <= 0xD7)) continue;  // no length
    if (*marker == 0xD9) fail(name, "corrupt JPEG: end-of-image marker before any image data");
    const auto length = r.be16(pos);
    if (!length || !r.has(pos, *length))
      fail(name, "truncated JPEG: segment 0xFF" + hex8(*marker).substr(2) + " at byte " +
                     std::to_string(pos - 2) + " runs past the end of the file (" + std::to_string(r.size()) +
                     " bytes)");
    if (*length < 2)
      fail(name,
           "corrupt JPEG: segment length " + std::to_string(*length) + " at byte " + std::to_string(pos));
    const std::uint64_t seg = pos + 2, seg_len = *length - 2u;
    if (is_jpeg_frame_marker(*marker) && !have_frame) {
      if (seg_len < 6)
        fail(name,
             "corrupt JPEG: frame header is " + std::to_string(seg_len) + " bytes, expected at least 6");
      info.height = *r.be16(seg + 1);
      info.width = *r.be16(seg + 3);
      if (info.width == 0 || info.height == 0)
        fail(name, "unsupported JPEG: frame header gives a size of " + std::to_string(info.width) + "x" +
                       std::to_string(info.height) +
                       " (a height defined later by a DNL marker is not supported)");
      have_frame = true;
    } else if (*marker == 0xE1) {
      if (r.matches(seg, "Exif\0\0")) {
        if (!exif_seen) exif = exif_block_orientation(r.sub(seg, seg_len));  // Pillow keeps the first one
        exif_seen = true;
      } else if (r.matches(seg, "http://ns.adobe.com/xap/1.0/")) {
        xmp = xmp_orientation(r.sub(seg, seg_len));
      }
    } else if (*marker == 0xDA) {
      if (!have_frame) fail(name, "corrupt JPEG: image data before the frame header");
      // Entropy-coded data escapes every 0xFF, so 0xFF 0xD9 can only be the real end-of-image marker.
      // libjpeg pads a cut-short file with gray and only warns; Pillow refuses it as truncated, and so do we.
      bool ended = false;
      for (std::uint64_t p = seg + seg_len; r.has(p, 2); ++p) {
        if (*r.u8(p) == 0xFF && *r.u8(p + 1) == 0xD9) {
          ended = true;
          break;
        }
      }
      if (!ended)
        fail(name, "truncated JPEG: no end-of-image marker after the image data (the file is " +
                       std::to_string(r.size()) + " bytes and appears cut short)");
      break;
    }
    pos += *length;
  }
  info.orientation = resolve_orientation(exif, xmp);
  return info;
}

ImageInfo probe_bmp(const ByteReader& r, const std::string& name) {
  ImageInfo info;
  info.format = ImageFormat::bmp;
  const auto header = r.le32(14);
  if (!header) fail(name, "truncated BMP: the file ends inside the header");
  std::int64_t w, h;
  std::uint16_t bpp;
  if (*header == 12) {  // OS/2 BITMAPCOREHEADER: 16-bit sizes
    if (!r.has(14, 12)) fail(name, "truncated BMP: the file ends inside the header");
    w = *r.le16(18);
    h = *r.le16(20);
    bpp = *r.le16(24);
  } else {
    if (*header < 40 || !r.has(14, 16))
      fail(name, "corrupt or truncated BMP header (size " + std::to_string(*header) + ")");
    w = static_cast<std::int32_t>(*r.le32(18));
    h = static_cast<std::int32_t>(*r.le32(22));  // negative: rows stored top-down
    bpp = *r.le16(28);
    if (h < 0) h = -h;
  }
  if (w <= 0 || h <= 0)
    fail(name, "corrupt BMP: header gives a size of " + std::to_string(w) + "x" + std::to_string(h));
  info.width = w;
  info.height = h;
  info.palette = bpp <= 8;
  return info;
}

ImageInfo probe_tiff(std::span<const std::uint8_t> bytes, const std::string& name) {
  ImageInfo info;
  info.format = ImageFormat::tiff;
  std::string error;
  const auto tags = read_tiff_ifd0(bytes, error);
  if (!tags) fail(name, "corrupt or truncated TIFF: " + error);
  if (!tags->width || !tags->height) fail(name, "corrupt TIFF: the first IFD has no ImageWidth/ImageLength");
  if (*tags->width == 0 || *tags->height == 0 || *tags->width > 0x7FFFFFFF || *tags->height > 0x7FFFFFFF)
    fail(name, "corrupt TIFF: size " + std::to_string(*tags->width) + "x" + std::to_string(*tags->height));
  info.width = static_cast<std::int64_t>(*tags->width);
  info.height = static_cast<std::int64_t>(*tags->height);
  info.palette = tags->photometric == 3u;
  // Up to 4 channels of up to 64-bit samples; a missing tag means 1 bit.
  info.max_decoded_bytes_per_pixel =
      4 * static_cast<int>((std::clamp<std::uint64_t>(tags->bits.value_or(1), 1, 64) + 7) / 8);
  std::optional<int> orientation;
  if (tags->orientation) orientation = static_cast<int>(std::min<std::uint64_t>(*tags->orientation, 1000));
  info.orientation = resolve_orientation(orientation, std::nullopt);
  return info;
}

ImageInfo probe_webp(const ByteReader& r, const std::string& name) {
  ImageInfo info;
  info.format = ImageFormat::webp;
  std::optional<int> exif, xmp;
  bool have_size = false;
  std::uint64_t pos = 12;
  while (r.has(pos, 8)) {
    const std::string fourcc(reinterpret_cast<const char*>(r.sub(pos, 4).data()), 4);
    const std::uint32_t size = *r.le32(pos + 4);
    const std::uint64_t data = pos + 8;
    if (!r.has(data, size))
      fail(name, "truncated WebP: chunk '" + fourcc + "' at byte " + std::to_string(pos) + " declares " +
                     std::to_string(size) + " bytes but the file ends at byte " + std::to_string(r.size()));
    if (!have_size) {
      if (fourcc == "VP8 " && size >= 10 && *r.u8(data + 3) == 0x9D && *r.u8(data + 4) == 0x01 &&
          *r.u8(data + 5) == 0x2A) {
        info.width = *r.le16(data + 6) & 0x3FFF;
        info.height = *r.le16(data + 8) & 0x3FFF;
      } else if (fourcc == "VP8L" && size >= 5 && *r.u8(data) == 0x2F) {
        const std::uint32_t bits = *r.le32(data + 1);
        info.width = (bits & 0x3FFF) + 1;
        info.height = ((bits >> 14) & 0x3FFF) + 1;
      } else if (fourcc == "VP8X" && size >= 10) {
        const auto u24 = [&](std::uint64_t at) {
          return static_cast<std::int64_t>(*r.u8(at)) | static_cast<std::int64_t>(*r.u8(at + 1)) << 8 |
                 static_cast<std::int64_t>(*r.u8(at + 2)) << 16;
        };
        info.width = u24(data + 4) + 1;
        info.height = u24(data + 7) + 1;
      } else {
        fail(name, "corrupt WebP: expected a 'VP8 ', 'VP8L' or 'VP8X' chunk first, found '" + fourcc + "'");
      }
      have_size = true;
    } else if (fourcc == "EXIF" && !exif) {
      exif = exif_block_orientation(r.sub(data, size));
    } else if (fourcc == "XMP ") {
      xmp = xmp_orientation(r.sub(data, size));
    }
    pos = data + size + (size & 1u);  // chunks are padded to an even size
  }
  if (!have_size) fail(name, "truncated WebP: no image chunk");
  if (info.width <= 0 || info.height <= 0)
    fail(name, "corrupt WebP: size " + std::to_string(info.width) + "x" + std::to_string(info.height));
  info.orientation = resolve_orientation(exif, xmp);
  return info;
}

}  // namespace

std::string_view format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::png:
      return "PNG";
    case ImageFormat::jpeg:
      return "JPEG";
    case ImageFormat::bmp:
      return "BMP";
    case ImageFormat::tiff:
      return "TIFF";
    case ImageFormat::webp:
      return "WebP";
  }
  return "image";
}

ImageInfo probe_image(std::span<const std::uint8_t> bytes, const std::string& name) {
  const ByteReader r(bytes);
  if (bytes.empty()) fail(name, "empty file (0 bytes), expected a PNG, JPEG, BMP, TIFF or WebP image");
  if (r.matches(0, "\x89PNG\r\n\x1a\n")) return probe_png(r, name);
  if (r.has(0, 3) && *r.u8(0) == 0xFF && *r.u8(1) == 0xD8 && *r.u8(2) == 0xFF) return probe_jpeg(r, name);
  if (r.matches(0, "BM")) return probe_bmp(r, name);
  if (r.matches(0, "II*\0") || r.matches(0, "MM\0*") || r.matches(0, "II+\0") || r.matches(0, "MM\0+"))
    return probe_tiff(bytes, name);
  if (r.matches(0, "RIFF") && r.matches(8, "WEBP")) return probe_webp(r, name);
  fail(name, "not a supported image: the first bytes match no PNG, JPEG, BMP, TIFF or WebP signature (" +
                 std::to_string(bytes.size()) + " bytes)");
}

}  // namespace visbone::image
