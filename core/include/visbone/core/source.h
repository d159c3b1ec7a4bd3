// Where a pipeline's inputs come from: a Source hands out items one at a time until it is exhausted.
// Sources are registry components (chosen by `type:` in a pipeline's YAML); the built-in ones (files,
// folder, glob, list, video) and a plugin's implement this same interface, so a plugin source can do
// whatever a built-in does: count its inputs for the progress bar, hand over decoded frames, describe itself.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "visbone/image/image.h"

namespace visbone {

struct SourceItem {
  std::string id;                    // unique within the source; names the input in results and errors
  std::string path;                  // the file it came from, when it came from one
  std::optional<std::string> label;  // the true label, when the source knows it (folder-per-label layouts)
  std::vector<std::uint8_t> bytes;   // an encoded image (PNG, JPEG, ...), decoded downstream instead of path
  // Sources that decode themselves (video frames) hand over pixels (RGB or grayscale) and set `decoded`.
  image::Image image;
  bool decoded = false;
  std::string error;  // set when the source could not produce this input; the run records it and goes on
};

// What a source factory may use besides its parameters.
struct SourceContext {
  std::int64_t max_pixels = 0;  // the limit for pixels a source decodes itself (0: no limit)
  // Folders a source that walks folders leaves out, with everything under them: the run's output_dir, so a
  // run never reads its own (or a previous run's) outputs as inputs.
  std::vector<std::filesystem::path> skip;
};

class Source {
 public:
  virtual ~Source() = default;
  // The next item, or nullopt once the source is exhausted. Called from one thread at a time. Problems with
  // one input go in SourceItem::error; exceptions are for the source as a whole
  // (the run records one, naming the source, and ends there, incomplete).
  virtual std::optional<SourceItem> next() = 0;
  // How many items there will be, when that can be known cheaply up front (the progress bar's total and ETA).
  virtual std::optional<std::uint64_t> count() { return std::nullopt; }
  // One line for the run summary: "folder /data/digits".
  virtual std::string describe() const { return {}; }
  // The files it reads and the folders it reads from (a folder stands for everything under it), so a run
  // can refuse outputs that would overwrite an input. Empty when not known.
  virtual std::vector<std::filesystem::path> reads() const { return {}; }
};

}  // namespace visbone
