// The inputs of one shard: a source that skips to the shard's range and stops at its end.
#include "shard_source.h"

namespace visbone::pipeline {

namespace {

class ShardSource : public Source {
 public:
  ShardSource(std::unique_ptr<Source> inner, ShardRange range) : inner_(std::move(inner)), range_(range) {}
  std::optional<SourceItem> next() override {
    // Skipped inputs are only listed (a file source does not read them); a video decodes its frames.
    for (; at_ < range_.begin; ++at_)
      if (!inner_->next()) return std::nullopt;
    if (at_ >= range_.end) return std::nullopt;
    ++at_;
    return inner_->next();
  }
  std::optional<std::uint64_t> count() override { return range_.end - range_.begin; }
  std::string describe() const override {
    return inner_->describe() + " (inputs " + std::to_string(range_.begin) + ".." + std::to_string(range_.end) + ")";
  }

 private:
  std::unique_ptr<Source> inner_;
  ShardRange range_;
  std::uint64_t at_ = 0;
};

}  // namespace

std::unique_ptr<Source> shard_source(std::unique_ptr<Source> source, ShardRange range) {
  return std::make_unique<ShardSource>(std::move(source), range);
}

}  // namespace visbone::pipeline
