// Plugin sources and sinks speak the registry's interfaces (visbone::Source, visbone::Sink); these adapters
// let them take part in the pipeline next to the built-in ones.
#include "sink_support.h"
#include "visbone/pipeline/source.h"

namespace visbone::pipeline {

namespace {

class PluginSource : public Source {
 public:
  explicit PluginSource(std::unique_ptr<visbone::Source> s) : source_(std::move(s)) {}
  std::optional<SourceItem> next() override {
    auto in = source_->next();
    if (!in) return std::nullopt;
    SourceItem out;
    out.id = std::move(in->id);
    out.path = std::move(in->path);
    out.label = std::move(in->label);
    out.bytes = std::move(in->bytes);
    if (out.bytes.empty() && out.path.empty())
      out.error = out.id + ": the source gave neither bytes nor a path";
    return out;
  }
  // The interface has no count; progress then shows a rate without an ETA.
  std::optional<std::uint64_t> count() override { return std::nullopt; }

 private:
  std::unique_ptr<visbone::Source> source_;
};

class PluginSink : public Sink {
 public:
  PluginSink(std::unique_ptr<visbone::Sink> s, std::vector<HeadInfo> heads, std::string name)
      : sink_(std::move(s)), heads_(std::move(heads)), name_(std::move(name)) {}
  void write(const Item& item) override {
    SinkRecord r;
    r.seq = item.seq;
    r.id = item.id;
    r.label = item.label;
    r.error = item.error;
    for (std::size_t i = 0; i < item.heads.size() && i < heads_.size(); ++i)
      r.heads[heads_[i].name] = item.heads[i];
    sink_->write(r);
  }
  void finish() override { sink_->close(); }
  std::string describe() const override { return name_ + " (plugin sink)"; }

 private:
  std::unique_ptr<visbone::Sink> sink_;
  std::vector<HeadInfo> heads_;
  std::string name_;
};

}  // namespace

std::unique_ptr<Source> adapt_source(std::unique_ptr<visbone::Source> source) {
  return std::make_unique<PluginSource>(std::move(source));
}

namespace detail {

std::unique_ptr<Sink> adapt_sink(std::unique_ptr<visbone::Sink> sink, std::vector<HeadInfo> heads,
                                 std::string name) {
  return std::make_unique<PluginSink>(std::move(sink), std::move(heads), std::move(name));
}

}  // namespace detail
}  // namespace visbone::pipeline
