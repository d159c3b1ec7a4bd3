#include "visbone/heads/components.h"

#include "visbone/heads/classification_head.h"
#include "visbone/heads/embedding_head.h"
#include "visbone/heads/feature_maps_head.h"
#include "visbone/heads/knn_head.h"

namespace visbone::heads {

void register_components(registry::ComponentRegistrar& r) {
  r.add_head("classification",
             "linear classifier on the pooled features (the checkpoint's or weights:), softmax, top_k labels",
             [](const registry::Params& p, HeadContext& c) { return ClassificationHead::create(p, c); },
             {{"weights", "path", "the checkpoint's classifier",
               "a safetensors file with its weight (K, C) and bias (K)"},
              {"labels", "list of strings", "the checkpoint's id2label", "the K class names"},
              {"top_k", "int", "5", "how many labels each record lists"},
              {"function_to_apply", "string", "softmax", "softmax, sigmoid or none"}});
  r.add_head("feature_maps", "the selected stages' maps (out_features/out_indices), norm: true like timm",
             [](const registry::Params& p, HeadContext& c) { return FeatureMapsHead::create(p, c); },
             {{"out_features", "list of strings", "the backbone's", "the stages"},
              {"out_indices", "list of ints", "the backbone's", "the stages by index"},
              {"channels", "list of ints", "any", "the channels each stage must have (checked when built)"},
              {"norm", "bool", "false", "the last stage after the final norm"},
              {"layout", "string", "nchw", "nchw or nhwc"}});
  r.add_head("embedding", "pooled features per image, optionally L2-normalised (normalize: true)",
             [](const registry::Params& p, HeadContext& c) { return EmbeddingHead::create(p, c); },
             {{"normalize", "bool", "false", "L2-normalise each embedding"},
              {"channels", "int", "any", "the width the pooled features must have (checked when built)"}});
  r.add_head("knn", "exact top-k gallery ids and cosine scores (gallery: safetensors of embeddings + ids)",
             [](const registry::Params& p, HeadContext& c) { return KnnHead::create(p, c); },
             {{"gallery", "path", "(required)", "safetensors of (N, C) embeddings with their ids"},
              {"k", "int", "5", "neighbours per input"},
              {"tensor", "string", "its only 2-D tensor", "the gallery's tensor"}});
}

}  // namespace visbone::heads
