// `heatmap`: a stage's feature-map energy over the model's view of each input, one image per input.
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
    const fs::path file = dir_ / output_name(item.id, format_);
    write_image(file, enlarge(out, min_size_), format_);
    written_.push_back(file);  // once written: a failed write leaves an earlier run's file unclaimed
  }
  void finish() override {}
  fs::path path() const override { return dir_; }
  std::string describe() const override { return "heatmap (" + stage_ + ") -> " + dir_.string() + "/"; }
  std::vector<SinkOutput> outputs() const override { return {{dir_, MergeRule::shared_folder}}; }
  std::optional<std::vector<fs::path>> written_files() const override { return written_; }

 private:
  fs::path dir_;
  std::size_t head_;
  std::string stage_;
  double alpha_;
  int min_size_;
  std::string format_;
  std::vector<fs::path> written_;  // this run's images, for the run record
  const image::ImageProcessor* processor_;
};

std::unique_ptr<Sink> make(const registry::Params& p, const SinkContext& ctx) {
  const fs::path dir = output_folder(p, ctx);
  const std::string stage = p.get<std::string>("stage");
  const double alpha = in_range<double>(p, "alpha", 0.5, 0.0, 1.0);
  const int min_size = in_range<int>(p, "min_size", 256, 1, 8192);
  const std::string format = one_of(p, "format", "png", {"png", "jpg"});
  if (!ctx.processor) p.fail("type", "needs the pipeline's image processor (the model's view of an input)");
  // The head: the named one, else the first whose describe() lists the stage among its maps.
  const auto gives = [&](std::size_t i) {
    const auto& s = ctx.heads[i].description.stages;
    return std::find(s.begin(), s.end(), stage) != s.end();
  };
  const auto named = p.find<std::string>("head");
  std::size_t h = ctx.heads.size();
  if (named) {
    h = find_head(p, ctx, "feature_maps");
  } else {
    for (std::size_t i = 0; i < ctx.heads.size() && h == ctx.heads.size(); ++i)
      if (gives(i)) h = i;
  }
  if (h == ctx.heads.size() || !gives(h)) {
    std::string given;
    for (const auto& head : ctx.heads)
      for (const auto& n : head.description.stages) given += (given.empty() ? "" : ", ") + n;
    p.fail("stage", "stage '" + stage + "' is not returned by " +
                        (named ? "head '" + *named + "'" : std::string("any feature_maps head")) +
                        " (they return: " + (given.empty() ? std::string("nothing") : given) +
                        "); add it to a feature_maps head's out_features");
  }
  return std::make_unique<HeatmapSink>(dir, h, stage, alpha, min_size, format, ctx.processor);
}

}  // namespace

void register_heatmap_sink(registry::ComponentRegistrar& r) {
  r.add_sink("heatmap", "a stage's feature-map energy over the model's view of each input, one image per input",
             make,
             {{"path", "path", "(required)", "the folder to write images to (relative to output_dir)"},
              {"stage", "string", "(required)", "the stage drawn (a head's describe() must list it), e.g. stage3"},
              {"head", "string", "the first head giving the stage", "the name of the head it reads"},
              {"alpha", "number", "0.5", "weight of the heat map over the image"},
              {"min_size", "int", "256", "small images are enlarged to this short side"},
              {"format", "string", "png", "png or jpg; the file is the input's name plus .FORMAT (cat.jpg.png)"}});
}

}  // namespace visbone::pipeline
