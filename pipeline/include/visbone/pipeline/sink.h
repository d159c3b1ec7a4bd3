// Where results go. Every sink sees every input in input order (failed ones too) and makes its files appear
// atomically: whole files on finish() (JSON Lines, CSV, safetensors, the contact sheet), or one complete
// image per input (annotated images, heat maps). Sinks are built, and checked against the heads they read,
// before the first input is read.
#pragma once

#include <boost/json.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "visbone/image/image_processor.h"
#include "visbone/pipeline/config.h"
#include "visbone/pipeline/item.h"

namespace visbone::pipeline {

// What the sinks know about a head before any input runs.
struct HeadInfo {
  std::string name;  // keys its results
  std::string type;  // its registry type (classification, feature_maps, embedding, or a plugin's)
  std::string kind;  // what it produces, as its describe() says: sinks pick heads by it, not by type
  int top_k = 0;     // predictions per input, when known up front (describe().top_k)
  std::vector<std::string> stages;  // stage maps among its tensors (describe().stages)
};

struct SinkContext {
  const PipelineConfig* config = nullptr;
  std::vector<HeadInfo> heads;                       // in config order (Item::heads has the same order)
  const image::ImageProcessor* processor = nullptr;  // the model's view of an image, for heat maps
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Whether it draws on the decoded image (which is then kept until the sinks have seen the item).
  virtual bool needs_image() const { return false; }
  // Called for every input, in input order, from one thread at a time.
  virtual void write(const Item& item) = 0;
  // Makes the outputs appear. Not called when the run fails, so a failed run leaves no partial file.
  virtual void finish() = 0;
  // "jsonl -> out/predictions.jsonl", for the summary.
  virtual std::string describe() const = 0;
};

// Builds a built-in sink; ConfigError "FILE:LINE:COL: sinks[i] (type): ..." when the heads it reads are
// missing or ambiguous. `context` is "sinks[i]".
std::unique_ptr<Sink> make_sink(const SinkConfig& config, const std::string& context, const SinkContext& ctx);

// The JSON Lines record of an item: {"index", "id", "path", "label"?, "ok", "width", "height", HEAD: {...}}
// (HEAD is each head's name, in config order)
// or, for a failed input, {"index", "id", "path", "label"?, "ok": false, "stage", "error"}.
boost::json::object item_record(const Item& item, const std::vector<HeadInfo>& heads);

// A relative output file name for an input id, so outputs mirror the input tree but can never escape the
// output folder: empty and "." components dropped, ".." turned into "__", the extension replaced by `ext`.
// "3/digit_0001.png" -> "3/digit_0001.png"; "/a/../b.jpg" -> "a/__/b.png"; "clip.mp4/frame_000010" ->
// "clip.mp4/frame_000010.png".
std::filesystem::path output_name(const std::string& id, const std::string& ext);

}  // namespace visbone::pipeline
