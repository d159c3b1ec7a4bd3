// Heads by name, as a pipeline's YAML names them, for programs that run the backbone themselves:
//
//   auto head = visbone::make_head("{type: classification, top_k: 5}", *backbone);
//   std::vector<visbone::HeadResult> per_image = visbone::run_head(*backbone, *head, pixel_values);
//   // per_image[i].record["predictions"] = [{"label": "tabby", "score": 0.61, "index": 281}, ...]
//
// Your own head, in-process (no plugin library needed):
//
//   visbone::default_registry().add_head("my_head", "what it does",
//       [](const visbone::registry::Params& p, visbone::HeadContext& ctx) {
//         return std::make_unique<MyHead>(p.get<std::string>("stage"), ctx.backbone.output_shape());
//       });
//   auto mine = visbone::make_head("{type: my_head, stage: stage3}", *backbone);
//
// The built-in heads (classification, feature_maps, embedding) and their parameters are described in
// heads/classification_head.h, feature_maps_head.h and embedding_head.h; the Head contract in core/head.h.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "visbone/api/image_processor.h"
#include "visbone/core/backbone.h"
#include "visbone/core/head.h"
#include "visbone/core/tensor.h"
#include "visbone/registry/params.h"
#include "visbone/registry/registry.h"

namespace visbone {

// The process-wide registry make_head and load_backbone's callers share. On first use it holds what
// register_builtins registers: the built-in backbones (`bit` and the presets, hub ids fetched into the hub
// cache) and heads (classification, feature_maps, embedding). Add components with its add_head / add_backbone / add_source / add_sink, and
// plugin libraries with registry::load_plugin(visbone::default_registry(), "path/to/plugin.so").
//
// Thread-safety: the first call (which registers the built-ins) may come from any number of threads at once.
// Registering is not synchronised: register your components before other threads make heads, then building
// from several threads at once is safe (building only reads the registry).
registry::Registry& default_registry();

struct HeadOptions {
  // Relative paths in the spec (weights:, labels:, reference images) resolve against this folder; empty: the
  // working folder.
  std::filesystem::path base_dir{};
  // Turns reference image files into backbone input for heads that embed images when they are built (the
  // few-shot prototype plugin). Default: ImageProcessor() (transformers' BitImageProcessor defaults); give
  // the checkpoint's processor (ImageProcessor::from_pretrained) so references are preprocessed like inputs.
  std::optional<ImageProcessor> processor{};
};

// Builds the head `spec` names from `registry` and checks its needs against `backbone`'s output_shape().
// `spec` is YAML: a mapping ("{type: classification, top_k: 5}", as in a pipeline's heads: list) or just a
// type name ("embedding"). Errors: ConfigError for invalid YAML, a missing type or a parameter the head does
// not take (with the closest one it does); NotFoundError for an unregistered type (listing the registered
// ones); ShapeError when the backbone cannot feed the head (both shapes given). Thread-safe as building from
// the registry is (see default_registry()); `backbone` may be run by heads that embed references.
std::unique_ptr<Head> make_head(std::string_view spec, Backbone& backbone, const HeadOptions& options = {});
std::unique_ptr<Head> make_head(std::string_view spec, Backbone& backbone, const registry::Registry& registry,
                                const HeadOptions& options = {});
// With parameters already parsed (their `where` names them in messages).
std::unique_ptr<Head> make_head(const registry::Params& spec, Backbone& backbone,
                                const registry::Registry& registry, const HeadOptions& options = {});

// One forward pass of `batch` (float32 N, C, H, W) asking for what `head` needs, then the head's results:
// one HeadResult per image. Errors are forward()'s and the head's. Thread-safe (heads keep no state between
// calls; the backbone serialises its passes).
std::vector<HeadResult> run_head(Backbone& backbone, const Head& head, const Tensor& batch);
// Several heads fed by one forward pass (their needs merged): results[h][i] is head h's result for image i.
std::vector<std::vector<HeadResult>> run_heads(Backbone& backbone,
                                               const std::vector<std::unique_ptr<Head>>& heads,
                                               const Tensor& batch);

}  // namespace visbone
