// A custom backbone as a plugin (plugin `tiny_cnn_backbone`, backbone `tiny_cnn`): a plain stack of 3x3
// stride-2 convolutions with ReLU, no normalisation, stages named layer1..layerN like torchvision's ResNets.
// It is deliberately not BiT: it shows that the registry, the Backbone contract and the heads take any
// network that states its stages and shapes.
//
//   {type: tiny_cnn, in_channels: 3, channels: [16, 32, 64], weights: tiny.safetensors}
//   {type: tiny_cnn, channels: [8, 16], seed: 7}        # Kaiming-uniform weights from a seed
//
// `weights` holds layers.{i}.weight (C_out, C_in, 3, 3) and layers.{i}.bias (C_out), i from 0.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>

#include "visbone/core/backbone.h"
#include "visbone/core/errors.h"
#include "visbone/core/safetensors.h"
#include "visbone/core/stage_selection.h"
#include "visbone/registry/plugin_api.h"

namespace {

using visbone::ForwardRequest;
using visbone::ForwardResult;
using visbone::NotFoundError;
using visbone::Shape;
using visbone::ShapeError;
using visbone::StageShape;
using visbone::Tensor;
using visbone::registry::Params;

struct Layer {
  Tensor weight;  // (out, in, 3, 3)
  Tensor bias;    // (out)
};

// 3x3 convolution, stride 2, zero padding 1, then ReLU; (N, C, H, W) -> (N, O, ceil(H/2), ceil(W/2)).
Tensor conv_relu(const Tensor& x, const Layer& l) {
  const std::int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), o = l.weight.dim(0);
  const std::int64_t oh = (h - 1) / 2 + 1, ow = (w - 1) / 2 + 1;
  Tensor y({n, o, oh, ow});
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t k = 0; k < o; ++k)
      for (std::int64_t i = 0; i < oh; ++i)
        for (std::int64_t j = 0; j < ow; ++j) {
          double acc = l.bias.data()[k];
          for (std::int64_t ci = 0; ci < c; ++ci)
            for (std::int64_t dy = 0; dy < 3; ++dy) {
              const std::int64_t yy = 2 * i + dy - 1;
              if (yy < 0 || yy >= h) continue;
              for (std::int64_t dx = 0; dx < 3; ++dx) {
                const std::int64_t xx = 2 * j + dx - 1;
                if (xx < 0 || xx >= w) continue;
                acc += static_cast<double>(l.weight.data()[((k * c + ci) * 3 + dy) * 3 + dx]) *
                       x.data()[((b * c + ci) * h + yy) * w + xx];
              }
            }
          y.data()[((b * o + k) * oh + i) * ow + j] = static_cast<float>(std::max(acc, 0.0));
        }
  return y;
}

class TinyCnn final : public visbone::Backbone {
 public:
  TinyCnn(int in_channels, std::vector<Layer> layers, std::vector<std::string> out_features)
      : in_channels_(in_channels), layers_(std::move(layers)), out_features_(std::move(out_features)) {}

  std::vector<std::string> stage_names() const override {
    std::vector<std::string> names;
    for (std::size_t i = 1; i <= layers_.size(); ++i) names.push_back("layer" + std::to_string(i));
    return names;
  }
  std::vector<std::string> out_features() const override { return out_features_; }
  using visbone::Backbone::output_shape;  // output_shape(H, W): the default (ceil(H / stride)) is exact here
  std::map<std::string, StageShape> output_shape() const override {
    std::map<std::string, StageShape> shapes;
    const auto names = stage_names();
    for (std::size_t i = 0; i < layers_.size(); ++i)
      shapes[names[i]] = {static_cast<int>(layers_[i].weight.dim(0)), 2 << i};
    return shapes;
  }
  int pooled_channels() const override { return static_cast<int>(layers_.back().weight.dim(0)); }
  // Its own preprocessing, not BiT's: 64x64 center crops of bilinear resizes, scaled to [-1, 1]. Only for RGB
  // inputs; with other channel counts it cannot say how pictures map to them, so a pipeline asks for
  // settings.
  std::optional<visbone::PreprocessingDefaults> preprocessing_defaults() const override {
    if (in_channels_ != 3) return std::nullopt;
    boost::json::object keys{{"size", {{"shortest_edge", 64}}},
                             {"crop_size", {{"height", 64}, {"width", 64}}},
                             {"resample", 2},
                             {"image_mean", {0.5, 0.5, 0.5}},
                             {"image_std", {0.5, 0.5, 0.5}}};
    return visbone::PreprocessingDefaults{std::move(keys), "tiny_cnn's defaults (64x64 crop, mean/std 0.5)"};
  }
  // Any height and width of at least one pixel: the padded stride-2 convolutions take every size.
  int input_channels() const override { return in_channels_; }
  void check_input(const Shape& nchw) const override {
    if (nchw.size() != 4 || nchw[1] != in_channels_ || nchw[0] < 1 || nchw[2] < 1 || nchw[3] < 1)
      throw ShapeError("tiny_cnn: input " + visbone::shape_str(nchw) + ", expected (N, " +
                       std::to_string(in_channels_) + ", H, W)");
  }

  ForwardResult forward(const Tensor& batch, const ForwardRequest& request) override {
    check_input(batch.shape());
    if (request.logits)
      throw NotFoundError("tiny_cnn: logits requested, but this backbone has no classifier");
    const auto names = stage_names();
    std::size_t deepest = 0;
    for (const auto& s : request.stages) {
      const auto it = std::find(names.begin(), names.end(), s);
      if (it == names.end())
        throw NotFoundError("tiny_cnn: stage '" + s + "' does not exist; stages are " +
                            visbone::py_repr(names));
      deepest = std::max(deepest, static_cast<std::size_t>(it - names.begin()) + 1);
    }
    if (request.pooled || request.last_hidden_state) deepest = layers_.size();

    ForwardResult result;
    Tensor x = batch;
    for (std::size_t i = 0; i < deepest; ++i) {
      x = conv_relu(x, layers_[i]);
      if (std::find(request.stages.begin(), request.stages.end(), names[i]) != request.stages.end())
        result.stages[names[i]] = x;
    }
    // No final norm: the last stage is the last hidden state.
    if (request.last_hidden_state) result.last_hidden_state = x;
    if (request.pooled) {
      const std::int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
      result.pooled = Tensor({n, c});
      for (std::int64_t b = 0; b < n; ++b)
        for (std::int64_t k = 0; k < c; ++k) {
          double acc = 0;
          for (std::int64_t i = 0; i < hw; ++i) acc += x.data()[(b * c + k) * hw + i];
          result.pooled.data()[b * c + k] = static_cast<float>(acc / static_cast<double>(hw));
        }
    }
    return result;
  }

 private:
  int in_channels_;
  std::vector<Layer> layers_;
  std::vector<std::string> out_features_;
};

// Kaiming-uniform (bound sqrt(6 / fan_in)) from the raw mt19937 stream, so a seed gives the same weights
// with every standard library.
Layer random_layer(std::int64_t out, std::int64_t in, std::mt19937& rng) {
  Layer l{Tensor({out, in, 3, 3}), Tensor({out})};
  const double bound = std::sqrt(6.0 / static_cast<double>(in * 9));
  for (float& v : l.weight)
    v = static_cast<float>((static_cast<double>(rng()) / 4294967295.0 * 2.0 - 1.0) * bound);
  return l;
}

std::unique_ptr<visbone::Backbone> make_tiny_cnn(const Params& p) {
  const int in_channels = p.get<int>("in_channels", 3);
  const auto channels = p.get<std::vector<int>>("channels", {16, 32, 64});
  if (in_channels < 1 || in_channels > 64)
    p.fail("in_channels", "is " + std::to_string(in_channels) + ", expected 1..64");
  if (channels.empty() || channels.size() > 8) p.fail("channels", "expected 1 to 8 stage widths");
  for (int c : channels)
    if (c < 1 || c > 4096) p.fail("channels", "has width " + std::to_string(c) + ", expected 1..4096");

  std::vector<Layer> layers;
  std::int64_t in = in_channels;
  if (p.has("weights")) {
    const auto file = visbone::SafetensorsFile::open(p.path("weights"));
    for (std::size_t i = 0; i < channels.size(); ++i) {
      auto load = [&](const std::string& name, const Shape& shape) {
        const auto* t = file.find(name);
        if (!t)
          throw NotFoundError(file.name() + ": no tensor '" + name + "' (tiny_cnn layer " +
                              std::to_string(i) + ")");
        if (t->shape != shape)
          throw ShapeError(file.name() + ": tensor '" + name + "' has shape " + visbone::shape_str(t->shape) +
                           ", expected " + visbone::shape_str(shape));
        return file.load(name);
      };
      const std::string prefix = "layers." + std::to_string(i) + ".";
      layers.push_back(
          {load(prefix + "weight", {channels[i], in, 3, 3}), load(prefix + "bias", {channels[i]})});
      in = channels[i];
    }
  } else {
    std::mt19937 rng(static_cast<std::uint32_t>(p.get<std::int64_t>("seed", 0)));
    for (int c : channels) {
      layers.push_back(random_layer(c, in, rng));
      in = c;
    }
  }
  std::vector<std::string> names;
  for (std::size_t i = 1; i <= channels.size(); ++i) names.push_back("layer" + std::to_string(i));
  const auto out = visbone::resolve_stage_selection(names, p.find<std::vector<std::string>>("out_features"),
                                                    p.find<std::vector<int>>("out_indices"));
  return std::make_unique<TinyCnn>(in_channels, std::move(layers), out.out_features);
}

void register_components(visbone::registry::ComponentRegistrar& r) {
  r.add_backbone("tiny_cnn", "a small plain CNN (3x3 stride-2 convs + ReLU, stages layer1..layerN), not BiT",
                 make_tiny_cnn);
}

}  // namespace

VISBONE_PLUGIN("tiny_cnn_backbone", "1.0", "a custom non-BiT backbone: a stack of strided 3x3 convolutions",
               register_components)
