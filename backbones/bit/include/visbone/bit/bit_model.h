// BitModel: transformers' BitModel + BitForImageClassification computed on the blocked layout. Built from a
// BitConfig and a checkpoint with transformers' tensor names; weights are standardized once at load.
//
// Thread-safety: forward() and warmup() may be called from several threads at once and the passes overlap,
// each on the OpenMP threads its calling thread is set to and bit-identical to the same pass run alone at
// that thread count (weights are held once; activations, scratch memory and the stream are per pass; each
// convolution's primitive cache is locked and keyed by the thread count). The setters wait for running
// passes.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "visbone/bit/bit_config.h"
#include "visbone/bit/feature_map.h"
#include "visbone/bit/group_norm_act.h"
#include "visbone/bit/precision.h"
#include "visbone/bit/ws_conv.h"
#include "visbone/core/backbone.h"
#include "visbone/core/tensor.h"

namespace visbone {
class Checkpoint;
}

namespace visbone::bit {

// timm's first feature tap: the stem convolution's output (stride 2), before the zero pad and max pool that
// make transformers' "stem" (stride 4). Offered, besides stage_names(), for models of timm origin.
inline constexpr const char* kStemConv = "stem_conv";

// One residual unit (transformers' BitPreActivationBottleneckLayer or BitBottleneckLayer).
struct BitUnit {
  std::string name;  // "bit.encoder.stages.S.layers.L", for messages
  bool preact = true;
  std::optional<WsConv> downsample;
  std::optional<GroupNormAct> downsample_norm;  // bottleneck units only
  GroupNormAct norm1, norm2, norm3;
  WsConv conv1, conv2, conv3;
};

struct BitRequest {
  std::vector<int> stages;          // positions in stage_names() to return as NCHW (hidden_states[i])
  bool last_hidden_state = false;   // the last stage after the final norm (preactivation models)
  bool pooled = false;              // global average of last_hidden_state, (N, C, 1, 1)
  bool logits = false;              // classifier output (N, num_labels); needs classifier weights
  bool stem_conv = false;           // timm's feature 0: the 7x7/2 conv alone, stride 2, before pad and pool
};

struct BitResult {
  std::map<int, Tensor> stages;
  Tensor stem_conv;
  Tensor last_hidden_state, pooled, logits;
};

class BitModel {
 public:
  // Loads every tensor the config implies; throws (naming the tensor, found and expected shapes) on a
  // missing or misshapen one, and reports tensors the checkpoint has that the model does not use.
  // `precision` bf16 (or auto resolving to it) keeps the convolution weights as bf16 from the start, so the
  // fp32 weights never take memory (the model is then bf16 for good); see set_precision.
  BitModel(BitConfig config, Checkpoint& checkpoint, Precision precision = Precision::F32);

  const BitConfig& config() const { return config_; }
  std::vector<std::string> stage_names() const { return config_.stage_names(); }
  // Channels and stride of every stage, as the layers are built (width_factor, dilation included); for
  // timm-origin models also "stem_conv" (see kStemConv).
  std::map<std::string, StageShape> output_shape() const;
  // The same with each map's exact height and width for an input of height x width, planned layer by layer
  // as forward runs it (stem padding, SAME / dynamic padding, dilation). ShapeError as check_input.
  std::map<std::string, ShapeSpec> output_shape(std::int64_t height, std::int64_t width) const;
  bool has_classifier() const { return !classifier_w_.empty(); }
  // How the fp32 3x3 stride-1 convolutions are computed (default: default_conv_algorithm(), auto unless the
  // environment says otherwise); waits for a running forward.
  void set_algorithm(ConvAlgorithm a);
  ConvAlgorithm algorithm() const { return algorithm_; }
  // f32 (the default, exact), bf16 or auto (see precision.h); waits for a running forward. ConfigError for
  // bf16 on a CPU without it, and for f32 after a bf16 pass (the fp32 weights are released then).
  void set_precision(Precision p);
  // F32 or Bf16, as resolved for this CPU.
  Precision precision() const { return bf16_ ? Precision::Bf16 : Precision::F32; }
  // Convolution primitives made so far that run Winograd (WsConv::winograd_primitives, summed): what tests
  // check to know Winograd really ran. Waits for a running forward.
  int winograd_primitives();
  // The same for the columns algorithm (WsConv::column_primitives).
  int column_primitives();
  // And for oneDNN's reference kernel (WsConv::reference_primitives): none on AVX-512 or AVX2.
  int reference_primitives();
  // How many input shapes (N, C, H, W) each convolution keeps primitives for, least recently used dropped
  // first (default: default_primitive_cache()); waits for a running forward. ConfigError below 1.
  void set_primitive_cache(int shapes);
  int primitive_cache() const { return primitive_cache_; }
  // Convolution primitives held now, over all convolutions (tests check the bound with it).
  int primitives();
  // Builds the primitives (and weight layouts) for these (N, C, H, W) input shapes ahead of the first real
  // pass, by running each once on zeros; the newest primitive_cache() of them stay. ShapeError as check_input.
  void warmup(const std::vector<Shape>& shapes);
  // The classification layer (classifier.1): (num_labels, C) and (num_labels); empty tensors without one.
  const Tensor& classifier_weight() const { return classifier_w_; }
  const Tensor& classifier_bias() const { return classifier_b_; }
  std::int64_t parameter_count() const { return parameters_; }

  // Checks an input shape against the whole network before running: channels, and that every unit's
  // residual and shortcut shapes agree (VALID padding can break this). Throws ShapeError naming the unit.
  void check_input(const Shape& nchw) const;
  BitResult forward(const Tensor& pixel_values, const BitRequest& request);

 private:
  BitConfig config_;
  std::string prefix_;  // "bit." for BitForImageClassification / BitBackbone checkpoints, "" for BitModel
  WsConv stem_conv_;
  std::optional<GroupNormAct> stem_norm_;  // bottleneck models
  std::vector<std::vector<BitUnit>> stages_;
  std::vector<int> stage_strides_;
  std::optional<GroupNormAct> final_norm_;  // preactivation models
  Tensor classifier_w_, classifier_b_;
  std::int64_t parameters_ = 0;
  std::atomic<bool> bf16_ = false;  // convolution inputs, weights and outputs between layers in bf16
  std::atomic<ConvAlgorithm> algorithm_ = default_conv_algorithm();  // as set_algorithm last set it
  std::atomic<bool> bf16_weights_ = false;  // loaded as bf16 or a bf16 pass ran: the convs hold bf16 only
  int primitive_cache_ = default_primitive_cache();
  // Every convolution, in the order forward runs them.
  std::vector<WsConv*> convolutions();
  // A count summed over them (winograd_primitives, primitives, ...), waiting for a running forward.
  int sum_over_convolutions(int (WsConv::*count)() const);
  std::shared_ptr<BufferPool> pool_ = std::make_shared<BufferPool>();  // activations, reused across passes
  std::shared_mutex mutex_;  // shared by passes, unique for the setters
};

}  // namespace visbone::bit
