// Builders for small image files with exactly known contents (hand-assembled PNG, TIFF and EXIF blocks,
// so modes OpenCV cannot write, such as gray+alpha, palettes and orientation tags, can be tested), and a
// temporary folder for the bad-input files.
#pragma once

#include "support/support.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace visbone::image::testing {

using Bytes = std::vector<std::uint8_t>;

std::uint32_t crc32(const std::uint8_t* data, std::size_t n);
// A PNG chunk: length, type, data, CRC.
Bytes png_chunk(const std::string& type, const Bytes& data);

struct PngSpec {
  int width = 0;
  int height = 0;
  int bit_depth = 8;
  int color_type = 2;               // 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA
  Bytes samples;                    // packed rows without filter bytes, big-endian for 16-bit
  Bytes palette;                    // PLTE: RGB triples
  Bytes transparency;               // tRNS
  std::vector<Bytes> extra_chunks;  // complete chunks inserted before IEND (eXIf, iTXt, ...)
};
// A valid PNG (zlib stream with stored deflate blocks).
Bytes make_png(const PngSpec& spec);

// An EXIF block ("Exif\0\0" + big-endian TIFF structure) holding only the Orientation tag.
Bytes exif_block(int orientation, bool little_endian = false);
// Inserts an APP1 segment with `payload` right after the JPEG's SOI marker.
Bytes jpeg_with_app1(const Bytes& jpeg, const Bytes& payload);

// An uncompressed RGB TIFF (little-endian) of 8- or 16-bit samples (`rgb` holds the sample bytes as stored,
// little-endian for 16 bits), with an Orientation tag when orientation > 0.
Bytes make_tiff_rgb(int width, int height, const Bytes& rgb, int orientation, int bits = 8);

using visbone::testing::TempDir;

Bytes read_bytes(const std::filesystem::path& path);

}  // namespace visbone::image::testing
