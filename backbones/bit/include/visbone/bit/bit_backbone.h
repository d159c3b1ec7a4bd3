// BitBackbone: a BitModel behind the generic Backbone contract, with transformers' out_features /
// out_indices selection. Like transformers' BitBackbone, feature maps are raw stage outputs (the final
// norm is not applied to the last stage); pooled features are taken after the final norm.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "visbone/bit/bit_model.h"
#include "visbone/core/backbone.h"
#include "visbone/core/stage_selection.h"

namespace visbone::bit {

struct BitBackboneOptions {
  // Override the checkpoint config's selection; unset keeps the config's (default: the last stage).
  std::optional<std::vector<std::string>> out_features;
  std::optional<std::vector<int>> out_indices;
  // The architecture, for weights that do not carry it (a .npz not named like Google's releases).
  std::optional<BitConfig> config;
  // Override the semantics that follow the checkpoint's origin (transformers checkpoints: transformers;
  // timm and .npz: timm). They differ only in dilated preactivation units (output_stride < 32).
  std::optional<Semantics> semantics;
  // How the fp32 3x3 stride-1 convolutions are computed (see ConvAlgorithm); unset: the process default
  // (auto, or what VISBONE_WINOGRAD says). `winograd` is the older spelling: true is algorithm winograd,
  // false direct; `algorithm` wins when both are given.
  std::optional<ConvAlgorithm> algorithm;
  std::optional<bool> winograd;
  // f32 (exact), bf16 or auto (bf16 where the CPU has AMX); unset: f32. See precision.h.
  std::optional<Precision> precision;
  // How many input shapes each convolution keeps compiled primitives for (LRU); unset: the process default
  // (default_primitive_cache(): VISBONE_PRIMITIVE_CACHE or 16).
  std::optional<int> primitive_cache;
};

// BiT's preprocessing defaults: transformers' BitImageProcessor as documented (no keys: every default), what
// every BitBackbone reports.
PreprocessingDefaults bit_preprocessing_defaults();

class BitBackbone : public Backbone {
 public:
  BitBackbone(std::shared_ptr<BitModel> model, const BitBackboneOptions& options = {});
  // Loads a transformers or timm checkpoint folder or a BiT .npz file (see checkpoint_formats.h).
  static std::unique_ptr<BitBackbone> from_pretrained(const std::filesystem::path& dir,
                                                      const BitBackboneOptions& options = {});

  std::vector<std::string> stage_names() const override { return model_->stage_names(); }
  std::vector<std::string> out_features() const override { return selection_.out_features; }
  const std::vector<int>& out_indices() const { return selection_.out_indices; }
  std::map<std::string, StageShape> output_shape() const override { return model_->output_shape(); }
  std::map<std::string, ShapeSpec> output_shape(std::int64_t height, std::int64_t width) const override {
    return model_->output_shape(height, width);
  }
  int pooled_channels() const override;
  ForwardResult forward(const Tensor& batch, const ForwardRequest& request) override;
  // Passes on one BitModel may overlap (see bit_model.h) and this wrapper keeps no state of its own; a pass
  // gives the same bits at any thread count (direct and bf16 convolutions as oneDNN computes them, Winograd
  // because it runs one image at a time: tests/api/concurrency_test.cpp).
  bool reentrant() const override { return true; }
  // "precision f32, 3x3 convolutions auto, oneDNN ISA AVX512-BF16": the resolved precision, the algorithm
  // (the environment's when not set) and the instruction set oneDNN's kernels use (they sum in other orders
  // on other ones; auto's Winograd needs AVX-512).
  std::string numerics() const override;
  // classifier.1 with the config's id2label, when the checkpoint has it.
  std::optional<LinearClassifier> classifier() const override;
  // BiT's documented preprocessing, transformers' BitImageProcessor defaults (bit_preprocessing_defaults()).
  // A timm checkpoint's pretrained_cfg is read from its folder, which a pipeline consults first.
  std::optional<PreprocessingDefaults> preprocessing_defaults() const override {
    return bit_preprocessing_defaults();
  }
  // num_channels of its config; the sizes it can take follow from its stem and strides (BitModel::check_input).
  int input_channels() const override { return model_->config().num_channels; }
  void check_input(const Shape& nchw) const override { model_->check_input(nchw); }
  void warmup(const std::vector<Shape>& shapes) override { model_->warmup(shapes); }
  // The feature maps of the configured selection, in out_features order (transformers' BackboneOutput).
  std::vector<Tensor> feature_maps(const Tensor& batch);

  BitModel& model() { return *model_; }

 private:
  std::shared_ptr<BitModel> model_;
  StageSelection selection_;
};

}  // namespace visbone::bit
