#include "visbone/image/decode.h"

#include <fstream>
#include <limits>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <system_error>

#include "visbone/core/errors.h"
#include "visbone/core/file_kind.h"

namespace visbone::image {
namespace {

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw FormatError(name + ": " + what);
}

// Pillow's convert("RGB") from what OpenCV hands back (BGR order; alpha already dropped by IMREAD_ANYCOLOR).
Image to_image(const cv::Mat& m, bool convert_rgb, const std::string& name) {
  const int cn = m.channels();
  const int depth = m.depth();
  if ((depth != CV_8U && depth != CV_16U) || (cn != 1 && cn != 3))
    fail(name, "unsupported sample format (" + std::to_string(cn) + " channels of OpenCV depth " +
                   std::to_string(depth) + "); expected 8- or 16-bit gray or colour samples");
  const int out_channels = (convert_rgb || cn == 3) ? 3 : 1;
  Image img(m.cols, m.rows, out_channels);
  if (depth == CV_8U) {
    // The common case, done by OpenCV's vectorised conversions straight into our buffer.
    cv::Mat dst(m.rows, m.cols, CV_MAKETYPE(CV_8U, out_channels), img.data());
    if (cn == 3) {
      cv::cvtColor(m, dst, cv::COLOR_BGR2RGB);
    } else if (out_channels == 3) {
      cv::cvtColor(m, dst, cv::COLOR_GRAY2RGB);
    } else {
      m.copyTo(dst);
    }
    return img;
  }
  for (int y = 0; y < m.rows; ++y) {
    std::uint8_t* out = img.row(y);
    for (int x = 0; x < m.cols; ++x) {
      std::uint8_t px[3];
      const std::uint16_t* in = m.ptr<std::uint16_t>(y) + static_cast<std::size_t>(x) * cn;
      if (cn == 1) {
        // Pillow opens 16-bit gray as mode I;16 and its I;16 -> RGB conversion clips, it does not scale.
        px[0] = px[1] = px[2] = static_cast<std::uint8_t>(in[0] > 255 ? 255 : in[0]);
      } else {
        // Pillow's RGB;16 (and LA;16) unpackers keep the high byte of each sample.
        px[0] = static_cast<std::uint8_t>(in[2] >> 8);
        px[1] = static_cast<std::uint8_t>(in[1] >> 8);
        px[2] = static_cast<std::uint8_t>(in[0] >> 8);
      }
      for (int c = 0; c < out_channels; ++c) out[static_cast<std::size_t>(x) * out_channels + c] = px[c];
    }
  }
  return img;
}

// ImageOps.exif_transpose: 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE,
// 6 ROTATE_270 (clockwise), 7 TRANSVERSE, 8 ROTATE_90 (counter-clockwise).
cv::Mat orient(const cv::Mat& m, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2:
      cv::flip(m, out, 1);
      break;
    case 3:
      cv::rotate(m, out, cv::ROTATE_180);
      break;
    case 4:
      cv::flip(m, out, 0);
      break;
    case 5:
      cv::transpose(m, out);
      break;
    case 6:
      cv::rotate(m, out, cv::ROTATE_90_CLOCKWISE);
      break;
    case 7: {
      cv::Mat t;
      cv::transpose(m, t);
      cv::rotate(t, out, cv::ROTATE_180);
      break;
    }
    case 8:
      cv::rotate(m, out, cv::ROTATE_90_COUNTERCLOCKWISE);
      break;
    default:
      out = m;
      break;
  }
  return out;
}

// 6 (clockwise) and 8 (counter-clockwise) undo each other; the flips and transposes undo themselves.
int inverse_orientation(int orientation) {
  return orientation == 6 ? 8 : orientation == 8 ? 6 : orientation;
}

std::string size_str(std::int64_t w, std::int64_t h) {
  return std::to_string(w) + "x" + std::to_string(h);
}

// The header's size against the decompression-bomb limit (the decoded size must equal it, checked after).
void check_pixels(const ImageInfo& info, const DecodeOptions& options, const std::string& name) {
  const std::int64_t w = info.width, h = info.height;
  // w and h are below 2^31 each, so the product fits in int64.
  const std::int64_t pixels = w * h;
  if (pixels > options.max_pixels)
    fail(name, std::string(format_name(info.format)) + " header gives a size of " + size_str(w, h) + " = " +
                   std::to_string(pixels) +
                   " pixels, more than the limit of " + std::to_string(options.max_pixels) +
                   " (DecodeOptions::max_pixels; Pillow's decompression-bomb limit is 178956970)");
}

// Decoding allocates the decoder's buffer (a second one when the orientation is applied) and the 8-bit image
// returned (at most 3 channels); all of it must fit in options.max_bytes.
void check_memory(const ImageInfo& info, const DecodeOptions& options, const std::string& name) {
  const auto pixels = static_cast<std::uint64_t>(info.width) * static_cast<std::uint64_t>(info.height);
  const std::uint64_t buffers = info.orientation != 1 ? 2 : 1;
  std::uint64_t decoded = 0, out = 0, needed = 0;
  const bool overflow =
      __builtin_mul_overflow(pixels, static_cast<std::uint64_t>(info.max_decoded_bytes_per_pixel) * buffers,
                             &decoded) ||
      __builtin_mul_overflow(pixels, std::uint64_t{3}, &out) || __builtin_add_overflow(decoded, out, &needed);
  if (overflow || needed > options.max_bytes)
    fail(name, "decoding this " + size_str(info.width, info.height) + " " +
                   std::string(format_name(info.format)) + " may take " +
                   (overflow ? std::string("more than 2^64") : std::to_string(needed)) +
                   " bytes of memory, more than the limit of " + std::to_string(options.max_bytes) +
                   " (DecodeOptions::max_bytes)");
}

}  // namespace

Image decode_image(std::span<const std::uint8_t> bytes, const std::string& name,
                   const DecodeOptions& options) {
  const ImageInfo info = probe_image(bytes, name);
  check_pixels(info, options, name);
  check_memory(info, options, name);
  if (!options.convert_rgb && info.palette)
    fail(name,
         "palette image with do_convert_rgb false: transformers would feed the palette indices to the "
         "model; enable do_convert_rgb");
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    fail(name, "file of " + std::to_string(bytes.size()) + " bytes is too large for the decoder");

  // Orientation is applied below from our own header parse, the way Pillow finds it, so OpenCV must not
  // apply its own EXIF reading (IMREAD_UNCHANGED and IMREAD_IGNORE_ORIENTATION both keep it out). Without
  // convert_rgb we need to see alpha to reject it, hence IMREAD_UNCHANGED.
  const int flags = options.convert_rgb
                        ? (cv::IMREAD_ANYCOLOR | cv::IMREAD_ANYDEPTH | cv::IMREAD_IGNORE_ORIENTATION)
                        : cv::IMREAD_UNCHANGED;
  cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8U, const_cast<std::uint8_t*>(bytes.data()));
  // A JPEG is decoded into this thread's buffer when it has the image's size and type (a folder of camera
  // photos): a fresh 36 MB buffer per 12-megapixel photo costs its page faults every time (pipeline of 32
  // such JPEGs, 2-core AMD EPYC, 3 interleaved runs: 10.6-11.8 -> 12.9-13.0 images/s). JPEG only: libjpeg
  // writes every row it outputs, so nothing of the previous image can remain; a buffer over kKeptDecodeBytes
  // is not kept.
  constexpr std::size_t kKeptDecodeBytes = std::size_t{64} << 20;
  thread_local cv::Mat jpeg_buffer;
  cv::Mat fresh;
  cv::Mat& buffer = info.format == ImageFormat::jpeg ? jpeg_buffer : fresh;
  cv::Mat m;
  try {
    m = cv::imdecode(raw, flags, &buffer);
    if (buffer.total() * buffer.elemSize() > kKeptDecodeBytes) buffer.release();  // m keeps it until done
  } catch (const cv::Exception& e) {
    fail(name, std::string(format_name(info.format)) + " decoder failed: " + e.msg);
  }
  if (m.empty())
    fail(name, "cannot decode the " + std::string(format_name(info.format)) + " data (" +
                   size_str(info.width, info.height) +
                   " header); the file is corrupt, truncated or uses an unsupported variant");
  // The memory check above trusted the header; a decoder that reads the size elsewhere must agree with it.
  // (OpenCV's TIFF decoder has already applied the orientation, which may swap the sides.)
  const bool swapped = info.format == ImageFormat::tiff && info.orientation >= 5;
  const std::int64_t expect_w = swapped ? info.height : info.width;
  const std::int64_t expect_h = swapped ? info.width : info.height;
  if (m.cols != expect_w || m.rows != expect_h)
    fail(name, std::string(format_name(info.format)) + " header gives a size of " +
                   size_str(info.width, info.height) + " but the decoder produced " + size_str(m.cols, m.rows) +
                   "; the file is inconsistent");

  if (!options.convert_rgb) {
    if (m.channels() != 1 && m.channels() != 3)
      fail(name, std::to_string(m.channels()) +
                     "-channel image with do_convert_rgb false: transformers would keep "
                     "the alpha channel; enable do_convert_rgb");
    if (m.channels() == 1 && m.depth() == CV_16U)
      fail(name,
           "16-bit grayscale image with do_convert_rgb false: transformers would feed 16-bit samples; "
           "enable do_convert_rgb");
  }
  // OpenCV's TIFF decoder (libtiff) applies the Orientation tag itself, whatever the flags; every other
  // decoder leaves it to us. So for TIFF the work is already done, or has to be undone.
  if (info.orientation != 1) {
    if (info.format != ImageFormat::tiff) {
      if (options.apply_exif_orientation) m = orient(m, info.orientation);
    } else if (!options.apply_exif_orientation) {
      m = orient(m, inverse_orientation(info.orientation));
    }
  }
  return to_image(m, options.convert_rgb, name);
}

std::vector<std::uint8_t> read_image_bytes(const std::filesystem::path& path, const DecodeOptions& options) {
  const std::string name = path.string();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw IoError(name + ": is a directory, expected an image file");
  if (const auto kind = special_file_kind(path)) throw IoError(special_file_message(path, *kind));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(name + ": cannot open file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw IoError(name + ": cannot read the file size: " + ec.message());
  if (size > options.max_file_bytes)
    throw IoError(name + ": file is " + std::to_string(size) + " bytes, more than the limit of " +
                  std::to_string(options.max_file_bytes));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    throw IoError(name + ": read failed after " + std::to_string(in.gcount()) + " of " +
                  std::to_string(size) + " bytes");
  return bytes;
}

Image read_image(const std::filesystem::path& path, const DecodeOptions& options) {
  return decode_image(read_image_bytes(path, options), path.string(), options);
}

}  // namespace visbone::image
