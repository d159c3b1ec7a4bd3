// The YAML configuration of a pipeline run, in the style of mmengine/detectron2 configs:
//
//   source: {type: folder, path: ../data/digits, labels_from_folders: true}
//   model: {checkpoint: ../tests/data/models/bit-tiny-digits, out_features: [stage4]}
//   heads: [{type: classification, top_k: 3}]
//   sinks: [{type: jsonl, path: predictions.jsonl}]
//   batch_size: 32
//
// Parsing is strict: an unknown key, a value of the wrong type or a missing required key is a ConfigError
// "FILE:LINE:COLUMN: ..." naming the key and what was expected (and, for a misspelt key, the closest valid
// one), so a typo never silently falls back to a default. Relative paths resolve against the config file's
// folder; sink paths against `output_dir` when it is given. The full reference is in the README.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "visbone/pipeline/shard.h"
#include "visbone/yaml/yaml_limits.h"

namespace visbone::pipeline {

// Where a value sits in the config file, so checks made after parsing (when the graph is built) can still
// point at the line. line/column are 1-based; 0 when the value did not come from the file (an override).
struct ConfigPlace {
  std::string file;
  int line = 0;
  int column = 0;
  // "FILE:LINE:COLUMN" (or "FILE" without a position).
  std::string str() const;
};

// A source or a sink: a registry spec (`{type: folder, path: images}`), built-in or from a plugin alike. The
// registry checks its keys when the pipeline is built; relative paths in it resolve against the YAML file's
// folder (sink paths against `output_dir` when it is given).
struct ComponentConfig {
  ConfigPlace place;
  std::string type;
  YAML::Node spec;  // the mapping as written (`type` included)
};

// The backbone: a registry spec (mmengine style) such as {type: bit, checkpoint: FOLDER_OR_HUB_ID,
// out_features: [...]}. `type` defaults to bit; `preset: NAME` is shorthand for `type: NAME` (bit-50, R50x1,
// ...). Keys other than type/preset are the backbone's own and are checked by it when the pipeline is built.
struct ModelConfig {
  ConfigPlace place;
  std::string type = "bit";
  YAML::Node spec;  // the mapping as written
};

struct PreprocessConfig {
  ConfigPlace place;
  // The base settings: "checkpoint" (its preprocessor_config.json), "defaults" (transformers'
  // BitImageProcessor defaults) or a resolved path to a preprocessor_config.json (or a folder holding one).
  std::string from = "checkpoint";
  // Whether `from` was written (preprocess: checkpoint, {from: ...}). When not, a checkpoint without
  // preprocessor_config.json gets the model's defaults with a notice instead of an error.
  bool from_given = false;
  std::string from_text;  // `from` as written, and where: a path that does not exist may be a misspelt keyword
  ConfigPlace from_place;
  // preprocessor_config.json keys given inline, applied over the base (a YAML mapping, possibly empty). They
  // keep their marks so a bad value is reported at its line when the processor is built.
  YAML::Node overrides;
};

// A head: a registry spec ({type: classification, top_k: 5}); the registry checks its keys when the
// pipeline is built. `name` (default: the type) keys the head's results in records and sinks.
struct HeadConfig {
  ConfigPlace place;
  std::string type;
  std::string name;
  YAML::Node spec;  // the mapping as written (`name` included; the pipeline reads it, the factory ignores it)
};

struct Concurrency {
  int decode = 2;  // decode runs beside the backbone's OpenMP threads; keep it modest
  int preprocess = 2;
  int heads = 1;  // per head; heads run in parallel with each other
};

struct PipelineConfig {
  std::filesystem::path file;      // the config file, for messages
  std::filesystem::path base_dir;  // its folder, absolute: relative paths resolve against it
  std::vector<std::filesystem::path>
      plugins;  // plugin libraries to load (resolved), besides $VISBONE_PLUGIN_PATH
  std::vector<ConfigPlace> plugin_places;  // where each of `plugins` is written, for messages
  std::vector<ComponentConfig> sources;
  ModelConfig model;
  PreprocessConfig preprocess;
  std::vector<HeadConfig> heads;
  std::vector<ComponentConfig> sinks;
  std::optional<std::filesystem::path> output_dir;  // resolved; sink paths are relative to it when set
  std::optional<std::filesystem::path> summary;  // where to write the summary as JSON (resolved like sinks)
  ConfigPlace output_dir_place, summary_place;   // where each is written ("--output" for the option's)
  int batch_size = 8;
  int threads = 0;        // cores for the whole run (0 = all)
  int max_in_flight = 0;  // items between the source and the sinks (0 = chosen from batch_size)
  Concurrency concurrency;
  std::int64_t max_pixels = 0;  // 0 = the decoder's default limit (Pillow's decompression-bomb limit)
  bool fail_on_error = true;    // a failed input makes the exit status non-zero
  // Set for `visbone run --shard i/N`: the run takes shard i's inputs and writes part files and a manifest.
  std::optional<ShardSpec> shard;

  // A sink's (or the summary's) file: absolute as is, else under output_dir, else under base_dir. In a
  // sharded run it gets its part name (predictions.part-00003-of-00016.jsonl).
  std::filesystem::path output_path(const std::filesystem::path& p) const;
  // A sink's folder of per-input files (annotated_images, heatmap): resolved the same way, and shared by the
  // shards of a sharded run as it is (the files in it are named by input, so they do not collide).
  std::filesystem::path output_folder(const std::filesystem::path& p) const;
  // In-flight bound actually used: max_in_flight, or 4 * batch_size (2 * batch_size when sinks keep the
  // decoded images) + the decode and preprocess workers.
  int in_flight(bool images_kept = false) const;
};

// A `model:` entry ({checkpoint: ...}, {preset: NAME}, {type: NAME, ...}) as `run` and `serve` read it: its type
// (`preset` is shorthand for it) and the mapping, whose other keys the backbone's registry entry checks.
ModelConfig parse_model(const YAML::Node& node, const std::string& file);

// A `preprocess:` entry (checkpoint, defaults, a path, or a mapping with `from` and inline keys) as `run` and
// `serve` read it; `file` names the YAML in messages, paths resolve against `base`.
PreprocessConfig parse_preprocess(const YAML::Node& node, const std::string& file, const std::filesystem::path& base);

// Reads and parses a config file. IoError if it cannot be read (or is over limits.max_bytes); ConfigError
// "FILE:LINE:COL: ..." otherwise, including for a document over `limits`.
PipelineConfig load_config(const std::filesystem::path& file, const yaml::YamlLimits& limits = {});
// Parses YAML text; `file` names it in messages and its folder is the base for relative paths.
PipelineConfig parse_config(std::string_view yaml, const std::filesystem::path& file,
                            const yaml::YamlLimits& limits = {});

// Command-line values that replace the config's (relative paths here resolve against the working folder,
// as command-line paths do). A path given to `input` that does not exist (and is not a glob) is a
// ConfigError naming it, before anything is loaded.
struct Overrides {
  std::optional<std::string> input;   // replaces the sources with one source of the type PATH implies
  std::optional<std::string> output;  // replaces output_dir
  std::optional<int> batch_size;
  std::optional<int> threads;
};
// Applies overrides; ConfigError naming the option for a bad value.
void apply_overrides(PipelineConfig& config, const Overrides& overrides);

// The source a bare path implies: a folder, a glob (has * ? or [), a video (by extension), a list (.txt or
// .lst) or one image file (`files`). Relative paths resolve against `base`; the spec holds them absolute.
ComponentConfig source_for_path(const std::string& path, const std::filesystem::path& base);

}  // namespace visbone::pipeline
