// The manifest a shard writes last (atomically) into the shared output folder, `_manifest.part-I-of-N.json`:
// its presence marks the shard complete. It says which inputs the shard took (range, total, ids), how they
// went (ok/failed, and labelled/correct/unknown labels, so that merge and resume add up the accuracy of the
// whole run), what produced them (a config hash and the visbone version, so shards of another config
// or build are told apart) and, per output file, its merged name, size and SHA-256 (so merge can tell a
// damaged or replaced part).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "visbone/core/sink.h"
#include "visbone/pipeline/config.h"
#include "visbone/pipeline/shard.h"
#include "visbone/pipeline/summary.h"

namespace visbone::pipeline {

struct ShardOutput {
  std::string kind;  // what wrote it: the sink's type (jsonl, csv, safetensors, a plugin's), or summary
  // How merge combines the parts, as the sink said (Sink::outputs()); written as concatenate,
  // concatenate_after_header, safetensors, safetensors_stacked or per_part.
  MergeRule merge = MergeRule::per_part;
  std::string file;    // the part, relative to the output folder
  std::string merged;  // the sink's usual name, relative to the output folder
  std::uint64_t bytes = 0;
  std::string sha256;  // 64 lowercase hex digits
};

struct ShardManifest {
  ShardSpec shard;
  ShardRange range;
  std::uint64_t total = 0;
  int batch_size = 0;
  std::vector<std::string> ids;           // the inputs, in order
  std::vector<std::string> content_keys;  // theirs, as their records carry them (content_key.h)
  std::uint64_t ok = 0, failed = 0;
  std::uint64_t labeled = 0, correct = 0;   // as Summary's
  std::vector<std::string> unknown_labels;  // as Summary's
  std::string config_hash;
  std::string version;
  std::string numerics;  // the backbone's Backbone::numerics(): shards computed otherwise do not merge
  std::vector<ShardOutput> outputs;

  // The shard's counts as a Summary (items, ok, failed, labeled, correct, unknown_labels), to add up.
  Summary counts() const;
};

// The version written into manifests (the project's CMake version).
std::string visbone_version();
// SHA-256 (hex) of what decides a run's outputs: the config file's text, the model spec, batch_size, the
// sources as resolved (command-line --input included).
std::string config_hash(const PipelineConfig& config);

// One sink's output as the sink describes it, with the sink's type.
struct SinkOutputOf {
  std::string type;
  SinkOutput output;
};
// The output files of a sharded run (config.shard): the sinks' outputs (shared folders left out) and the
// summary, with sizes and checksums of the parts as written.
std::vector<ShardOutput> shard_outputs(const PipelineConfig& config, const std::vector<SinkOutputOf>& sinks);

// Writes the manifest atomically to manifest_path(output_dir, shard).
void write_manifest(const std::filesystem::path& output_dir, const ShardManifest& m);
// Reads one; FormatError naming the file and the key for anything missing or of the wrong type.
ShardManifest read_manifest(const std::filesystem::path& file);

}  // namespace visbone::pipeline
