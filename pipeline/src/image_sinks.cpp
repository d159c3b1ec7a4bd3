// The sinks that draw: annotated images (the input with its top-k labels), heat maps of a stage's feature
// map over the model's view of the input, and a contact sheet (a grid of all inputs with their predicted
// label). Images are RGB here, as decoded; OpenCV's encoder wants BGR, so the order is swapped on writing.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "sink_support.h"
#include "visbone/core/errors.h"
#include "visbone/pipeline/atomic_file.h"

namespace visbone::pipeline::detail {

namespace fs = std::filesystem;

namespace {

const cv::Scalar kWhite(255, 255, 255), kGreen(90, 230, 90), kRed(255, 90, 90), kOrange(255, 170, 60);

// A three-channel RGB copy of a decoded image (grayscale replicated).
cv::Mat to_rgb(const image::Image& img) {
  const cv::Mat view(img.height(), img.width(), CV_MAKETYPE(CV_8U, img.channels()),
                     const_cast<std::uint8_t*>(img.data()));
  cv::Mat out;
  switch (img.channels()) {
    case 1:
      cv::cvtColor(view, out, cv::COLOR_GRAY2RGB);
      break;
    case 4:
      cv::cvtColor(view, out, cv::COLOR_RGBA2RGB);
      break;
    default:
      out = view.clone();
  }
  return out;
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

class AnnotatedImagesSink : public Sink {
 public:
  AnnotatedImagesSink(fs::path dir, std::size_t head, int k, int min_size, std::string format)
      : dir_(std::move(dir)), head_(head), k_(k), min_size_(min_size), format_(std::move(format)) {}

  bool needs_image() const override { return true; }

  void write(const Item& item) override {
    if (item.failed() || item.image.empty()) return;
    cv::Mat rgb = enlarge(to_rgb(item.image), min_size_);
    std::vector<std::pair<std::string, cv::Scalar>> lines;
    const auto& top = item.top_k[head_];
    for (std::size_t r = 0; r < top.size() && static_cast<int>(r) < k_; ++r)
      lines.emplace_back(ascii(top[r].label) + "  " + percent(top[r].score),
                         r == 0 ? verdict_color(item, top[r].label) : kWhite);
    if (item.label) lines.emplace_back("true: " + ascii(*item.label), kWhite);
    draw_box(rgb, lines);
    write_image(dir_ / output_name(item.id, format_), rgb, format_);
  }
  void finish() override {}
  std::string describe() const override { return "annotated_images -> " + dir_.string() + "/"; }

 private:
  fs::path dir_;
  std::size_t head_;
  int k_, min_size_;
  std::string format_;
};

class HeatmapSink : public Sink {
 public:
  HeatmapSink(fs::path dir, std::size_t head, std::string stage, double alpha, int min_size,
              std::string format, const image::ImageProcessor* processor)
      : dir_(std::move(dir)),
        head_(head),
        stage_(std::move(stage)),
        alpha_(alpha),
        min_size_(min_size),
        format_(std::move(format)),
        processor_(processor) {}

  bool needs_image() const override { return true; }

  void write(const Item& item) override {
    if (item.failed() || item.image.empty()) return;
    const auto& tensors = item.heads[head_].tensors;
    const auto it =
        std::find_if(tensors.begin(), tensors.end(), [&](const auto& t) { return t.first == stage_; });
    if (it == tensors.end() || it->second.rank() != 3)
      throw ShapeError(dir_.string() + ": no (C, H, W) feature map '" + stage_ + "' for input " + item.id);
    const Tensor& fm = it->second;
    const int c = static_cast<int>(fm.dim(0)), h = static_cast<int>(fm.dim(1)),
              w = static_cast<int>(fm.dim(2));
    // Per position, the L2 norm over channels: where the stage responds strongly, whatever the sign.
    cv::Mat energy(h, w, CV_32F);
    const float* d = fm.data();
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        double s = 0;
        for (int k = 0; k < c; ++k) {
          const double v = d[(static_cast<std::size_t>(k) * h + y) * w + x];
          s += v * v;
        }
        energy.at<float>(y, x) = static_cast<float>(std::sqrt(s));
      }
    double lo = 0, hi = 0;
    cv::minMaxLoc(energy, &lo, &hi);
    cv::Mat u8;
    energy.convertTo(u8, CV_8U, hi > lo ? 255.0 / (hi - lo) : 0.0, hi > lo ? -lo * 255.0 / (hi - lo) : 0.0);
    // The feature map covers the resized and cropped image the model saw, so that is what it is drawn on.
    cv::Mat view = to_rgb(processor_->resize_and_crop(item.image));
    cv::Mat heat_bgr, heat;
    cv::resize(u8, u8, view.size(), 0, 0, cv::INTER_LINEAR);
    cv::applyColorMap(u8, heat_bgr, cv::COLORMAP_JET);
    cv::cvtColor(heat_bgr, heat, cv::COLOR_BGR2RGB);
    cv::Mat out;
    cv::addWeighted(view, 1.0 - alpha_, heat, alpha_, 0.0, out);
    write_image(dir_ / output_name(item.id, format_), enlarge(out, min_size_), format_);
  }
  void finish() override {}
  std::string describe() const override { return "heatmap (" + stage_ + ") -> " + dir_.string() + "/"; }

 private:
  fs::path dir_;
  std::size_t head_;
  std::string stage_;
  double alpha_;
  int min_size_;
  std::string format_;
  const image::ImageProcessor* processor_;
};

class ContactSheetSink : public Sink {
 public:
  ContactSheetSink(fs::path path, std::size_t head, int columns, int tile, std::int64_t max_images)
      : path_(std::move(path)), head_(head), columns_(columns), tile_(tile), max_images_(max_images) {
    caption_ = std::max(12, tile_ / 4);
  }

  bool needs_image() const override { return true; }

  void write(const Item& item) override {
    if (static_cast<std::int64_t>(tiles_.size()) >= max_images_) return;
    cv::Mat cell(tile_ + caption_, tile_, CV_8UC3, cv::Scalar(28, 28, 28));
    std::string caption;
    cv::Scalar color = kOrange;
    if (item.failed() || item.image.empty()) {
      cell(cv::Rect(0, 0, tile_, tile_)).setTo(cv::Scalar(70, 70, 70));
      caption = "error";
    } else {
      const cv::Mat rgb = to_rgb(item.image);
      const double f = std::min(static_cast<double>(tile_) / rgb.cols, static_cast<double>(tile_) / rgb.rows);
      const int w = std::max(1, static_cast<int>(rgb.cols * f)),
                h = std::max(1, static_cast<int>(rgb.rows * f));
      cv::Mat fitted;
      cv::resize(rgb, fitted, cv::Size(w, h), 0, 0,
                 f >= 2  ? cv::INTER_NEAREST
                 : f < 1 ? cv::INTER_AREA
                         : cv::INTER_LINEAR);
      fitted.copyTo(cell(cv::Rect((tile_ - w) / 2, (tile_ - h) / 2, w, h)));
      const auto& top = item.top_k[head_];
      if (!top.empty()) {
        caption = ascii(top[0].label) + " " + percent(top[0].score);
        color = verdict_color(item, top[0].label);
      }
    }
    // Shrink the font until the caption fits the tile's width.
    double scale = caption_ / 30.0;
    int base = 0;
    cv::Size s = cv::getTextSize(caption, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &base);
    if (s.width > tile_ - 2) {
      scale *= static_cast<double>(tile_ - 2) / s.width;
      s = cv::getTextSize(caption, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &base);
    }
    cv::putText(cell, caption,
                cv::Point(std::max(1, (tile_ - s.width) / 2), tile_ + (caption_ + s.height) / 2),
                cv::FONT_HERSHEY_SIMPLEX, scale, color, 1, cv::LINE_AA);
    tiles_.push_back(std::move(cell));
  }

  void finish() override {
    const int n = std::max<int>(1, static_cast<int>(tiles_.size()));
    int cols = columns_ > 0 ? columns_ : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
    cols = std::min(cols, n);
    const int rows = (n + cols - 1) / cols;
    constexpr int kGap = 2;
    const int cw = tile_ + kGap, ch = tile_ + caption_ + kGap;
    cv::Mat sheet(rows * ch + kGap, cols * cw + kGap, CV_8UC3, cv::Scalar(12, 12, 12));
    for (std::size_t i = 0; i < tiles_.size(); ++i) {
      const int r = static_cast<int>(i) / cols, c = static_cast<int>(i) % cols;
      tiles_[i].copyTo(sheet(cv::Rect(kGap + c * cw, kGap + r * ch, tile_, tile_ + caption_)));
    }
    write_image(path_, sheet, path_.extension() == ".jpg" || path_.extension() == ".jpeg" ? "jpg" : "png");
  }
  std::string describe() const override { return "contact_sheet -> " + path_.string(); }

 private:
  fs::path path_;
  std::size_t head_;
  int columns_, tile_, caption_;
  std::int64_t max_images_;
  std::vector<cv::Mat> tiles_;
};

}  // namespace

std::unique_ptr<Sink> make_annotated_images(const SinkConfig& c, const std::string& context,
                                            const SinkContext& ctx) {
  const std::size_t h = find_head(c, context, ctx, c.head, "classification");
  return std::make_unique<AnnotatedImagesSink>(ctx.config->output_path(c.path), h,
                                               columns_top_k(c, ctx.heads[h]), c.min_size, c.format);
}

std::unique_ptr<Sink> make_heatmap(const SinkConfig& c, const std::string& context, const SinkContext& ctx) {
  const std::string where = sink_where(c, context);
  const auto gives = [&](std::size_t i) {
    const auto& s = ctx.heads[i].stages;
    return std::find(s.begin(), s.end(), c.stage) != s.end();
  };
  std::size_t h = ctx.heads.size();
  if (!c.head.empty()) {
    h = find_head(c, context, ctx, c.head, "feature_maps");
  } else {
    for (std::size_t i = 0; i < ctx.heads.size() && h == ctx.heads.size(); ++i)
      if (gives(i)) h = i;
  }
  if (h == ctx.heads.size() || !gives(h)) {
    std::string given;
    for (const auto& head : ctx.heads)
      for (const auto& n : head.stages) given += (given.empty() ? "" : ", ") + n;
    throw ConfigError(where + ": stage '" + c.stage + "' is not returned by " +
                      (c.head.empty() ? std::string("any feature_maps head") : "head '" + c.head + "'") +
                      " (they return: " + (given.empty() ? std::string("nothing") : given) +
                      "); add it to a feature_maps head's out_features");
  }
  return std::make_unique<HeatmapSink>(ctx.config->output_path(c.path), h, c.stage, c.alpha, c.min_size,
                                       c.format, ctx.processor);
}

std::unique_ptr<Sink> make_contact_sheet(const SinkConfig& c, const std::string& context,
                                         const SinkContext& ctx) {
  const std::size_t h = find_head(c, context, ctx, c.head, "classification");
  return std::make_unique<ContactSheetSink>(ctx.config->output_path(c.path), h, c.columns, c.tile,
                                            c.max_images);
}

}  // namespace visbone::pipeline::detail
