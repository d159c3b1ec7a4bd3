// The YAML of `visbone serve`: the `model:` / `preprocess:` / `heads:` sections that `visbone run` reads,
// once at the top level (served as `default`) or per model under `models:`, and a `serve:` section with
// the address, the dynamic batcher (Triton's names) and the limits:
//
//   serve: {host: 127.0.0.1, port: 8000, max_batch_size: 8, preferred_batch_size: 4,
//           max_queue_delay_microseconds: 2000, max_queue_size: 64}
//   model: {checkpoint: ../tests/data/models/bit-tiny-digits, out_features: [stage4]}
//   heads: [{type: classification, top_k: 3}]
//
//   # or several models by name
//   models:
//     digits: {model: {checkpoint: digits-model}, heads: [{type: classification}]}
//     bit50:  {model: {preset: bit-50}, preprocess: {from: defaults}}
//
// The pipeline's other top-level keys (source, sinks, batch_size, ...) are accepted and ignored, so one
// file can serve and run. Anything else is a ConfigError naming the key and its line.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace visbone::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port (the one taken is printed)
  // Dynamic batching: requests that arrive within max_queue_delay_microseconds of the first waiting one run
  // as one batch of at most max_batch_size images; a batch that reaches preferred_batch_size runs at once.
  bool dynamic_batching = true;
  int max_batch_size = 8;
  int preferred_batch_size = 0;  // 0: max_batch_size
  std::int64_t max_queue_delay_microseconds = 2000;
  // Limits. Over max_queue_size images waiting for a model: 503 with Retry-After.
  int max_queue_size = 64;
  std::int64_t max_body_bytes = 32 << 20;
  std::int64_t max_pixels = 40'000'000;  // decoded image or input tensor, height x width
  int max_connections = 64;
  double header_timeout_seconds = 10;  // from a connection's first byte (or its last response) to a header
  double read_timeout_seconds = 30;    // for the body once the header is in
  int io_threads = 2;                  // threads parsing HTTP, JSON and images
};

// One served model: the sections as written (checked when the model is built).
struct ModelSection {
  std::string name;
  YAML::Node model;
  YAML::Node preprocess;  // null: the checkpoint's processor, or the model's defaults with a notice
  YAML::Node heads;       // null or a list
};

struct ServeConfig {
  std::filesystem::path file;
  std::filesystem::path base_dir;  // relative paths in the model sections resolve against it
  ServeOptions options;
  std::vector<ModelSection> models;
};

// ConfigError "FILE:LINE:COL: ..." for a mistake; IoError when the file cannot be read.
ServeConfig load_serve_config(const std::filesystem::path& file);
ServeConfig parse_serve_config(const std::string& yaml, const std::filesystem::path& file);

}  // namespace visbone::serve
