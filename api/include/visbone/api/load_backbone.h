// Loading a backbone the way Python code does (`AutoBackbone.from_pretrained("google/bit-50",
// out_features=[...])`), for C++ programs that use visbone as a library:
//
//   #include <visbone/visbone.h>
//   visbone::BackboneOptions options;
//   options.out_features = {"stage2", "stage3", "stage4"};
//   auto backbone = visbone::load_backbone("google/bit-50", options);   // or a folder, a .npz, a preset
//   std::map<std::string, visbone::Tensor> maps = backbone->forward(pixel_values);  // (N, C, H, W) each
//   int stride = backbone->output_shape().at("stage3").stride;                       // 16
//
// Units: images are float32 NCHW pixel values as ImageProcessor makes them; a stage's stride is input pixels
// per output pixel (a 224x224 input gives 224/stride x 224/stride maps).
#pragma once

#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "visbone/bit/bit_config.h"
#include "visbone/bit/precision.h"
#include "visbone/bit/ws_conv.h"
#include "visbone/core/backbone.h"
#include "visbone/core/stage_selection.h"
#include "visbone/core/tensor.h"
#include "visbone/heads/layout.h"
#include "visbone/hub/hub.h"

namespace visbone {

// Every member has a default, so designated initializers may name only what they change:
//   visbone::load_backbone("google/bit-50", {.out_features = {{"stage3", "stage4"}}, .threads = 4})
struct BackboneOptions {
  // The stages forward(batch) returns, with transformers' out_features / out_indices semantics (names
  // "stem", "stage1".."stageN"; indices into that list, negative from the end). Neither given: the
  // checkpoint config's selection (transformers' default: the last stage).
  std::optional<std::vector<std::string>> out_features{};
  std::optional<std::vector<int>> out_indices{};
  // OpenMP threads for loading and for each forward pass (oneDNN's CPU runtime is OpenMP). 0 leaves the
  // calling thread's OpenMP setting alone (by default: every core). The setting is applied around each call
  // and restored afterwards, so it does not leak into the rest of the program.
  int threads = 0;
  // Whether forward(batch) returns the last stage after the model's final GroupNorm + activation
  // (transformers' last_hidden_state, timm's forward_intermediates(norm=True)) instead of the raw stage
  // output that transformers' BitBackbone returns. Requires the last stage to be selected. Models without a
  // final norm (bottleneck layer type) return the raw stage either way.
  bool final_norm = false;
  // Overrides the semantics that follow the checkpoint's origin (see README: transformers vs timm).
  std::optional<bit::Semantics> semantics{};
  // How the fp32 convolutions are computed: auto (Winograd for 3x3 stride 1 wherever oneDNN has it, columns for
  // strided ones from 256 channels, one image at a time: see bit/ws_conv.h), direct, or winograd (forced); all as exact on the parity fixtures and the same
  // for an image in any batch at any thread count. Unset: VISBONE_CONV_ALGORITHM, VISBONE_WINOGRAD=1 / 0 for
  // winograd / direct, else auto. `winograd` is the older
  // spelling (true: winograd, false: direct); `algorithm` wins when both are given.
  std::optional<bit::ConvAlgorithm> algorithm{};
  std::optional<bool> winograd{};
  // f32 (exact, the default), bf16 (convolutions in bf16, GroupNorm, pooling and outputs fp32; needs
  // AVX512-BF16 or AMX) or auto (bf16 where the CPU has AMX, else f32). See README: precision.
  std::optional<bit::Precision> precision{};
  // How many input shapes (N, C, H, W) each convolution keeps compiled primitives for, least recently used
  // dropped first (a shape run with another thread count, as overlapping passes are, is another entry).
  // Unset: VISBONE_PRIMITIVE_CACHE, else 16 (a detector's 1000 distinct sizes keep memory flat; see README:
  // any input size). Raise it when more sizes than that recur, with warmup().
  std::optional<int> primitive_cache{};
  // The layout of the maps forward(batch) / forward(images) / feature_maps return: NCHW (the default) or NHWC
  // ((N, H, W, C), timm's output_fmt='NHWC'), the same values transposed.
  heads::Layout layout = heads::Layout::Nchw;
  // The architecture, for a BiT .npz whose file name does not say it (Google's release names do).
  std::optional<bit::BitConfig> config{};
  // How hub ids are fetched: revision, cache folder, offline mode, endpoint, token, timeouts. Defaults
  // follow huggingface_hub's environment variables (HF_HUB_CACHE, HF_HUB_OFFLINE, HF_ENDPOINT, HF_TOKEN).
  hub::ResolveOptions hub{};
};

// A backbone with the options of load_backbone applied: the Backbone contract (usable wherever a Backbone
// is, e.g. by heads) plus a forward pass that returns the selected stages by name.
//
// Thread-safety: every member may be called from several threads at once. When the inner backbone is
// reentrant() (BiT is), forward() and warmup() calls overlap, up to T at once where T is `threads` (or, for
// 0, the calling thread's OpenMP setting: every core by default); a further call waits for one to end. The
// threads are divided: a pass started while k others run gets max(1, T / (k + 1)) OpenMP threads, so a
// lone caller's pass gets all T, and 2 callers on 2 cores run 2 passes of 1 thread each (the cores stay
// busy through each pass's serial parts, as one backbone per thread with 1 thread each would). Results are
// bit-identical to sequential calls: BiT computes the same bits with any thread count. Other backbones
// (plugins that do not declare themselves reentrant) run one pass at a time, each with `threads`.
class LoadedBackbone final : public Backbone {
 public:
  // Wraps any backbone (built-in, plugin or your own). The selection (options.out_features / out_indices)
  // is resolved against inner's stage_names(); without one, inner's own out_features() are used.
  // ConfigError for an invalid selection, or final_norm without the last stage selected.
  LoadedBackbone(std::unique_ptr<Backbone> inner, BackboneOptions options);

  // The Backbone contract. output_shape() covers every stage, selected or not.
  std::vector<std::string> stage_names() const override;
  std::vector<std::string> out_features() const override { return selection_.out_features; }
  std::map<std::string, StageShape> output_shape() const override;
  // Each stage's channels, stride and exact height x width for an input of height x width (no pass runs):
  //   backbone->output_shape(800, 1216).at("stage3")   // {1024, 16, 50, 76}
  std::map<std::string, ShapeSpec> output_shape(std::int64_t height, std::int64_t width) const override {
    return inner_->output_shape(height, width);
  }
  // Builds the compiled kernels for these input sizes ((N, C, H, W) shapes) ahead of the first real pass.
  void warmup(const std::vector<Shape>& shapes) override;
  // detectron2's Backbone properties (see core/backbone.h); BiT: 0 and {} (any size runs; padding is not
  // exact under GroupNorm, so images of different sizes are run apart, see forward(images)).
  int size_divisibility() const override { return inner_->size_divisibility(); }
  std::map<std::string, int> padding_constraints() const override { return inner_->padding_constraints(); }
  int pooled_channels() const override;
  std::optional<LinearClassifier> classifier() const override;
  std::optional<PreprocessingDefaults> preprocessing_defaults() const override {
    return inner_->preprocessing_defaults();
  }
  int input_channels() const override { return inner_->input_channels(); }
  void check_input(const Shape& nchw) const override { inner_->check_input(nchw); }
  // Raw stages, pooled features, logits and last_hidden_state as `request` asks (final_norm does not apply
  // here: the request says what it wants). Heads call this one.
  ForwardResult forward(const Tensor& batch, const ForwardRequest& request) override;
  // Calls may come from several threads at once (it runs them one at a time when the inner one is not
  // reentrant).
  bool reentrant() const override { return true; }
  std::string numerics() const override { return inner_->numerics(); }

  // The selected stages (out_features) of a float32 (N, C, H, W) batch, by stage name, each (N, C', H', W')
  // with C' = output_shape().at(name).channels and H' = H / stride (W' likewise) for sizes divisible by the
  // stride. ShapeError when the batch is not 4-D, has the wrong channel count or a size the network cannot
  // take (VALID padding with a size that leaves residual and shortcut shapes unequal).
  std::map<std::string, Tensor> forward(const Tensor& batch);

  // Images of different sizes (each (C, H, W) or (1, C, H, W)), as a detector feeds them: per image, its
  // selected stages by name, each (1, C', H', W') (or NHWC) and equal to what forward(that image alone)
  // gives. Images of one size run together as one batch (first appearance order); sizes are never padded
  // to a common one, since BiT's GroupNorm takes its statistics over the whole map and padding would change
  // every value. ShapeError for an image that is not 3- or 4-D with one image.
  std::vector<std::map<std::string, Tensor>> forward(const std::vector<Tensor>& images);
  // The same grouping for a request (raw stages, pooled, logits, last_hidden_state): one result per image,
  // each tensor with a batch dimension of 1, equal to forward(that image alone, request).
  std::vector<ForwardResult> forward(const std::vector<Tensor>& images, const ForwardRequest& request);

  // The same maps in out_features() order (what transformers' BackboneOutput.feature_maps holds).
  std::vector<Tensor> feature_maps(const Tensor& batch);

  // out_indices of the selection (as given, negative indices stay negative, like transformers).
  const std::vector<int>& out_indices() const { return selection_.out_indices; }
  const BackboneOptions& options() const { return options_; }
  // The wrapped backbone (a bit::BitBackbone for BiT checkpoints).
  Backbone& inner() { return *inner_; }
  const Backbone& inner() const { return *inner_; }

 private:
  std::unique_ptr<Backbone> inner_;
  BackboneOptions options_;
  StageSelection selection_;
  // Runs `pass` (a forward or warmup of inner_) under the rule above, with the OpenMP threads it gets.
  template <typename Pass>
  auto run_pass(Pass&& pass);
  std::mutex mutex_;                   // held through a pass when inner_ is not reentrant; guards running_
  std::condition_variable slot_free_;  // a pass ended (reentrant inner_)
  int running_ = 0;                    // passes running now (reentrant inner_)
};

// Loads a backbone from, in this order:
// - a local path: a transformers or timm checkpoint folder, or a BiT .npz file;
// - a preset name ("bit-50", "R50x1", ..., see bit::bit_presets()): its transformers checkpoint from the hub
//   (presets without one are a ConfigError saying to pass a folder or .npz file), checked to have the
//   preset's architecture;
// - a hub repository id ("google/bit-50"), fetched into (or found in) the huggingface_hub cache.
// Errors (all derived from visbone::Error): NotFoundError for a name that is none of these or a missing
// weight; ConfigError for a bad config or selection; FormatError for unreadable weights; ShapeError for a
// weight of the wrong shape; hub::HttpError / NetworkError from the hub. Safe to call from several threads.
std::unique_ptr<LoadedBackbone> load_backbone(const std::string& name_or_path,
                                              const BackboneOptions& options = {});

}  // namespace visbone
