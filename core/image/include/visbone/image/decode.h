// Decoding image files (PNG, JPEG, BMP, TIFF, WebP) into 8-bit images the way transformers loads them:
// `load_image` applies ImageOps.exif_transpose and the processor's `do_convert_rgb` applies Pillow's
// convert("RGB"). The header is read and checked against a pixel limit before any pixel is decoded, so a
// decompression bomb costs nothing; every failure names the input.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "visbone/image/image.h"

namespace visbone::image {

// Pillow's Image.MAX_IMAGE_PIXELS is 89,478,485; Pillow raises DecompressionBombError above twice that.
inline constexpr std::int64_t kDefaultMaxPixels = 178'956'970;
// Enough for any 8- or 16-bit image within kDefaultMaxPixels (16-bit RGBA with orientation: 19 bytes per
// pixel); what it stops by default are wider samples (32- and 64-bit TIFF) that the pixel count does not
// bound.
inline constexpr std::uint64_t kDefaultMaxDecodeBytes = std::uint64_t{4} << 30;

enum class ImageFormat { png, jpeg, bmp, tiff, webp };
std::string_view format_name(ImageFormat format);

// What the header says, read without decoding pixels.
struct ImageInfo {
  ImageFormat format = ImageFormat::png;
  std::int64_t width = 0;
  std::int64_t height = 0;
  // EXIF orientation 1..8 (1 = as stored), from the EXIF block (or the TIFF's own first IFD), falling back to
  // an XMP tiff:Orientation the way Pillow's Image.getexif() does; values outside 1..8 read as 1.
  int orientation = 1;
  // Samples are palette indices (PNG colour type 3, BMP of 8 bits or fewer, TIFF photometric 3).
  bool palette = false;
  // The most bytes per pixel the decoder can produce for this file: 4 channels of the header's sample size
  // (2 bytes for 16-bit PNG, up to 8 for TIFF's BitsPerSample; 1 for the 8-bit formats).
  int max_decoded_bytes_per_pixel = 4;
};

struct DecodeOptions {
  // An image with more pixels than this is rejected from its header, before decoding.
  std::int64_t max_pixels = kDefaultMaxPixels;
  // Rotate/flip by the EXIF orientation, as transformers' load_image does (ImageOps.exif_transpose). OpenCV
  // applies it for no format except TIFF, whose decoder always does; we apply it for the others and undo it
  // for TIFF when this is false.
  bool apply_exif_orientation = true;
  // Pillow's convert("RGB"): alpha dropped (not composited), gray replicated, palettes expanded, 16-bit
  // gray clipped to 255 (Pillow's I;16 -> RGB) and 16-bit colour reduced to its high byte (Pillow's
  // RGB;16 unpackers). When false, grayscale stays one channel and RGB three; images with alpha, palettes
  // or 16-bit gray are rejected because transformers would hand the model their raw samples.
  bool convert_rgb = true;
  // Files larger than this are not read at all.
  std::uint64_t max_file_bytes = std::uint64_t{1} << 30;
  // Memory decoding one image may take: the decoder's buffer (with a second one when the orientation is
  // applied) and the 8-bit image returned, computed from the header before anything is decoded.
  std::uint64_t max_bytes = kDefaultMaxDecodeBytes;
};

// Reads the header of an image held in memory. `name` identifies the input in error messages.
// Throws FormatError for an unknown signature, a truncated or inconsistent header.
ImageInfo probe_image(std::span<const std::uint8_t> bytes, const std::string& name);

// Decodes an image held in memory. Throws FormatError (undecodable or truncated data, too many pixels,
// unsupported sample format), naming `name`.
Image decode_image(std::span<const std::uint8_t> bytes, const std::string& name,
                   const DecodeOptions& options = {});

// Reads an image file's bytes, refusing folders, special files (FIFOs, devices, sockets) and files over
// options.max_file_bytes. Throws IoError naming the path.
std::vector<std::uint8_t> read_image_bytes(const std::filesystem::path& path,
                                           const DecodeOptions& options = {});

// Reads and decodes a file (read_image_bytes, then decode_image named by the path). Throws IoError when it
// cannot be read, FormatError as decode_image.
Image read_image(const std::filesystem::path& path, const DecodeOptions& options = {});

}  // namespace visbone::image
