// A plugin source and sink that throw on purpose, the way foreign code can: `how: runtime_error` throws a
// std::runtime_error, `how: int` an int, `how: io` a visbone::IoError. The source throws from next() after
// `fail_at` frames (its factory, for a negative one); the sink throws from write() for the input at index
// `fail_at` (or from finish() with `in: finish`). component_isolation_test.cpp runs them through `visbone
// run`.
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "visbone/core/errors.h"
#include "visbone/registry/plugin_api.h"

namespace {

namespace fs = std::filesystem;
using visbone::registry::Params;

[[noreturn]] void throw_as(const std::string& how) {
  if (how == "int") throw 42;
  if (how == "io") throw visbone::IoError("disk on fire");
  throw std::runtime_error("thrown on purpose");
}

// Gray 32x32 frames, then a throw at frame `fail_at`.
class ThrowingFrames final : public visbone::Source {
 public:
  ThrowingFrames(int fail_at, std::string how) : fail_at_(fail_at), how_(std::move(how)) {}
  std::optional<visbone::SourceItem> next() override {
    if (next_ == fail_at_) throw_as(how_);
    visbone::SourceItem item;
    item.id = "frame/" + std::to_string(next_++);
    item.image = visbone::image::Image(32, 32, 3);
    item.decoded = true;
    return item;
  }
  std::string describe() const override { return "throwing_frames"; }

 private:
  int fail_at_;
  std::string how_;
  int next_ = 0;
};

// A line per input it was given; throws for one of them, or when finishing.
class ThrowingSink final : public visbone::Sink {
 public:
  ThrowingSink(fs::path path, int fail_at, std::string how, bool in_finish)
      : path_(std::move(path)), fail_at_(fail_at), how_(std::move(how)), in_finish_(in_finish) {}
  void write(const visbone::Item& item) override {
    if (!in_finish_ && seen_++ == fail_at_) throw_as(how_);
    text_ += item.id + "\n";
  }
  void finish() override {
    if (in_finish_) throw_as(how_);
    std::ofstream(path_) << text_;
  }
  fs::path path() const override { return path_; }
  std::string describe() const override { return "throwing -> " + path_.string(); }
  // Lines per input, so a resumable run takes it.
  std::vector<visbone::SinkOutput> outputs() const override {
    return {{path_, visbone::MergeRule::concatenate}};
  }

 private:
  fs::path path_;
  int fail_at_;
  std::string how_;
  bool in_finish_;
  int seen_ = 0;
  std::string text_;
};

std::unique_ptr<visbone::Source> make_source(const Params& p, const visbone::SourceContext&) {
  if (p.get<int>("fail_at") < 0) throw_as(p.get<std::string>("how"));  // while being built
  return std::make_unique<ThrowingFrames>(p.get<int>("fail_at"), p.get<std::string>("how"));
}

std::unique_ptr<visbone::Sink> make_sink(const Params& p, const visbone::SinkContext& ctx) {
  return std::make_unique<ThrowingSink>(ctx.output_path(p.get<std::string>("path")), p.get<int>("fail_at", 0),
                                        p.get<std::string>("how"),
                                        p.get<std::string>("in", "write") == "finish");
}

void register_components(visbone::registry::ComponentRegistrar& r) {
  r.add_source("throwing_frames", "frames, then a throw (a test plugin source)", make_source,
               {{"fail_at", "int", "(required)", "frames before the throw (< 0: the factory throws)"},
                {"how", "string", "(required)", "runtime_error, int or io"}});
  r.add_sink("throwing", "a line per input, and a throw (a test plugin sink)", make_sink,
             {{"path", "path", "(required)", "the text file to write"},
              {"fail_at", "int", "0", "the input whose write throws"},
              {"how", "string", "(required)", "runtime_error, int or io"},
              {"in", "string", "write", "write or finish"}});
}

}  // namespace

VISBONE_PLUGIN("test_throwing_io", "1.0", "a test plugin source and sink that throw", register_components)
