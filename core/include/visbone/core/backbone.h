// The contract every backbone (built-in or plugin) offers: named stages, their shapes, and a forward pass
// that computes only up to the deepest stage asked for. Heads are built from output_shape(), never from
// constants.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "visbone/core/errors.h"
#include "visbone/core/tensor.h"

namespace visbone {

struct StageShape {
  int channels = 0;
  int stride = 0;  // input pixels per output pixel, dilation taken into account
  bool operator==(const StageShape&) const = default;
};

// A stage's map for one input size (detectron2's ShapeSpec): channels, stride and its exact height and width.
struct ShapeSpec {
  int channels = 0;
  int stride = 0;
  std::int64_t height = 0;
  std::int64_t width = 0;
  bool operator==(const ShapeSpec&) const = default;
};

struct ForwardRequest {
  std::vector<std::string> stages;  // stage names to return, as raw (N, C, H, W) maps
  bool pooled = false;              // also return the pooled features (N, C) after the final norm
  bool logits = false;              // also return the classifier logits (N, num_labels), if the model has them
  // Also return the last stage after the final norm (transformers' last_hidden_state, timm's norm=True
  // features); the raw last stage for models without a final norm.
  bool last_hidden_state = false;
};

struct ForwardResult {
  std::map<std::string, Tensor> stages;
  Tensor pooled;
  Tensor logits;
  Tensor last_hidden_state;  // (N, C, H, W), when asked for
};

// A linear classifier over the pooled features, as an image-classification checkpoint carries it.
struct LinearClassifier {
  Tensor weight;                    // (num_labels, channels)
  Tensor bias;                      // (num_labels)
  std::vector<std::string> labels;  // class names by index (id2label)
};

// The preprocessing that travels with a backbone's weights (as timm's pretrained_cfg):
// preprocessor_config.json keys (transformers' BitImageProcessor names; a key not given keeps
// BitImageProcessor's default) and where they come from, for the notice a pipeline prints when it uses them
// ("BiT's defaults (transformers' BitImageProcessor)").
struct PreprocessingDefaults {
  boost::json::object keys;
  std::string origin;
};

class Backbone {
 public:
  virtual ~Backbone() = default;
  // "stem", "stage1", ... in order.
  virtual std::vector<std::string> stage_names() const = 0;
  // The stages this backbone was configured to return (out_features), in order.
  virtual std::vector<std::string> out_features() const = 0;
  // Channels and stride of every stage.
  virtual std::map<std::string, StageShape> output_shape() const = 0;
  // Every stage's map for an input of height x width (the stages output_shape() names): what forward gives,
  // padding (SAME, dynamic, static) and dilation included. ShapeError (as check_input) for a size the network
  // cannot take. The default rounds every downsampling up (H' = ceil(H / stride), the rule of padded networks);
  // a backbone whose padding differs overrides it.
  virtual std::map<std::string, ShapeSpec> output_shape(std::int64_t height, std::int64_t width) const {
    check_input({1, input_channels(), height, width});
    std::map<std::string, ShapeSpec> specs;
    for (const auto& [name, s] : output_shape())
      specs[name] = {s.channels, s.stride, (height + s.stride - 1) / s.stride, (width + s.stride - 1) / s.stride};
    return specs;
  }
  // detectron2's Backbone.size_divisibility: the multiple the input height and width must be padded to; 0 for
  // none. A backbone whose stages line up at any size (BiT, where GroupNorm makes padding inexact) says 0.
  virtual int size_divisibility() const { return 0; }
  // detectron2's Backbone.padding_constraints: optional "size_divisibility" and "square_size" (> 0: pad to a
  // square of that size); empty for none.
  virtual std::map<std::string, int> padding_constraints() const { return {}; }
  // Prepares for these (N, C, H, W) input shapes ahead of the first real pass (compiled kernels, weight
  // layouts), so the first image of a known size costs no more than the next. The default runs one pass of
  // zeros per shape through every stage. ShapeError as check_input.
  virtual void warmup(const std::vector<Shape>& shapes) {
    for (const Shape& shape : shapes) check_input(shape);
    for (const Shape& shape : shapes) forward(Tensor(shape), {stage_names(), true, false});
  }
  // Channels of the pooled features.
  virtual int pooled_channels() const = 0;
  // Runs a float32 (N, C, H, W) batch; returns what `request` asks for.
  virtual ForwardResult forward(const Tensor& batch, const ForwardRequest& request) = 0;
  // Whether forward() and warmup() may run on several threads at once on this one object (weights held
  // once, whatever a pass changes kept per pass or locked), each pass using the OpenMP threads its calling
  // thread is set to and giving, at any thread count, the bits a pass alone gives. LoadedBackbone then
  // overlaps passes and divides the threads between them; a backbone that does not say so (the default) has
  // its passes run one at a time.
  virtual bool reentrant() const { return false; }
  // What decides its numbers besides its weights and its settings as written: resolved choices (a precision
  // or algorithm that "auto" or the environment picked) and the CPU features the kernels use. Two processes
  // whose strings (and weights and settings) agree compute the same bits. Content keys hash it, so a resumed
  // or cached record made under other numerics is computed again. Empty: nothing beyond them.
  virtual std::string numerics() const { return {}; }
  // The classifier the weights came with, if any; heads use it as the default classification layer.
  virtual std::optional<LinearClassifier> classifier() const { return std::nullopt; }
  // The preprocessing its weights expect, used when the checkpoint folder carries none (no
  // preprocessor_config.json, no timm pretrained_cfg); nullopt: none, so a pipeline needs explicit settings.
  virtual std::optional<PreprocessingDefaults> preprocessing_defaults() const { return std::nullopt; }
  // The channels of the (N, C, H, W) batches it takes; a pipeline checks its preprocessing against it
  // when it is built.
  virtual int input_channels() const = 0;
  // Throws ShapeError when a batch of this (N, C, H, W) shape cannot be run: the wrong rank or channels, or
  // a size the network cannot take (too small, not divisible where it must be). A pipeline calls it when it
  // is built with the one size its preprocessing makes, so a bad size fails before any input is read.
  // The default checks rank, batch and channels; backbones with size constraints add theirs.
  virtual void check_input(const Shape& nchw) const {
    if (nchw.size() != 4 || nchw[0] < 1 || nchw[1] != input_channels())
      throw ShapeError("input " + shape_str(nchw) + ", expected (N, " + std::to_string(input_channels()) +
                       ", H, W) with N >= 1");
  }
};

}  // namespace visbone
