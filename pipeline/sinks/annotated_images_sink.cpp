// `annotated_images`: each input with its top-k labels drawn on it, one image per input.
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
    const fs::path file = dir_ / output_name(item.id, format_);
    write_image(file, rgb, format_);
    written_.push_back(file);  // once written: a failed write leaves an earlier run's file unclaimed
  }
  void finish() override {}
  fs::path path() const override { return dir_; }
  std::string describe() const override { return "annotated_images -> " + dir_.string() + "/"; }
  std::vector<SinkOutput> outputs() const override { return {{dir_, MergeRule::shared_folder}}; }
  std::optional<std::vector<fs::path>> written_files() const override { return written_; }

 private:
  fs::path dir_;
  std::size_t head_;
  int k_, min_size_;
  std::string format_;
  std::vector<fs::path> written_;  // this run's images, for the run record
};

std::unique_ptr<Sink> make(const registry::Params& p, const SinkContext& ctx) {
  const fs::path dir = output_folder(p, ctx);
  const int top_k = in_range<int>(p, "top_k", 0, 1, 100'000);
  const int min_size = in_range<int>(p, "min_size", 256, 1, 8192);
  const std::string format = one_of(p, "format", "png", {"png", "jpg"});
  const std::size_t h = find_head(p, ctx, "classification");
  return std::make_unique<AnnotatedImagesSink>(dir, h, columns_top_k(top_k, ctx.heads[h]), min_size, format);
}

}  // namespace

void register_annotated_images_sink(registry::ComponentRegistrar& r) {
  r.add_sink("annotated_images", "each input with its top-k labels drawn on it, one image per input", make,
             {{"path", "path", "(required)", "the folder to write images to (relative to output_dir)"},
              head_param("classification"),
              {"top_k", "int", "the head's top_k", "labels shown"},
              {"min_size", "int", "256", "small images are enlarged to this short side"},
              {"format", "string", "png", "png or jpg; the file is the input's name plus .FORMAT (cat.jpg.png)"}});
}

}  // namespace visbone::pipeline
