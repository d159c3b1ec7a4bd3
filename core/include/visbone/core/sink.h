// Where a pipeline's results go: a Sink receives one record per input, in input order. Sinks are registry
// components (chosen by `type:` in a pipeline's YAML), so plugins can add their own.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "visbone/core/head.h"

namespace visbone {

struct SinkRecord {
  std::uint64_t seq = 0;                    // position in the input, from 0
  std::string id;                           // the source item's id
  std::optional<std::string> label;         // the true label, when the source knew it
  std::string error;                        // non-empty when the input failed; then `heads` is empty
  std::map<std::string, HeadResult> heads;  // by head name
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Called from one thread at a time, in input order.
  virtual void write(const SinkRecord& record) = 0;
  // Flushes and finishes the output (a file is complete only after close()).
  virtual void close() = 0;
};

}  // namespace visbone
