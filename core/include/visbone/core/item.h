// What moves through a pipeline: one Item per input, from the source to the sinks (built-in or plugin). An item that fails at
// any step keeps going with its error set, so the sinks can record it in input order and the run goes on.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "visbone/core/head.h"
#include "visbone/image/image.h"

namespace visbone {

// One of a classifying head's best labels (from its record's "predictions").
struct TopK {
  int index = -1;
  std::string label;
  float score = 0;                                        // the head's score (softmax probability by default)
  float logit = std::numeric_limits<float>::quiet_NaN();  // NaN when the head gives no logits
};

struct Item {
  std::uint64_t seq = 0;  // position in the input, from 0
  bool end = false;       // the end-of-input marker: flushes the last batch, never reaches the sinks
  std::string id;         // unique within a source: the path relative to its root, or "VIDEO/frame_N"
  std::string path;       // the file it came from
  // SHA-256 (hex) of the model's key and the input's content (see visbone/pipeline/content_key.h): what the
  // outputs' records carry so that a result is reused only for the same bytes and the same model.
  std::string content_key;
  std::optional<std::string> label;  // the true label, from the folder name, when asked for
  int width = 0, height = 0;         // decoded size

  image::Image image;  // decoded pixels; kept to the sinks only when one draws on them
  bool decoded = false;
  Tensor pixels;  // (1, C, H, W) after preprocessing

  std::string error;                     // non-empty once the item failed
  std::string error_stage;               // source, decode, preprocess, backbone, head NAME
  std::vector<HeadResult> heads;         // one per head, in config order (empty when failed)
  std::vector<std::vector<TopK>> top_k;  // per head: its predictions, best first (empty if it gives none)
  std::vector<std::uint8_t> bytes;       // an encoded image a source handed over (else read from path)

  bool failed() const { return !error.empty(); }
  void fail(std::string stage, std::string message) {
    error_stage = std::move(stage);
    error = std::move(message);
    image = {};
    pixels = {};
    bytes = {};
    heads.clear();
    top_k.clear();
  }
};

}  // namespace visbone
