#include "visbone/bit/bit_presets.h"

#include <algorithm>

#include "visbone/core/errors.h"
#include "visbone/core/stage_selection.h"

namespace visbone::bit {
namespace {

// BiT's ResNetV2-{50,101,152}x{width}: the stem and every stage widen with the width factor.
BitConfig architecture(std::vector<int> depths, int width) {
  BitConfig c;
  c.depths = std::move(depths);
  c.width_factor = width;
  c.embedding_size = make_div(64.0 * width);
  return c;
}

BitPreset released(const std::string& layers, std::vector<int> depths, int width) {
  const std::string name = "R" + layers + "x" + std::to_string(width);
  const std::string timm = "resnetv2_" + layers + "x" + std::to_string(width) + "_bit";
  return {name,
          "BiT ResNetV2-" + layers + "x" + std::to_string(width) + " (timm " + timm +
              "); weights from its checkpoint: key (a folder, a .npz file or a hub id)",
          "",
          timm,
          architecture(std::move(depths), width),
          1000};
}

std::vector<BitPreset> make_presets() {
  std::vector<BitPreset> p;
  BitConfig bit50;  // transformers' BitConfig defaults are google/bit-50's architecture
  bit50.id2label.clear();
  for (int i = 0; i < 1000; ++i) bit50.id2label[i] = "LABEL_" + std::to_string(i);
  p.push_back({"bit-50", "BiT-M R50x1 fine-tuned on ImageNet-1k (google/bit-50 from the hub, or checkpoint:)",
               "google/bit-50", "resnetv2_50x1_bit", bit50, 1000});
  p.push_back(released("50", {3, 4, 6, 3}, 1));
  p.push_back(released("50", {3, 4, 6, 3}, 3));
  p.push_back(released("101", {3, 4, 23, 3}, 1));
  p.push_back(released("101", {3, 4, 23, 3}, 3));
  p.push_back(released("152", {3, 8, 36, 3}, 2));
  p.push_back(released("152", {3, 8, 36, 3}, 4));
  // transformers' ViTHybridConfig default backbone: bottleneck units, TF-style SAME padding, three stages,
  // the ViT patch embedding reading stage3 (stride 16).
  BitConfig hybrid;
  hybrid.layer_type = LayerType::Bottleneck;
  hybrid.global_padding = Padding::Same;
  hybrid.embedding_dynamic_padding = true;
  hybrid.depths = {3, 4, 9};
  hybrid.hidden_sizes = {256, 512, 1024};
  hybrid.out_features = {"stage3"};
  hybrid.out_indices = {3};
  p.push_back({"vit-hybrid-bit",
               "ViT-hybrid's BiT: bottleneck, SAME, 3 stages (google/vit-hybrid-base-bit-384 from the hub, or "
               "checkpoint:)",
               "google/vit-hybrid-base-bit-384", "", hybrid, 0});
  for (const auto& preset : p) preset.config.validate();
  return p;
}

}  // namespace

const std::vector<BitPreset>& bit_presets() {
  static const std::vector<BitPreset> presets = make_presets();
  return presets;
}

const BitPreset& bit_preset(std::string_view name) {
  for (const auto& p : bit_presets())
    if (p.name == name) return p;
  std::vector<std::string> names;
  for (const auto& p : bit_presets()) names.push_back(p.name);
  throw NotFoundError("no BiT preset named '" + std::string(name) + "'; presets are " + py_repr(names));
}

std::map<std::string, std::string> bit_preset_hub_ids() {
  std::map<std::string, std::string> ids;
  for (const auto& p : bit_presets()) ids.emplace(p.name, p.model_id);
  return ids;
}

std::int64_t parameter_count(const BitConfig& c, int num_labels) {
  c.validate();
  if (num_labels < 0)
    throw ConfigError("parameter_count: num_labels is " + std::to_string(num_labels) + ", expected >= 0");
  const bool preact = c.layer_type == LayerType::Preactivation;
  const std::int64_t emb = c.embedding_size;
  std::int64_t n = emb * c.num_channels * 7 * 7;  // the stem's 7x7 convolution
  if (!preact) n += 2 * emb;                      // its GroupNorm (bottleneck models only)
  std::int64_t prev = emb;
  for (std::size_t s = 0; s < c.depths.size(); ++s) {
    const std::int64_t out = c.stage_channels(static_cast<int>(s) + 1);
    const std::int64_t mid = make_div(static_cast<double>(out) * 0.25);
    for (int l = 0; l < c.depths[s]; ++l) {
      const std::int64_t in = l == 0 ? prev : out;
      n += mid * in + 9 * mid * mid + out * mid;  // conv1 (1x1), conv2 (3x3), conv3 (1x1)
      // Preactivation units normalise their input, the bottleneck and the bottleneck again; bottleneck units
      // normalise after each convolution.
      n += preact ? 2 * (in + mid + mid) : 2 * (mid + mid + out);
      if (l == 0) n += out * in + (preact ? 0 : 2 * out);  // the downsample projection (+ its norm)
    }
    prev = out;
  }
  if (preact) n += 2 * prev;  // the final norm
  if (num_labels > 0) n += static_cast<std::int64_t>(num_labels) * (prev + 1);
  return n;
}

bool same_architecture(const BitConfig& a, const BitConfig& b, std::string* difference) {
  auto differ = [&](const std::string& what, const std::string& va, const std::string& vb) {
    if (difference) *difference = what + " " + va + " vs " + vb;
    return false;
  };
  if (a.layer_type != b.layer_type)
    return differ("layer_type", to_string(a.layer_type), to_string(b.layer_type));
  if (a.depths != b.depths) return differ("depths", py_repr(a.depths), py_repr(b.depths));
  if (a.num_channels != b.num_channels)
    return differ("num_channels", std::to_string(a.num_channels), std::to_string(b.num_channels));
  if (a.embedding_size != b.embedding_size)
    return differ("embedding_size (stem width)", std::to_string(a.embedding_size),
                  std::to_string(b.embedding_size));
  for (int s = 1; s <= static_cast<int>(a.depths.size()); ++s)
    if (a.stage_channels(s) != b.stage_channels(s))
      return differ("stage" + std::to_string(s) + " channels (hidden_sizes x width_factor)",
                    std::to_string(a.stage_channels(s)), std::to_string(b.stage_channels(s)));
  if (a.global_padding != b.global_padding)
    return differ("global_padding", to_string(a.global_padding), to_string(b.global_padding));
  if (a.embedding_dynamic_padding != b.embedding_dynamic_padding)
    return differ("embedding_dynamic_padding", a.embedding_dynamic_padding ? "true" : "false",
                  b.embedding_dynamic_padding ? "true" : "false");
  if (a.num_groups != b.num_groups)
    return differ("num_groups", std::to_string(a.num_groups), std::to_string(b.num_groups));
  return true;
}

}  // namespace visbone::bit
