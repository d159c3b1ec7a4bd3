// `embedding`: the pooled features as one vector per image (retrieval, clustering, linear probes), optionally
// L2-normalised so that a dot product is the cosine similarity.
//
//   {type: embedding, normalize: true}
//   {type: embedding, channels: 2048}     # rejected unless the backbone pools 2048 channels
#pragma once

#include <memory>

#include "visbone/core/head.h"
#include "visbone/registry/params.h"

namespace visbone::heads {

class EmbeddingHead final : public Head {
 public:
  // `channels`: what the consumer expects (0: any).
  explicit EmbeddingHead(bool normalize = false, int channels = 0);

  // The registry factory: params normalize, channels.
  static std::unique_ptr<EmbeddingHead> create(const registry::Params& params, HeadContext& context);

  bool normalize() const { return normalize_; }
  HeadNeeds needs() const override;
  HeadDescription describe() const override { return {"embedding", 0, {}, {}}; }
  // (N, C) embeddings of a batch.
  Tensor embeddings(const ForwardResult& features) const;
  // Per input: tensor embedding (C); record {"embedding": [...]}.
  std::vector<HeadResult> run(const ForwardResult& features) const override;

 private:
  bool normalize_;
  int channels_;
};

}  // namespace visbone::heads
