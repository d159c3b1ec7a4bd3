#include "visbone/bit/bit_backbone.h"

#include <algorithm>

#include "visbone/bit/checkpoint_formats.h"
#include "visbone/core/checkpoint.h"
#include "visbone/core/safetensors.h"

#include <boost/json.hpp>
#include "visbone/core/errors.h"

namespace visbone::bit {

BitBackbone::BitBackbone(std::shared_ptr<BitModel> model, const BitBackboneOptions& options)
    : model_(std::move(model)) {
  const auto& c = model_->config();
  const bool given = options.out_features || options.out_indices;
  std::optional<std::vector<std::string>> features = given ? options.out_features : c.out_features;
  const std::optional<std::vector<int>> indices = given ? options.out_indices : c.out_indices;
  // timm's stem_conv tap (timm-origin models) is selected by name; it has no index among stage_names
  // (transformers' numbering), so it is in out_features only, first, as the shallowest.
  bool stem_conv = false;
  if (features && output_shape().count(kStemConv)) {
    const auto at = std::find(features->begin(), features->end(), kStemConv);
    if (at != features->end() && at != features->begin())
      throw ConfigError("out_features must be in the same order as stage_names, with stem_conv first; got " +
                        py_repr(*features));
    stem_conv = at != features->end();
    if (stem_conv) features->erase(at);
  }
  selection_ = resolve_stage_selection(stage_names(), features, indices, /*allow_empty=*/stem_conv);
  if (stem_conv) selection_.out_features.insert(selection_.out_features.begin(), kStemConv);
  if (options.winograd) model_->set_algorithm(*options.winograd ? ConvAlgorithm::Winograd : ConvAlgorithm::Direct);
  if (options.algorithm) model_->set_algorithm(*options.algorithm);
  if (options.precision) model_->set_precision(*options.precision);
  if (options.primitive_cache) model_->set_primitive_cache(*options.primitive_cache);
}

std::unique_ptr<BitBackbone> BitBackbone::from_pretrained(const std::filesystem::path& path,
                                                          const BitBackboneOptions& options) {
  const WeightFormat format = detect_format(path);
  std::optional<Checkpoint> ckpt;
  BitConfig config;
  if (format == WeightFormat::Transformers) {
    ckpt = Checkpoint::open(path);
    config = options.config ? *options.config : BitConfig::from_json(ckpt->config(), (path / "config.json").string());
  } else {
    auto converted = format == WeightFormat::Timm ? load_timm(path) : load_npz(path, options.config);
    config = format == WeightFormat::Timm && options.config ? *options.config : converted.config;
    ckpt = Checkpoint::from_weights(path, boost::json::object{},
                                    SafetensorsFile::from_bytes(encode_safetensors(converted.tensors), path.string()));
  }
  if (options.semantics) config.semantics = *options.semantics;
  return std::make_unique<BitBackbone>(
      std::make_shared<BitModel>(std::move(config), *ckpt, options.precision.value_or(Precision::F32)), options);
}

PreprocessingDefaults bit_preprocessing_defaults() {
  return {{}, "BiT's defaults (transformers' BitImageProcessor)"};
}

std::string BitBackbone::numerics() const {
  return "precision " + to_string(model_->precision()) + ", convolutions " + describe(model_->algorithm()) +
         ", oneDNN ISA " + effective_isa_name() + ", maps " +
         (pass_layout(model_->precision() == Precision::Bf16) == Layout::ChannelsLast ? "channels-last"
                                                                                      : "blocked");
}

int BitBackbone::pooled_channels() const {
  const auto& c = model_->config();
  return c.stage_channels(static_cast<int>(c.depths.size()));
}

ForwardResult BitBackbone::forward(const Tensor& batch, const ForwardRequest& request) {
  const auto names = stage_names();
  BitRequest r;
  for (const auto& s : request.stages) {
    if (s == kStemConv && output_shape().count(kStemConv)) {
      r.stem_conv = true;
      continue;
    }
    const auto it = std::find(names.begin(), names.end(), s);
    if (it == names.end())
      throw NotFoundError("stage '" + s + "' does not exist; stages are " + py_repr(names));
    r.stages.push_back(static_cast<int>(it - names.begin()));
  }
  r.pooled = request.pooled;
  r.logits = request.logits;
  r.last_hidden_state = request.last_hidden_state;
  auto out = model_->forward(batch, r);
  ForwardResult result;
  for (auto& [i, t] : out.stages) result.stages[names[static_cast<std::size_t>(i)]] = std::move(t);
  if (r.stem_conv) result.stages[kStemConv] = std::move(out.stem_conv);
  if (request.pooled) result.pooled = out.pooled.view({out.pooled.dim(0), out.pooled.dim(1)});
  result.logits = std::move(out.logits);
  result.last_hidden_state = std::move(out.last_hidden_state);
  return result;
}

std::optional<LinearClassifier> BitBackbone::classifier() const {
  if (!model_->has_classifier()) return std::nullopt;
  LinearClassifier c{model_->classifier_weight(), model_->classifier_bias(), {}};
  for (const auto& [index, label] : model_->config().id2label) c.labels.push_back(label);
  return c;
}

std::vector<Tensor> BitBackbone::feature_maps(const Tensor& batch) {
  auto out = forward(batch, {selection_.out_features, false, false});
  std::vector<Tensor> maps;
  for (const auto& f : selection_.out_features) maps.push_back(out.stages.at(f));
  return maps;
}

}  // namespace visbone::bit
