// The BiT family by name: each preset knows its architecture (a BitConfig), the transformers model id of its
// released weights (when the hub has them in transformers' format) and its timm name. Presets let a pipeline
// say `type: R50x3` and load timm or .npz weights whose files do not carry the architecture, and let tools
// report a model's size from the config alone.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "visbone/bit/bit_config.h"

namespace visbone::bit {

struct BitPreset {
  std::string name;         // "bit-50", "R50x3", "vit-hybrid-bit"
  std::string description;  // one line
  std::string model_id;     // transformers hub id; empty when the hub has no transformers BiT checkpoint
  std::string timm_name;    // timm architecture; empty when timm has none
  BitConfig config;         // the architecture (labels: transformers' default unless the preset has a head)
  int num_labels = 0;       // classes of the released head that parameter_count() counts; 0 = no head
};

// bit-50, R50x1, R50x3, R101x1, R101x3, R152x2, R152x4, vit-hybrid-bit.
const std::vector<BitPreset>& bit_presets();
// NotFoundError listing the presets (and the closest one) for an unknown name.
const BitPreset& bit_preset(std::string_view name);
// Each preset's name -> its model_id, as the model resolver takes presets (ModelNameRules::presets).
std::map<std::string, std::string> bit_preset_hub_ids();

// Parameters of a model with this config, from the config alone: convolution weights, GroupNorm affine
// parameters, and a linear classifier over the pooled features for num_labels classes (0: none). Follows the
// layers transformers builds (a downsample projection in every stage's first unit, a final norm only in
// preactivation models).
std::int64_t parameter_count(const BitConfig& config, int num_labels);

// Whether `a` builds the same layers as `b` (stem, stages, widths, layer type, padding); `difference` says
// what differs first when they do not.
bool same_architecture(const BitConfig& a, const BitConfig& b, std::string* difference = nullptr);

}  // namespace visbone::bit
