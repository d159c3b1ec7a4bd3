#include "drawing.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "visbone/core/errors.h"
#include "visbone/pipeline/atomic_file.h"

namespace visbone::pipeline::detail {

namespace fs = std::filesystem;

namespace {

// The decoded pixels as a Mat, without a copy (valid while `img` lives).
cv::Mat view_of(const image::Image& img) {
  return cv::Mat(img.height(), img.width(), CV_MAKETYPE(CV_8U, img.channels()),
                 const_cast<std::uint8_t*>(img.data()), img.stride());
}

// `m` as three-channel RGB: grayscale replicated, alpha dropped; `m` itself when it is RGB already.
cv::Mat as_rgb(const cv::Mat& m) {
  cv::Mat out;
  if (m.channels() == 1)
    cv::cvtColor(m, out, cv::COLOR_GRAY2RGB);
  else if (m.channels() == 4)
    cv::cvtColor(m, out, cv::COLOR_RGBA2RGB);
  else
    out = m;
  return out;
}

}  // namespace

// A three-channel RGB copy of a decoded image (grayscale replicated).
cv::Mat to_rgb(const image::Image& img) {
  const cv::Mat view = view_of(img);
  return view.channels() == 3 ? view.clone() : as_rgb(view);
}

cv::Mat fit_rgb(const image::Image& img, int tile) {
  const double f =
      std::min(static_cast<double>(tile) / img.width(), static_cast<double>(tile) / img.height());
  const int w = std::max(1, static_cast<int>(img.width() * f)),
            h = std::max(1, static_cast<int>(img.height() * f));
  cv::Mat fitted;
  // Per channel, so resizing before the channel conversion gives the same bytes as after it.
  cv::resize(view_of(img), fitted, cv::Size(w, h), 0, 0,
             f >= 2  ? cv::INTER_NEAREST
             : f < 1 ? cv::INTER_AREA
                     : cv::INTER_LINEAR);
  return as_rgb(fitted);
}

// Scales so the short side is at least `min_size`; whole-number enlargements keep pixels square and crisp
// (an 8x8 digit stays readable), other factors interpolate.
cv::Mat enlarge(const cv::Mat& m, int min_size) {
  const int short_side = std::min(m.cols, m.rows);
  if (short_side >= min_size) return m;
  const double f = static_cast<double>(min_size) / short_side;
  const double scale = f >= 2 ? std::ceil(f) : f;
  cv::Mat out;
  cv::resize(
      m, out,
      cv::Size(static_cast<int>(std::lround(m.cols * scale)), static_cast<int>(std::lround(m.rows * scale))),
      0, 0, f >= 2 ? cv::INTER_NEAREST : cv::INTER_LINEAR);
  return out;
}

void write_image(const fs::path& path, const cv::Mat& rgb, const std::string& format) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<unsigned char> bytes;
  const std::vector<int> params =
      format == "jpg" ? std::vector<int>{cv::IMWRITE_JPEG_QUALITY, 92} : std::vector<int>{};
  if (!cv::imencode("." + format, bgr, bytes, params))
    throw IoError(path.string() + ": OpenCV cannot encode the image");
  write_file_atomic(path, bytes);
}

std::string percent(float score) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", static_cast<double>(score) * 100.0);
  return buf;
}

// Hershey fonts draw ASCII only; anything else would come out as '?' boxes, so it is replaced up front.
std::string ascii(const std::string& s) {
  std::string out;
  for (const unsigned char c : s) {
    if (c >= 0x80) {
      if ((c & 0xC0) != 0x80) out += '?';  // one '?' per UTF-8 sequence
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Lines of text in a darkened box at the top left.
void draw_box(cv::Mat& rgb, const std::vector<std::pair<std::string, cv::Scalar>>& lines) {
  const double scale = std::max(0.35, std::min(rgb.cols, rgb.rows) / 420.0);
  const int thickness = std::max(1, static_cast<int>(std::lround(scale * 1.4)));
  const int pad = std::max(2, static_cast<int>(4 * scale));
  int width = 0, line_h = 0;
  for (const auto& [text, color] : lines) {
    int base = 0;
    const cv::Size s = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &base);
    width = std::max(width, s.width);
    line_h = std::max(line_h, s.height + base);
  }
  const cv::Rect box(0, 0, std::min(rgb.cols, width + 2 * pad),
                     std::min(rgb.rows, static_cast<int>(lines.size()) * (line_h + pad) + pad));
  cv::Mat roi = rgb(box);
  roi.convertTo(roi, -1, 0.3, 0);  // darken, so the text reads on any background
  int y = pad;
  for (const auto& [text, color] : lines) {
    y += line_h;
    cv::putText(rgb, text, cv::Point(pad, y - line_h / 4), cv::FONT_HERSHEY_SIMPLEX, scale, color, thickness,
                cv::LINE_AA);
    y += pad;
  }
}

cv::Scalar verdict_color(const Item& item, const std::string& predicted) {
  if (!item.label) return kWhite;
  return *item.label == predicted ? kGreen : kRed;
}

}  // namespace visbone::pipeline::detail
