// Decoding: every mode becomes 8-bit RGB as Pillow's convert("RGB") makes it, EXIF orientation is applied
// as ImageOps.exif_transpose applies it, and every malformed file (written to disk, as a user would have it)
// gives a FormatError/IoError naming the file instead of a crash or a silently gray image.
#include "visbone/image/decode.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <thread>

#include "test_files.h"
#include "visbone/core/errors.h"

namespace visbone::image {
namespace {

using testing::Bytes;
using testing::make_png;
using testing::PngSpec;
using testing::TempDir;

std::vector<int> rgb_of(const Image& img, int y, int x) {
  return {img.at(y, x, 0), img.at(y, x, 1), img.at(y, x, 2)};
}

Image decode(const Bytes& b, const DecodeOptions& o = {}) {
  return decode_image(b, "test", o);
}

PngSpec spec(int w, int h, int color_type, Bytes samples, int bit_depth = 8) {
  PngSpec s;
  s.width = w;
  s.height = h;
  s.color_type = color_type;
  s.samples = std::move(samples);
  s.bit_depth = bit_depth;
  return s;
}

Bytes png(int w, int h, int color_type, Bytes samples, int bit_depth = 8) {
  return make_png(spec(w, h, color_type, std::move(samples), bit_depth));
}

Bytes palette_png(Bytes indices, Bytes palette, Bytes transparency = {}) {
  PngSpec s = spec(static_cast<int>(indices.size()), 1, 3, indices);
  s.palette = std::move(palette);
  s.transparency = std::move(transparency);
  return make_png(s);
}

// Expects `fn` to throw E with a message that contains every fragment.
template <typename E, typename Fn>
void expect_error(Fn fn, std::initializer_list<std::string> fragments) {
  try {
    fn();
    ADD_FAILURE() << "no exception";
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const auto& f : fragments)
      EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

// A 3x2 colour picture with distinct pixels, as OpenCV BGR.
cv::Mat sample_bgr(int w = 3, int h = 2) {
  cv::Mat m(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(10 + 40 * x), static_cast<uchar>(20 + 70 * y),
                                        static_cast<uchar>(200 - 30 * x - 50 * y));
  return m;
}

Bytes encode(const std::string& ext, const cv::Mat& m, const std::vector<int>& params = {}) {
  std::vector<uchar> buf;
  if (!cv::imencode(ext, m, buf, params)) throw std::runtime_error("imencode " + ext);
  return Bytes(buf.begin(), buf.end());
}

void expect_same_as_bgr(const Image& img, const cv::Mat& bgr) {
  ASSERT_EQ(img.channels(), 3);
  ASSERT_EQ(img.width(), bgr.cols);
  ASSERT_EQ(img.height(), bgr.rows);
  for (int y = 0; y < bgr.rows; ++y)
    for (int x = 0; x < bgr.cols; ++x) {
      const auto p = bgr.at<cv::Vec3b>(y, x);
      EXPECT_EQ(rgb_of(img, y, x), (std::vector<int>{p[2], p[1], p[0]})) << "at " << x << "," << y;
    }
}

TEST(Decode, PngModesBecomeRgbLikePillowConvert) {
  // RGB stays as it is.
  const Image rgb = decode(png(2, 1, 2, {1, 2, 3, 250, 251, 252}));
  EXPECT_EQ(rgb_of(rgb, 0, 1), (std::vector<int>{250, 251, 252}));
  // Gray is replicated.
  const Image g = decode(png(2, 1, 0, {7, 200}));
  EXPECT_EQ(rgb_of(g, 0, 1), (std::vector<int>{200, 200, 200}));
  // Gray + alpha: alpha dropped, not composited (a transparent pixel keeps its gray).
  const Image la = decode(png(2, 1, 4, {100, 0, 30, 255}));
  EXPECT_EQ(rgb_of(la, 0, 0), (std::vector<int>{100, 100, 100}));
  EXPECT_EQ(rgb_of(la, 0, 1), (std::vector<int>{30, 30, 30}));
  // RGBA: alpha dropped.
  const Image rgba = decode(png(1, 1, 6, {10, 20, 30, 0}));
  EXPECT_EQ(rgb_of(rgba, 0, 0), (std::vector<int>{10, 20, 30}));
  // Palette, with a transparency entry that convert("RGB") ignores.
  const Image p = decode(palette_png({2, 0, 1}, {255, 0, 0, 0, 255, 0, 1, 2, 3}, {0, 128}));
  EXPECT_EQ(rgb_of(p, 0, 0), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(rgb_of(p, 0, 1), (std::vector<int>{255, 0, 0}));
  EXPECT_EQ(rgb_of(p, 0, 2), (std::vector<int>{0, 255, 0}));
  // 1-bit gray: 0 and 255.
  const Image bits = decode(png(3, 1, 0, {0b10100000}, 1));
  EXPECT_EQ(rgb_of(bits, 0, 0)[0], 255);
  EXPECT_EQ(rgb_of(bits, 0, 1)[0], 0);
  EXPECT_EQ(rgb_of(bits, 0, 2)[0], 255);
}

TEST(Decode, SixteenBitFollowsPillow) {
  // 16-bit gray opens as Pillow mode I;16, whose conversion to RGB clips at 255 (it does not scale).
  const Image g = decode(png(4, 1, 0, {0x00, 0xC8, 0x00, 0xFF, 0x01, 0x00, 0xFF, 0xFF}, 16));
  EXPECT_EQ(g.at(0, 0, 0), 200);
  EXPECT_EQ(g.at(0, 1, 0), 255);
  EXPECT_EQ(g.at(0, 2, 0), 255);  // 256 clips
  EXPECT_EQ(g.at(0, 3, 1), 255);
  // 16-bit colour keeps each sample's high byte (Pillow's RGB;16B unpacker).
  const Image c = decode(png(1, 1, 2, {0x12, 0x34, 0x00, 0xFF, 0xFF, 0x01}, 16));
  EXPECT_EQ(rgb_of(c, 0, 0), (std::vector<int>{0x12, 0x00, 0xFF}));
  // 16-bit gray + alpha: high byte of the gray.
  const Image la = decode(png(1, 1, 4, {0xAB, 0xCD, 0x00, 0x00}, 16));
  EXPECT_EQ(rgb_of(la, 0, 0), (std::vector<int>{0xAB, 0xAB, 0xAB}));
}

TEST(Decode, OtherFormats) {
  const cv::Mat bgr = sample_bgr();
  expect_same_as_bgr(decode(encode(".bmp", bgr)), bgr);
  expect_same_as_bgr(decode(encode(".tiff", bgr)), bgr);
  expect_same_as_bgr(decode(encode(".webp", bgr, {cv::IMWRITE_WEBP_QUALITY, 101})), bgr);  // lossless
  cv::Mat gray(2, 3, CV_8UC1, cv::Scalar(77));
  const Image gj = decode(encode(".jpg", gray, {cv::IMWRITE_JPEG_QUALITY, 100}));
  ASSERT_EQ(gj.channels(), 3);
  EXPECT_NEAR(gj.at(1, 2, 0), 77, 1);
  EXPECT_EQ(gj.at(1, 2, 0), gj.at(1, 2, 2));
  const Image cj = decode(encode(".jpg", bgr, {cv::IMWRITE_JPEG_QUALITY, 100}));
  EXPECT_EQ(cj.width(), 3);
  EXPECT_EQ(cj.height(), 2);
}

TEST(Decode, WithoutConvertRgbGrayStaysOneChannel) {
  DecodeOptions keep;
  keep.convert_rgb = false;
  const Image g = decode(png(2, 1, 0, {7, 200}), keep);
  EXPECT_EQ(g.channels(), 1);
  EXPECT_EQ(g.at(0, 1, 0), 200);
  EXPECT_EQ(decode(png(1, 1, 2, {1, 2, 3}), keep).channels(), 3);
  expect_error<FormatError>(
      [&] {
        decode(png(1, 1, 6, {1, 2, 3, 4}), keep);
      },
      {"test", "alpha", "do_convert_rgb"});
  expect_error<FormatError>(
      [&] {
        decode(palette_png({0}, {1, 2, 3}), keep);
      },
      {"test", "palette", "do_convert_rgb"});
}

// Where ImageOps.exif_transpose sends output pixel (x, y), for a w x h source; Pillow's names in comments.
std::pair<int, int> source_of(int orientation, int x, int y, int w, int h) {
  switch (orientation) {
    case 2:
      return {w - 1 - x, y};  // FLIP_LEFT_RIGHT
    case 3:
      return {w - 1 - x, h - 1 - y};  // ROTATE_180
    case 4:
      return {x, h - 1 - y};  // FLIP_TOP_BOTTOM
    case 5:
      return {y, x};  // TRANSPOSE
    case 6:
      return {y, h - 1 - x};  // ROTATE_270 (clockwise)
    case 7:
      return {w - 1 - y, h - 1 - x};  // TRANSVERSE
    case 8:
      return {w - 1 - y, x};  // ROTATE_90 (counter-clockwise)
    default:
      return {x, y};
  }
}

void expect_oriented(const Image& out, const Image& plain, int orientation) {
  const bool swap = orientation >= 5;
  ASSERT_EQ(out.width(), swap ? plain.height() : plain.width()) << "orientation " << orientation;
  ASSERT_EQ(out.height(), swap ? plain.width() : plain.height()) << "orientation " << orientation;
  for (int y = 0; y < out.height(); ++y)
    for (int x = 0; x < out.width(); ++x) {
      const auto [sx, sy] = source_of(orientation, x, y, plain.width(), plain.height());
      ASSERT_EQ(rgb_of(out, y, x), rgb_of(plain, sy, sx))
          << "orientation " << orientation << " at " << x << "," << y;
    }
}

TEST(Decode, ExifOrientationInJpeg) {
  const Bytes jpeg = encode(".jpg", sample_bgr(5, 3), {cv::IMWRITE_JPEG_QUALITY, 100});
  const Image plain = decode(jpeg);
  for (int o = 1; o <= 8; ++o) {
    const Bytes tagged = testing::jpeg_with_app1(jpeg, testing::exif_block(o, o % 2 == 0));
    EXPECT_EQ(probe_image(tagged, "t").orientation, o);
    expect_oriented(decode(tagged), plain, o);
  }
  DecodeOptions raw;
  raw.apply_exif_orientation = false;
  EXPECT_EQ(decode(testing::jpeg_with_app1(jpeg, testing::exif_block(6)), raw), plain);
  // Values outside 1..8 are ignored, as exif_transpose ignores them.
  EXPECT_EQ(decode(testing::jpeg_with_app1(jpeg, testing::exif_block(9))), plain);
}

TEST(Decode, XmpOrientationIsTheFallback) {
  const Bytes jpeg = encode(".jpg", sample_bgr(5, 3), {cv::IMWRITE_JPEG_QUALITY, 100});
  const std::string xmp = std::string("http://ns.adobe.com/xap/1.0/") + '\0' +
                          "<x:xmpmeta><rdf:Description tiff:Orientation=\"8\"/></x:xmpmeta>";
  const Bytes with_xmp = testing::jpeg_with_app1(jpeg, Bytes(xmp.begin(), xmp.end()));
  EXPECT_EQ(probe_image(with_xmp, "t").orientation, 8);
  // An EXIF orientation, even 1, wins over XMP (Pillow reads XMP only when EXIF has no Orientation).
  EXPECT_EQ(probe_image(testing::jpeg_with_app1(with_xmp, testing::exif_block(1)), "t").orientation, 1);
}

TEST(Decode, ExifOrientationInPngTiffAndWebp) {
  const Bytes samples = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};  // 3x2 RGB
  const Image plain = decode(png(3, 2, 2, samples));
  Bytes exif = testing::exif_block(6);
  exif.erase(exif.begin(), exif.begin() + 6);  // eXIf holds the TIFF structure without the "Exif" prefix
  PngSpec with_exif = spec(3, 2, 2, samples);
  with_exif.extra_chunks = {testing::png_chunk("eXIf", exif)};
  expect_oriented(decode(make_png(with_exif)), plain, 6);

  // TIFF: the orientation is a tag of the image's own IFD, which OpenCV's TIFF decoder applies by itself
  // (also with IMREAD_UNCHANGED): it must not be applied twice, and is undone when not wanted.
  Bytes samples16;
  for (const auto v : samples) samples16.insert(samples16.end(), {0x80, v});  // little-endian v * 256 + 128
  DecodeOptions raw;
  raw.apply_exif_orientation = false;
  for (int o = 1; o <= 8; ++o) {
    expect_oriented(decode(testing::make_tiff_rgb(3, 2, samples, o)), plain, o);
    expect_oriented(decode(testing::make_tiff_rgb(3, 2, samples16, o, 16)), plain, o);
    EXPECT_EQ(decode(testing::make_tiff_rgb(3, 2, samples, o), raw), plain) << "orientation " << o;
  }

  // WebP: an extended file (VP8X) with an EXIF chunk.
  const Bytes simple = encode(".webp", sample_bgr(3, 2), {cv::IMWRITE_WEBP_QUALITY, 101});
  const Image wplain = decode(simple);
  Bytes body(simple.begin() + 12, simple.end());  // the VP8L chunk
  Bytes exif_chunk = {'E', 'X', 'I', 'F', static_cast<std::uint8_t>(exif.size()), 0, 0, 0};
  exif_chunk.insert(exif_chunk.end(), exif.begin(), exif.end());
  if (exif.size() % 2) exif_chunk.push_back(0);
  Bytes vp8x = {'V', 'P', '8', 'X', 10, 0, 0, 0, 0x08, 0, 0, 0, 2, 0, 0, 1, 0, 0};  // EXIF flag, 3x2 canvas
  Bytes webp = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P'};
  webp.insert(webp.end(), vp8x.begin(), vp8x.end());
  webp.insert(webp.end(), body.begin(), body.end());
  webp.insert(webp.end(), exif_chunk.begin(), exif_chunk.end());
  const auto riff = static_cast<std::uint32_t>(webp.size() - 8);
  for (int i = 0; i < 4; ++i)
    webp[4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(riff >> (8 * i));
  EXPECT_EQ(probe_image(webp, "t").orientation, 6);
  expect_oriented(decode(webp), wplain, 6);
}

TEST(Decode, ProbeReadsSizesFromHeaders) {
  const cv::Mat bgr = sample_bgr(7, 5);
  for (const char* ext : {".png", ".jpg", ".bmp", ".tiff", ".webp"}) {
    const ImageInfo info = probe_image(encode(ext, bgr), ext);
    EXPECT_EQ(info.width, 7) << ext;
    EXPECT_EQ(info.height, 5) << ext;
  }
  EXPECT_EQ(probe_image(encode(".webp", bgr, {cv::IMWRITE_WEBP_QUALITY, 80}), "lossy").width, 7);
}

// --- bad input, as real files on disk ---

Bytes big_png_header() {
  // A PNG whose IHDR claims 100000x100000 RGB pixels (30 GB decoded) with a tiny valid IDAT behind it.
  Bytes bomb = png(1, 1, 2, {0, 0, 0});
  Bytes ihdr = {0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0, 8, 2, 0, 0, 0};  // 100000 = 0x000186A0
  const Bytes chunk = testing::png_chunk("IHDR", ihdr);
  std::copy(chunk.begin(), chunk.end(), bomb.begin() + 8);
  return bomb;
}

TEST(DecodeBadInput, ZeroBytes) {
  TempDir dir;
  const auto p = dir.write("empty.png", std::string_view());
  expect_error<FormatError>([&] { read_image(p); }, {p.string(), "empty file"});
}

TEST(DecodeBadInput, TruncatedPng) {
  TempDir dir;
  const Bytes full = encode(".png", sample_bgr(64, 64));
  const auto p = dir.write("truncated.png",
                           Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(full.size() / 2)));
  expect_error<FormatError>([&] { read_image(p); }, {p.string(), "truncated PNG", "IDAT"});
  // Cut exactly at a chunk boundary before IEND.
  const auto q = dir.write("no_iend.png", Bytes(full.begin(), full.end() - 12));
  expect_error<FormatError>([&] { read_image(q); }, {q.string(), "truncated PNG", "IEND"});
}

TEST(DecodeBadInput, JpegHeaderOnly) {
  TempDir dir;
  const Bytes full = encode(".jpg", sample_bgr(64, 64));
  // Everything up to and including the start-of-scan header, no scan data.
  std::size_t sos = 2;
  while (!(full[sos] == 0xFF && full[sos + 1] == 0xDA))
    sos += 2 + (static_cast<std::size_t>(full[sos + 2]) << 8 | full[sos + 3]);
  const std::size_t header_end = sos + 2 + (static_cast<std::size_t>(full[sos + 2]) << 8 | full[sos + 3]);
  const auto p = dir.write("header_only.jpg",
                           Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(header_end)));
  expect_error<FormatError>([&] { read_image(p); }, {p.string(), "truncated JPEG"});
  // Only the first segments, before the frame header.
  const auto q = dir.write("no_frame.jpg", Bytes(full.begin(), full.begin() + 20));
  expect_error<FormatError>([&] { read_image(q); }, {q.string(), "JPEG"});
  // Cut in the middle of the scan: libjpeg would pad it with gray; we refuse it like Pillow does.
  const auto r = dir.write(
      "cut.jpg",
      Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>((header_end + full.size()) / 2)));
  expect_error<FormatError>([&] { read_image(r); }, {r.string(), "truncated JPEG", "end-of-image"});
}

TEST(DecodeBadInput, PngHeaderClaims100000x100000) {
  TempDir dir;
  const auto p = dir.write("bomb.png", big_png_header());
  expect_error<FormatError>([&] { read_image(p); },
                            {p.string(), "100000x100000", "10000000000 pixels", "178956970"});
  // The limit is configurable, and checked before decoding for every format.
  DecodeOptions small;
  small.max_pixels = 20;
  const auto q = dir.write("ok.jpg", encode(".jpg", sample_bgr(5, 5)));
  expect_error<FormatError>([&] { read_image(q, small); }, {q.string(), "5x5", "limit of 20"});
  small.max_pixels = 25;
  EXPECT_EQ(read_image(q, small).width(), 5);
}

TEST(DecodeBadInput, NotAnImage) {
  TempDir dir;
  const std::string text = "this is not an image";
  const auto p = dir.write("notes.png", Bytes(text.begin(), text.end()));
  expect_error<FormatError>([&] { read_image(p); }, {p.string(), "signature"});
  expect_error<IoError>([&] { read_image(dir.path() / "missing.png"); }, {"missing.png", "cannot open"});
  expect_error<IoError>([&] { read_image(dir.path()); }, {"directory"});
  DecodeOptions tiny;
  tiny.max_file_bytes = 4;
  expect_error<IoError>([&] { read_image(p, tiny); }, {p.string(), "limit of 4"});
}

// Decoding reuses a thread's JPEG buffer between images of one size: what an image decodes to must not depend
// on what the thread decoded before, whole or cut short.
TEST(Decode, AJpegDoesNotDependOnTheImageDecodedBeforeIt) {
  std::mt19937 rng(5);
  const auto noise = [&] {
    cv::Mat m(48, 64, CV_8UC3);
    for (auto it = m.begin<cv::Vec3b>(); it != m.end<cv::Vec3b>(); ++it)
      *it = cv::Vec3b(static_cast<uchar>(rng()), static_cast<uchar>(rng()), static_cast<uchar>(rng()));
    return m;
  };
  const Bytes before = encode(".jpg", noise()), full = encode(".jpg", noise());
  const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(full.size() * 6 / 10));
  for (const Bytes* b : {&full, &cut}) {
    // Each on a thread of its own: alone, and after another image of the same size.
    std::string alone_error, after_error;
    Image alone, after;
    std::thread([&] {
      try {
        alone = decode(*b);
      } catch (const Error& e) {
        alone_error = e.what();
      }
    }).join();
    std::thread([&] {
      const Image first = decode(before);
      try {
        after = decode(*b);
      } catch (const Error& e) {
        after_error = e.what();
      }
    }).join();
    EXPECT_EQ(after_error, alone_error);
    if (b == &full) EXPECT_EQ(after.width(), 64) << after_error;
    EXPECT_TRUE(after == alone) << (b == &cut ? "cut" : "full");
  }
}

TEST(DecodeBadInput, TruncatedOtherFormats) {
  TempDir dir;
  const cv::Mat bgr = sample_bgr(16, 16);
  for (const char* ext : {".bmp", ".tiff", ".webp"}) {
    const Bytes full = encode(ext, bgr);
    const auto p = dir.write(std::string("cut") + ext, Bytes(full.begin(), full.begin() + 10));
    expect_error<FormatError>([&] { read_image(p); }, {p.string()});
    const auto q =
        dir.write(std::string("half") + ext,
                  Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(full.size() / 2)));
    expect_error<FormatError>([&] { read_image(q); }, {q.string()});
  }
}

// Found by fuzz_image: TIFF files whose first IFD names ImageWidth twice. libtiff keeps the first value, so
// the header probe (which bounds the decoder's memory) must too, and the decoded size must match it.
TEST(Decode, DuplicatedTiffTagsKeepTheFirstValueLikeLibtiff) {
  const std::filesystem::path dir = std::filesystem::path(VISBONE_TEST_DATA) / "image";
  struct Case {
    const char* file;
    std::int64_t width, height;
    int orientation;
  };
  for (const Case& c : {Case{"tiff-duplicate-width-orient8.tiff", 9, 6, 8},  // widths 9 then 1; rotated 90
                        Case{"tiff-duplicate-width-lzw.tiff", 2304, 6, 1}}) {  // widths 2304 then 54
    const auto path = dir / c.file;
    const Bytes bytes = testing::read_bytes(path);
    const ImageInfo info = probe_image(bytes, c.file);
    EXPECT_EQ(info.width, c.width) << c.file;
    EXPECT_EQ(info.height, c.height) << c.file;
    EXPECT_EQ(info.orientation, c.orientation) << c.file;
    const bool swapped = c.orientation >= 5;
    const Image img = read_image(path);
    EXPECT_EQ(img.width(), swapped ? c.height : c.width) << c.file;
    EXPECT_EQ(img.height(), swapped ? c.width : c.height) << c.file;
  }
}

TEST(DecodeBadInput, EveryTruncationAndCorruptionFailsCleanly) {
  // Not a fuzzer, but the same idea on a budget: each prefix and many single-byte corruptions of a valid
  // file of every format must either decode or throw visbone::Error (ASan/UBSan builds check the rest).
  const cv::Mat bgr = sample_bgr(9, 7);
  std::mt19937 rng(1234);
  for (const char* ext : {".png", ".jpg", ".bmp", ".tiff", ".webp"}) {
    const Bytes full = encode(ext, bgr);
    int decoded = 0, rejected = 0;
    const auto attempt = [&](const Bytes& b) {
      try {
        decode_image(b, ext);
        ++decoded;
      } catch (const Error&) {
        ++rejected;
      }
    };
    for (std::size_t n = 0; n < full.size(); n += std::max<std::size_t>(1, full.size() / 97))
      attempt(Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)));
    for (int i = 0; i < 300; ++i) {
      Bytes b = full;
      b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
      attempt(b);
    }
    EXPECT_GT(rejected, 0) << ext;
    attempt(full);
    EXPECT_GT(decoded, 0) << ext;
  }
}

}  // namespace
}  // namespace visbone::image
