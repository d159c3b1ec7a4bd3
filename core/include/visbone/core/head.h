// The contract every head (built-in or plugin) offers: what it needs from the backbone, declared up front so
// that it can be checked against output_shape() when the head is built, and what it makes of one batch's
// backbone outputs, per input.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "visbone/core/backbone.h"
#include "visbone/core/tensor.h"

namespace visbone {

// One raw stage map a head reads.
struct StageNeed {
  std::string stage;
  int channels = 0;  // the channel count the head was built for; 0 accepts any
  bool operator==(const StageNeed&) const = default;
};

// Everything a head reads from a forward pass. Channel counts are the ones the head's weights or its
// consumers were made for; check_head_needs() compares them with the backbone's output_shape().
struct HeadNeeds {
  std::vector<StageNeed> stages;   // raw stage maps (N, C, H, W), in the head's order
  bool pooled = false;             // pooled features (N, C) after the final norm
  int pooled_channels = 0;         // 0 accepts any
  bool last_hidden_state = false;  // the last stage after the final norm (its channels: the last stage's)
  int last_hidden_state_channels = 0;

  // The forward request that feeds this head.
  ForwardRequest request() const;
  // "stage2 (512 channels), pooled (any channels)" for messages.
  std::string str() const;
};

// Adds `needs` to a request shared by several heads (one forward pass feeds them all).
void merge_into(ForwardRequest& request, const HeadNeeds& needs);

// "stem (64 channels, stride 4), stage1 (256, 4), ..., pooled (2048)": a backbone's shapes for messages.
std::string describe_output_shape(const Backbone& backbone);

// Throws ShapeError when `backbone` cannot feed a head with these needs (a stage it does not have, a channel
// count that differs), naming the head and giving both the needs and the backbone's shapes.
void check_head_needs(const HeadNeeds& needs, const Backbone& backbone, const std::string& head);

// What one head made of one input.
struct HeadResult {
  boost::json::object record;                           // its part of a JSON record for this input
  std::vector<std::pair<std::string, Tensor>> tensors;  // named tensors for tensor sinks, without batch dim
};

// What a head factory may use while the head is built.
struct HeadContext {
  // The backbone the head will read; heads take shapes from it, and heads that embed reference images at
  // build time (the few-shot prototype head) run it.
  Backbone& backbone;
  // Reads image files and returns the (N, C, H, W) batch the host would feed the backbone for them (its own
  // decoding and preprocessing). Empty when the host has no image pipeline.
  std::function<Tensor(const std::vector<std::filesystem::path>&)> load_images;
};

// What a head produces, for sinks to pick and lay out heads by (instead of registry type names).
struct HeadDescription {
  // "classification" (records of ranked labels with scores: annotated images, CSV columns), "feature_maps"
  // (named (C, H, W) stage maps among its tensors: heatmaps), or any other word for other results.
  std::string kind;
  int top_k = 0;                    // predictions per input, when known up front
  std::vector<std::string> labels;  // the labels it can predict, when it has them
  std::vector<std::string> stages;  // the stage maps among its tensors
};

class Head {
 public:
  virtual ~Head() = default;
  // Fixed once the head is built.
  virtual HeadNeeds needs() const = 0;
  // What it produces; fixed once the head is built. Heads that say nothing get an empty kind.
  virtual HeadDescription describe() const { return {}; }
  // One result per input of the batch. `features` answers (at least) needs().request(). May be called
  // concurrently (with other batches or other heads): heads keep no state between calls.
  virtual std::vector<HeadResult> run(const ForwardResult& features) const = 0;
};

}  // namespace visbone
