// `embedding_index`: a gallery for the `knn` head, from an embedding head: one (N, C) float32 tensor
// "embeddings" (rows in input order, failed inputs left out) and the N input ids as a JSON list in the
// metadata key "ids" — the file `knn`'s `gallery:` reads — and their content keys in "content_keys".
//   sinks: [{type: embedding_index, path: gallery.safetensors}]
#include <boost/json.hpp>

#include "sinks.h"
#include "visbone/core/errors.h"
#include "visbone/pipeline/safetensors_stream.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
namespace {

class EmbeddingIndexSink : public Sink {
 public:
  EmbeddingIndexSink(fs::path path, std::size_t head) : path_(std::move(path)), head_(head), out_(path_, true) {}

  void write(const Item& item) override {
    if (item.failed()) return;
    for (const auto& [name, t] : item.heads[head_].tensors)
      if (name == "embedding") {
        out_.add("embeddings", t);
        ids_.emplace_back(valid_utf8(item.id));
        keys_.emplace_back(item.content_key);
        return;
      }
    throw Error("embedding_index: the head gave no \"embedding\" tensor for " + item.id);
  }

  void finish() override {
    out_.set_metadata("ids", boost::json::serialize(boost::json::value_from(ids_)));
    out_.set_metadata("content_keys", boost::json::serialize(boost::json::value_from(keys_)));
    out_.set_metadata("format", "pt");
    out_.commit();
  }
  fs::path path() const override { return path_; }
  std::string describe() const override { return "embedding_index -> " + path_.string(); }
  std::vector<SinkOutput> outputs() const override { return {{path_, MergeRule::safetensors_stacked}}; }

 private:
  fs::path path_;
  std::size_t head_;
  SafetensorsStream out_;
  std::vector<std::string> ids_;
  std::vector<std::string> keys_;  // the rows' content keys (content_key.h)
};

std::unique_ptr<Sink> make(const registry::Params& p, const SinkContext& ctx) {
  const std::size_t head = detail::find_head(p, ctx, "embedding");
  if (ctx.heads[head].description.kind != "embedding")
    p.fail("head", "'" + ctx.heads[head].name + "' is a " + ctx.heads[head].description.kind +
                       " head; embedding_index needs an embedding head");
  return std::make_unique<EmbeddingIndexSink>(detail::output_path(p, ctx), head);
}

}  // namespace

void register_embedding_index_sink(registry::ComponentRegistrar& r) {
  r.add_sink("embedding_index", "a gallery for the knn head: the embeddings (N, C) and the inputs' ids", make,
             {{"path", "path", "(required)", "the safetensors file to write (relative to output_dir)"},
              detail::head_param("embedding")});
}

}  // namespace visbone::pipeline
