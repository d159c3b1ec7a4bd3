// A plugin source and a plugin sink, built as a shared module like plugins/tiny_cnn_backbone, that use every
// capability the built-in ones have: the source counts its items (the progress total), hands over decoded
// frames and describes itself (the summary); the sink draws on the decoded image (needs_image), picks its
// head by the heads' describe() (not their type names), reads the ranked labels, and names its file for the
// summary, and says how a sharded run's parts of its file merge. run_cli_test.cpp runs them from a YAML file
// through `visbone run` (and `visbone run --shard` + `visbone merge`).
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "visbone/core/errors.h"
#include "visbone/registry/plugin_api.h"

namespace {

namespace fs = std::filesystem;
using visbone::Item;
using visbone::SinkContext;
using visbone::SourceContext;
using visbone::SourceItem;
using visbone::registry::Params;

// Frames of a horizontal gradient, brighter with each index: decoded pixels, no file behind them.
class GradientFrames final : public visbone::Source {
 public:
  GradientFrames(int count, int size) : count_(count), size_(size) {}
  std::optional<SourceItem> next() override {
    if (next_ == count_) return std::nullopt;
    SourceItem item;
    item.id = "gradient/" + std::to_string(next_);
    item.image = visbone::image::Image(size_, size_, 3);
    for (int y = 0; y < size_; ++y)
      for (int x = 0; x < size_; ++x)
        for (int c = 0; c < 3; ++c) item.image.at(y, x, c) = static_cast<std::uint8_t>((x * 255 / size_ + next_ * 9) % 256);
    item.decoded = true;
    ++next_;
    return item;
  }
  std::optional<std::uint64_t> count() override { return static_cast<std::uint64_t>(count_); }
  std::string describe() const override {
    return "gradient_frames (" + std::to_string(count_) + " frames of " + std::to_string(size_) + "x" +
           std::to_string(size_) + ")";
  }

 private:
  int count_, size_;
  int next_ = 0;
};

// One line per input: id, the decoded image's size, and the top label of the head that describes itself as
// classifying.
class Tally final : public visbone::Sink {
 public:
  Tally(fs::path path, std::size_t head, std::string head_name)
      : path_(std::move(path)), head_(head), head_name_(std::move(head_name)) {}
  bool needs_image() const override { return true; }
  void write(const Item& item) override {
    text_ += item.id + " " + std::to_string(item.image.width()) + "x" + std::to_string(item.image.height());
    if (item.failed())
      text_ += " error";
    else if (!item.top_k[head_].empty())
      text_ += " " + head_name_ + "=" + item.top_k[head_].front().label;
    text_ += "\n";
  }
  void finish() override {
    const fs::path tmp = path_.string() + ".tmp";
    {
      std::ofstream out(tmp);
      out << text_;
      if (!out.flush()) throw visbone::IoError(tmp.string() + ": cannot write");
    }
    fs::rename(tmp, path_);
  }
  fs::path path() const override { return path_; }
  std::string describe() const override { return "tally -> " + path_.string(); }
  // Lines per input: a sharded run's parts merge by concatenation, as JSON Lines do.
  std::vector<visbone::SinkOutput> outputs() const override {
    return {{path_, visbone::MergeRule::concatenate}};
  }

 private:
  fs::path path_;
  std::size_t head_;
  std::string head_name_;
  std::string text_;
};

std::unique_ptr<visbone::Source> make_frames(const Params& p, const SourceContext&) {
  const int count = p.get<int>("count");
  const int size = p.get<int>("size", 32);
  if (count < 0 || size < 1 || size > 4096) p.fail("count", "expected count >= 0 and size 1..4096");
  return std::make_unique<GradientFrames>(count, size);
}

std::unique_ptr<visbone::Sink> make_tally(const Params& p, const SinkContext& ctx) {
  const fs::path path = ctx.output_path(p.get<std::string>("path"));
  for (std::size_t h = 0; h < ctx.heads.size(); ++h)
    if (ctx.heads[h].description.kind == "classification")
      return std::make_unique<Tally>(path, h, ctx.heads[h].name);
  p.fail("type", "needs a head that describes itself as classification");
}

void register_components(visbone::registry::ComponentRegistrar& r) {
  r.add_source("gradient_frames", "decoded gradient frames (a test plugin source)", make_frames,
               {{"count", "int", "(required)", "frames to make"}, {"size", "int", "32", "frame edge in pixels"}});
  r.add_sink("tally", "a line per input with its top label (a test plugin sink)", make_tally,
             {{"path", "path", "(required)", "the text file to write"}});
}

}  // namespace

VISBONE_PLUGIN("test_io", "1.0", "a test plugin source and sink with a built-in's capabilities", register_components)
