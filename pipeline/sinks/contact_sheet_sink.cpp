// `contact_sheet`: one image of all inputs as tiles, each captioned with its top label.
#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "drawing.h"
#include "param_checks.h"
#include "sinks.h"
#include "visbone/core/errors.h"
#include "visbone/pipeline/sink_outputs.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
using namespace detail;
namespace {

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
      const cv::Mat fitted = fit_rgb(item.image, tile_);
      fitted.copyTo(
          cell(cv::Rect((tile_ - fitted.cols) / 2, (tile_ - fitted.rows) / 2, fitted.cols, fitted.rows)));
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
  fs::path path() const override { return path_; }
  std::string describe() const override { return "contact_sheet -> " + path_.string(); }
  // One sheet of the shard's inputs: a sheet of all of them would need every shard's images.
  std::vector<SinkOutput> outputs() const override { return {{path_, MergeRule::per_part}}; }

 private:
  fs::path path_;
  std::size_t head_;
  int columns_, tile_, caption_;
  std::int64_t max_images_;
  std::vector<cv::Mat> tiles_;
};

std::unique_ptr<Sink> make(const registry::Params& p, const SinkContext& ctx) {
  const fs::path path = output_path(p, ctx);
  const int columns = in_range<int>(p, "columns", 0, 1, 1000);
  const int tile = in_range<int>(p, "tile", 64, 8, 1024);
  const std::int64_t max_images = in_range<std::int64_t>(p, "max_images", 1000, 1, 100'000);
  const std::size_t h = find_head(p, ctx, "classification");
  return std::make_unique<ContactSheetSink>(path, h, columns, tile, max_images);
}

}  // namespace

void register_contact_sheet_sink(registry::ComponentRegistrar& r) {
  r.add_sink("contact_sheet", "one image of all inputs as tiles, each captioned with its top label", make,
             {{"path", "path", "(required)", "the image file to write (.png or .jpg; relative to output_dir)"},
              head_param("classification"),
              {"columns", "int", "0", "tiles per row (0 = about square)"},
              {"tile", "int", "64", "tile edge in pixels"},
              {"max_images", "int", "1000", "inputs shown (keeps a huge run's sheet bounded)"}});
}

}  // namespace visbone::pipeline
