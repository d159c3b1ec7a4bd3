// Where a pipeline's inputs come from: a Source hands out items one at a time until it is exhausted.
// Sources are registry components (chosen by `type:` in a pipeline's YAML), so plugins can add their own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace visbone {

struct SourceItem {
  std::string id;                    // unique within the source; names the input in results and errors
  std::string path;                  // the file it came from, when it came from one
  std::optional<std::string> label;  // the true label, when the source knows it (folder-per-label layouts)
  std::vector<std::uint8_t> bytes;   // the encoded image (PNG, JPEG, ...), decoded downstream
};

class Source {
 public:
  virtual ~Source() = default;
  // The next item, or nullopt once the source is exhausted. Called from one thread at a time.
  virtual std::optional<SourceItem> next() = 0;
};

}  // namespace visbone
