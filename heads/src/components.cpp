#include "visbone/heads/components.h"

#include "visbone/heads/classification_head.h"
#include "visbone/heads/embedding_head.h"
#include "visbone/heads/feature_maps_head.h"
#include "visbone/heads/knn_head.h"

namespace visbone::heads {

void register_components(registry::ComponentRegistrar& r) {
  r.add_head("classification",
             "linear classifier on the pooled features (the checkpoint's or weights:), softmax, top_k labels",
             [](const registry::Params& p, HeadContext& c) { return ClassificationHead::create(p, c); });
  r.add_head("feature_maps", "the selected stages' maps (out_features/out_indices), norm: true like timm",
             [](const registry::Params& p, HeadContext& c) { return FeatureMapsHead::create(p, c); });
  r.add_head("embedding", "pooled features per image, optionally L2-normalised (normalize: true)",
             [](const registry::Params& p, HeadContext& c) { return EmbeddingHead::create(p, c); });
  r.add_head("knn", "exact top-k gallery ids and cosine scores (gallery: safetensors of embeddings + ids)",
             [](const registry::Params& p, HeadContext& c) { return KnnHead::create(p, c); });
}

}  // namespace visbone::heads
