#include "visbone/heads/feature_maps_head.h"

#include <algorithm>

#include "visbone/core/errors.h"
#include "visbone/core/stage_selection.h"

namespace visbone::heads {

FeatureMapsHead::FeatureMapsHead(std::vector<std::string> stages, std::vector<int> channels,
                                 std::string normed_stage, Layout layout)
    : stages_(std::move(stages)), channels_(std::move(channels)), normed_stage_(std::move(normed_stage)),
      layout_(layout) {
  if (stages_.empty()) throw ConfigError("feature_maps head: no stages selected");
  if (channels_.empty()) channels_.assign(stages_.size(), 0);
  if (channels_.size() != stages_.size())
    throw ConfigError("feature_maps head: " + std::to_string(channels_.size()) + " channel counts for " +
                      std::to_string(stages_.size()) + " stages " + py_repr(stages_));
  if (!normed_stage_.empty() && std::find(stages_.begin(), stages_.end(), normed_stage_) == stages_.end())
    throw ConfigError("feature_maps head: the normed stage '" + normed_stage_ + "' is not among " +
                      py_repr(stages_));
}

std::unique_ptr<FeatureMapsHead> FeatureMapsHead::create(const registry::Params& p, HeadContext& context) {
  const Backbone& backbone = context.backbone;
  const auto names = backbone.stage_names();
  const auto features = p.find<std::vector<std::string>>("out_features");
  const auto indices = p.find<std::vector<int>>("out_indices");
  std::vector<std::string> stages;
  if (indices) {
    // Indices only mean something against the backbone's stages: resolve them the way transformers does.
    try {
      stages = resolve_stage_selection(names, features, indices).out_features;
    } catch (const ConfigError& e) {
      p.fail("out_indices",
             std::string(e.what()) + "; the backbone gives " + describe_output_shape(backbone));
    }
  } else if (features) {
    // Names are kept as given: a stage the backbone lacks is reported by the needs check with both shapes.
    stages = *features;
    if (stages.empty()) p.fail("out_features", "is empty; select at least one stage");
  } else {
    stages = backbone.out_features();
  }

  std::vector<int> channels;
  if (p.has("channels")) {
    channels = p.get<std::vector<int>>("channels");
    if (channels.size() != stages.size())
      p.fail("channels", "has " + std::to_string(channels.size()) + " counts for the " +
                             std::to_string(stages.size()) + " stages " + py_repr(stages));
  } else {
    const auto shapes = backbone.output_shape();
    for (const auto& s : stages) channels.push_back(shapes.count(s) ? shapes.at(s).channels : 0);
  }

  std::string normed;
  if (p.get<bool>("norm", false)) {
    if (names.empty()) p.fail("norm", "the backbone reports no stages");
    if (std::find(stages.begin(), stages.end(), names.back()) == stages.end())
      p.fail("norm", "applies the final norm to the backbone's last stage '" + names.back() +
                         "', which is not selected (stages " + py_repr(stages) + ")");
    normed = names.back();
  }
  Layout layout = Layout::Nchw;
  if (const auto text = p.find<std::string>("layout")) {
    const auto parsed = parse_layout(*text);
    if (!parsed) p.fail("layout", "is '" + *text + "', expected nchw or nhwc");
    layout = *parsed;
  }
  return std::make_unique<FeatureMapsHead>(std::move(stages), std::move(channels), std::move(normed), layout);
}

HeadNeeds FeatureMapsHead::needs() const {
  HeadNeeds n;
  for (std::size_t i = 0; i < stages_.size(); ++i) {
    if (stages_[i] == normed_stage_) {
      n.last_hidden_state = true;
      n.last_hidden_state_channels = channels_[i];
    } else {
      n.stages.push_back({stages_[i], channels_[i]});
    }
  }
  return n;
}

std::vector<Tensor> FeatureMapsHead::feature_maps(const ForwardResult& features) const {
  std::vector<Tensor> maps;
  for (const auto& s : stages_) {
    const Tensor* t = nullptr;
    if (s == normed_stage_) {
      t = &features.last_hidden_state;
    } else if (const auto it = features.stages.find(s); it != features.stages.end()) {
      t = &it->second;
    }
    if (!t || t->empty() || t->rank() != 4)
      throw ShapeError("feature_maps head: the forward result has no " +
                       (s == normed_stage_ ? "last_hidden_state (normed " + s + ")" : "stage '" + s + "'") +
                       " map; run the backbone with this head's needs().request()");
    maps.push_back(*t);
  }
  return maps;
}

std::vector<HeadResult> FeatureMapsHead::run(const ForwardResult& features) const {
  const auto maps = feature_maps(features);
  const std::int64_t n = maps.front().dim(0);
  std::vector<HeadResult> out(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < stages_.size(); ++i) {
    const Tensor& m = maps[i];
    for (std::int64_t b = 0; b < n; ++b) {
      auto& r = out[static_cast<std::size_t>(b)];
      const Tensor map = to_layout(m.slice(b, b + 1).view({m.dim(1), m.dim(2), m.dim(3)}), layout_);
      r.tensors.emplace_back(stages_[i], map);
      if (!r.record.contains("feature_maps")) r.record["feature_maps"] = boost::json::object{};
      r.record["feature_maps"].as_object()[stages_[i]] = boost::json::value_from(map.shape());
    }
  }
  return out;
}

}  // namespace visbone::heads
