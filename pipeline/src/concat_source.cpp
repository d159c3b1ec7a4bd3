// Several sources one after the other (`sources:` in the YAML).
#include "visbone/pipeline/concat_source.h"

namespace visbone::pipeline {

namespace {

class ConcatSource : public Source {
 public:
  explicit ConcatSource(std::vector<std::unique_ptr<Source>> s) : sources_(std::move(s)) {}
  std::optional<SourceItem> next() override {
    while (i_ < sources_.size()) {
      if (auto item = sources_[i_]->next()) return item;
      ++i_;
    }
    return std::nullopt;
  }
  std::string describe() const override {
    std::string s;
    for (const auto& source : sources_) s += (s.empty() ? "" : "; ") + source->describe();
    return s;
  }
  std::vector<std::filesystem::path> reads() const override {
    std::vector<std::filesystem::path> all;
    for (const auto& s : sources_)
      for (auto& p : s->reads()) all.push_back(std::move(p));
    return all;
  }
  std::optional<std::uint64_t> count() override {
    std::uint64_t n = 0;
    for (auto& s : sources_) {
      const auto c = s->count();
      if (!c) return std::nullopt;
      n += *c;
    }
    return n;
  }

 private:
  std::vector<std::unique_ptr<Source>> sources_;
  std::size_t i_ = 0;
};

}  // namespace

std::unique_ptr<Source> concat_sources(std::vector<std::unique_ptr<Source>> sources) {
  if (sources.size() == 1) return std::move(sources.front());
  return std::make_unique<ConcatSource>(std::move(sources));
}

}  // namespace visbone::pipeline
