// `knn`: exact nearest neighbours of each input's pooled features in a gallery of embeddings, by cosine
// similarity: the top k gallery ids with their scores.
//
//   {type: knn, gallery: gallery.safetensors, k: 5}
//   {type: knn, gallery: g.safetensors, tensor: embedding, k: 10}
//
// The gallery is a safetensors file with one (N, C) tensor (`tensor:`, default: its only 2-D tensor) and the
// N ids as a JSON list in the metadata key "ids": what the `embedding_index` sink (or a `safetensors` sink with
// `stack: true`) writes for an embedding head. Gallery rows and queries are L2-normalised; the scores are one oneDNN matmul (queries x
// gallery^T, blocked GEMM) per batch, then a top-k per query: score descending, ties ordered by id, then by
// gallery row (numpy's lexsort order). Exact brute force: no index, no approximation.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "visbone/core/head.h"
#include "visbone/registry/params.h"

namespace visbone::heads {

class KnnHead final : public Head {
 public:
  // `embeddings`: (N, C) gallery rows (normalised here); `ids`: N names. ConfigError for k < 1, an empty
  // gallery or ids of another count.
  KnnHead(Tensor embeddings, std::vector<std::string> ids, int k);

  // Reads the gallery file (FormatError naming it and the tensor / metadata key when it is not one).
  static std::unique_ptr<KnnHead> from_file(const std::filesystem::path& gallery, const std::string& tensor,
                                            int k);
  // The registry factory: params gallery, k (default 5), tensor. The gallery's width must be the backbone's
  // pooled width (ConfigError with both).
  static std::unique_ptr<KnnHead> create(const registry::Params& params, HeadContext& context);

  int k() const { return k_; }
  std::int64_t size() const { return gallery_.dim(0); }
  HeadNeeds needs() const override;
  HeadDescription describe() const override { return {"knn", k_, {}, {}}; }

  struct Neighbours {
    std::vector<std::int64_t> rows;  // gallery rows, best first
    std::vector<float> scores;       // their cosine similarities
  };
  // The min(k, N) nearest gallery rows of each row of (B, C) queries.
  std::vector<Neighbours> search(const Tensor& queries) const;
  // Per input: record {"neighbors": [{"id", "score"}, ...]}; tensors scores (k) and rows (k, as float32:
  // exact up to 2^24 rows).
  std::vector<HeadResult> run(const ForwardResult& features) const override;

 private:
  Tensor gallery_;  // (N, C), unit rows
  std::vector<std::string> ids_;
  int k_;
};

}  // namespace visbone::heads
