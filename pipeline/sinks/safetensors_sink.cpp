// `safetensors`: the heads' tensors (feature maps, embeddings, logits), one per input or stacked.
#include <algorithm>

#include "sinks.h"
#include "visbone/core/errors.h"
#include "visbone/core/json_writer.h"
#include "visbone/pipeline/safetensors_stream.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
namespace {

class SafetensorsSink : public Sink {
 public:
  SafetensorsSink(fs::path path, bool stack, std::vector<std::size_t> heads, std::vector<std::string> names)
      : path_(std::move(path)),
        stack_(stack),
        heads_(std::move(heads)),
        names_(std::move(names)),
        out_(path_, stack) {}

  void write(const Item& item) override {
    if (item.failed()) return;
    const std::string id = valid_utf8(item.id);
    if (stack_) {
      ids_.emplace_back(id);
      keys_.emplace_back(item.content_key);
    }
    // The same file listed twice: the second copy is told apart by its position in the input.
    const std::string prefix =
        stack_ || !keys_by_prefix_.contains(id) ? id : id + "#" + std::to_string(item.seq);
    if (!stack_) keys_by_prefix_[prefix] = item.content_key;
    for (std::size_t j = 0; j < heads_.size(); ++j) {
      for (const auto& [tensor, t] : item.heads[heads_[j]].tensors) {
        // "<head>.<tensor>", or just the head's name when the tensor is named like it (embedding).
        const std::string name = tensor == names_[j] ? tensor : names_[j] + "." + tensor;
        if (stack_) {
          out_.add(name, t);
          continue;
        }
        out_.add(prefix + "." + name, t);
      }
    }
  }

  void finish() override {
    if (stack_) {
      out_.set_metadata("ids", boost::json::serialize(boost::json::value_from(ids_)));
      out_.set_metadata("content_keys", boost::json::serialize(boost::json::value_from(keys_)));
    } else {
      out_.set_metadata("content_keys", boost::json::serialize(keys_by_prefix_));
    }
    out_.set_metadata("format", "pt");
    out_.commit();
  }
  fs::path path() const override { return path_; }
  std::string describe() const override {
    return std::string("safetensors") + (stack_ ? " (stacked)" : "") + " -> " + path_.string();
  }
  std::vector<SinkOutput> outputs() const override {
    return {{path_, stack_ ? MergeRule::safetensors_stacked : MergeRule::safetensors}};
  }

 private:
  fs::path path_;
  bool stack_;
  std::vector<std::size_t> heads_;
  std::vector<std::string> names_;  // the heads' names
  SafetensorsStream out_;
  std::vector<std::string> ids_;        // stacked mode: which input each row is
  std::vector<std::string> keys_;       // and its content key
  boost::json::object keys_by_prefix_;  // per input: "<id>" (tensors "<id>.<name>") -> its content key
};

std::unique_ptr<Sink> make(const registry::Params& p, const SinkContext& ctx) {
  const fs::path path = detail::output_path(p, ctx);
  const bool stack = p.get<bool>("stack", false);
  std::vector<std::size_t> heads;
  if (!p.has("heads")) {
    for (std::size_t i = 0; i < ctx.heads.size(); ++i)
      if (ctx.heads[i].description.kind != "classification") heads.push_back(i);
    if (heads.empty())
      p.fail("type", "no head to write besides classification heads; add a feature_maps or "
                     "embedding head, or list the heads to write with 'heads:'");
  } else {
    for (const auto& name : p.get<std::vector<std::string>>("heads")) {
      const auto it =
          std::find_if(ctx.heads.begin(), ctx.heads.end(), [&](const SinkHead& h) { return h.name == name; });
      if (it == ctx.heads.end()) p.fail("heads", "no head is named '" + name + "'");
      heads.push_back(static_cast<std::size_t>(it - ctx.heads.begin()));
    }
  }
  std::vector<std::string> names;
  for (const std::size_t h : heads) names.push_back(ctx.heads[h].name);
  return std::make_unique<SafetensorsSink>(path, stack, std::move(heads), std::move(names));
}

}  // namespace

void register_safetensors_sink(registry::ComponentRegistrar& r) {
  r.add_sink("safetensors", "the heads' tensors (feature maps, embeddings, logits) in one safetensors file", make,
             {{"path", "path", "(required)", "the file to write (relative to output_dir)"},
              {"heads", "list of strings", "all but classification heads", "the heads whose tensors are written"},
              {"stack", "bool", "false", "one (N, ...) tensor per output (ids in the metadata) instead of one per input"}});
}

}  // namespace visbone::pipeline
