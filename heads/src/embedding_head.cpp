#include "visbone/heads/embedding_head.h"

#include "visbone/core/errors.h"
#include "visbone/core/l2_normalize.h"

namespace visbone::heads {

EmbeddingHead::EmbeddingHead(bool normalize, int channels) : normalize_(normalize), channels_(channels) {
  if (channels_ < 0)
    throw ConfigError("embedding head: channels is " + std::to_string(channels_) + ", expected >= 0");
}

std::unique_ptr<EmbeddingHead> EmbeddingHead::create(const registry::Params& p, HeadContext&) {
  const int channels = p.get<int>("channels", 0);
  if (channels < 0)
    p.fail("channels", "is " + std::to_string(channels) + ", expected a positive channel count");
  return std::make_unique<EmbeddingHead>(p.get<bool>("normalize", false), channels);
}

HeadNeeds EmbeddingHead::needs() const {
  HeadNeeds n;
  n.pooled = true;
  n.pooled_channels = channels_;
  return n;
}

Tensor EmbeddingHead::embeddings(const ForwardResult& features) const {
  const Tensor& p = features.pooled;
  if (p.empty() || (p.rank() != 2 && p.rank() != 4))
    throw ShapeError("embedding head: pooled features " + shape_str(p.shape()) + ", expected (N, C)");
  Tensor e = p.clone().view({p.dim(0), p.numel() / p.dim(0)});
  if (normalize_) l2_normalize_rows(e);
  return e;
}

std::vector<HeadResult> EmbeddingHead::run(const ForwardResult& features) const {
  const Tensor e = embeddings(features);
  const std::int64_t c = e.dim(1);
  std::vector<HeadResult> out;
  for (std::int64_t b = 0; b < e.dim(0); ++b) {
    HeadResult r;
    const Tensor row = e.slice(b, b + 1).view({c});
    r.record["embedding"] = boost::json::array(row.begin(), row.end());
    r.tensors.emplace_back("embedding", row);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace visbone::heads
