// What moves through the pipeline: one Item per input, from the source to the sinks. An item that fails at
// any step keeps going with its error set, so the sinks can record it in input order and the run goes on.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "visbone/core/tensor.h"
#include "visbone/image/image.h"

namespace visbone::pipeline {

// One of a classification head's best labels.
struct TopK {
  int index = 0;
  std::string label;
  float score = 0;  // softmax probability
  float logit = 0;
};

// What one head computed for one input.
struct HeadOutput {
  std::string head;                                     // the head's name
  boost::json::object record;                           // its part of the JSON Lines record
  std::vector<std::pair<std::string, Tensor>> tensors;  // named tensors for tensor sinks (no batch dim)
  std::vector<TopK> top_k;                              // classification heads only, best first
};

struct Item {
  std::uint64_t seq = 0;  // position in the input, from 0
  bool end = false;       // the end-of-input marker: flushes the last batch, never reaches the sinks
  std::string id;         // unique within a source: the path relative to its root, or "VIDEO/frame_N"
  std::string path;       // the file it came from
  std::optional<std::string> label;  // the true label, from the folder name, when asked for
  int width = 0, height = 0;         // decoded size

  image::Image image;  // decoded pixels; kept to the sinks only when one draws on them
  bool decoded = false;
  Tensor pixels;  // (1, C, H, W) after preprocessing

  std::string error;        // non-empty once the item failed
  std::string error_stage;  // decode, preprocess, backbone
  std::vector<HeadOutput> heads;  // one per head, in config order (empty when failed)

  bool failed() const { return !error.empty(); }
  void fail(std::string stage, std::string message) {
    error_stage = std::move(stage);
    error = std::move(message);
    image = {};
    pixels = {};
  }
};

using ItemPtr = std::shared_ptr<Item>;

}  // namespace visbone::pipeline
