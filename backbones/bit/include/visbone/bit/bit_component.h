// The BiT backbones as registry components:
//
//   backbone: {type: bit, checkpoint: path/or/hub-id, out_features: [stage2, stage4]}
//   backbone: {type: bit, config: {depths: [1, 1], hidden_sizes: [32, 64], ...}, weights: model.safetensors}
//   backbone: {type: bit-50}                          # google/bit-50 through the hub cache
//   backbone: {type: R50x3, checkpoint: BiT-M-R50x3.npz}
//
// `checkpoint` is a transformers or timm folder, a BiT .npz file, or (with a resolver) a hub id; a preset
// checks that the weights have its architecture. `out_features` / `out_indices` override the selection.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "visbone/bit/bit_backbone.h"
#include "visbone/registry/registry.h"

namespace visbone::bit {

// Turns a hub model id (and revision) into a local folder, e.g. hub::resolve_model; supplied by programs
// that link the hub client so visbone_bit does not have to.
using ModelResolver =
    std::function<std::filesystem::path(const std::string& model_id, const std::string& revision)>;

// A local checkpoint (transformers, timm or ViT-hybrid folder, BiT .npz) as the `bit` component loads it;
// load_backbone's path for local names, so a folder loads the same through the C++ API as through YAML.
std::unique_ptr<Backbone> load_checkpoint(const std::filesystem::path& path, const BitBackboneOptions& options);

// Registers `bit` and one backbone per preset (bit_presets()). Without a resolver, hub ids are reported as
// needing one (pass a local folder as `checkpoint` instead).
void register_components(registry::ComponentRegistrar& registrar, ModelResolver resolver = {});

}  // namespace visbone::bit
