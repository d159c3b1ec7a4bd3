// Where inputs come from: image files (a list, a folder walked recursively in sorted order, a glob, a text
// file of paths) or the frames of a video. Sources stream: they never hold the whole input list, so a folder
// of a million images costs the memory of one folder listing at a time, not of every path.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "visbone/core/source.h"
#include "visbone/image/image.h"
#include "visbone/pipeline/config.h"

namespace visbone::pipeline {

struct SourceItem {
  std::string id;    // unique within the source: path relative to the root, or "VIDEO/frame_000120"
  std::string path;  // the file it comes from
  std::optional<std::string> label;
  // Sources that decode themselves (video) hand over pixels; file sources leave this empty for the decoder.
  image::Image image;
  bool decoded = false;
  std::vector<std::uint8_t> bytes;  // an encoded image (plugin sources); decoded downstream instead of `path`
  std::string error;  // set when the source itself could not produce the input (an unreadable folder, ...)
};

class Source {
 public:
  virtual ~Source() = default;
  // The next input in order, nullopt at the end. Problems with one input are reported in SourceItem::error;
  // exceptions are for the source as a whole (its folder does not exist).
  virtual std::optional<SourceItem> next() = 0;
  // How many inputs there will be, when that can be known cheaply up front (for progress and ETA).
  virtual std::optional<std::uint64_t> count() = 0;
};

// Checks that the source's root exists (NotFoundError "FILE:LINE:COL: source: ...") and opens it.
// `max_pixels` applies to frames a video source decodes.
std::unique_ptr<Source> make_source(const SourceConfig& config, std::int64_t max_pixels);
// A plugin's source (the registry's Source interface) as a pipeline source.
std::unique_ptr<Source> adapt_source(std::unique_ptr<visbone::Source> source);
// Several sources one after the other.
std::unique_ptr<Source> concat_sources(std::vector<std::unique_ptr<Source>> sources);

// The image file extensions a folder source takes by default (lower case, with the dot).
const std::vector<std::string>& image_extensions();

// Whether `path` (relative, '/'-separated) matches a glob pattern of the same form: * ? [..] within one
// component, ** for any number of components.
bool glob_match(const std::string& pattern, const std::string& path);

}  // namespace visbone::pipeline
