// `visbone merge OUTPUT_DIR`: joins the parts the shards of a run wrote into that folder into the files a
// single-process run writes there, byte for byte, then writes _SUCCESS.
//
// Before anything is written it checks the manifests: every shard of N present, one config hash and visbone
// version, input ranges that tile [0, total) without gap or overlap, and each part's size and SHA-256. A
// missing, foreign or damaged shard is an error naming its file. Each output merges as its sink said when it
// ran (Sink::outputs(), kept in the manifest), a plugin sink's as a built-in's: JSON Lines parts are
// concatenated in shard order, CSV parts too with the header once, safetensors parts are re-written through
// the sink's own writer (per-input tensors in order; stacked tensors joined along dim 0 with their `ids`
// metadata; the `content_keys` metadata joined likewise), so the result is the single run's file. Contact
// sheets stay per part (noted in the result); folders of per-input files are shared by the shards and need
// nothing. The shards' counts (from their manifests) add up to the single run's; with `summary:` set, the
// merged summary (at the single run's path) holds those counts, the time summed over the shards, `shards`,
// and the files merge wrote.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "visbone/core/sink.h"
#include "visbone/pipeline/summary.h"

namespace visbone::pipeline {

// Whether merge joins the parts of an output with this rule into the one file a single run writes
// (concatenated or stacked), rather than leaving them per part or shared.
bool merges_into_one_file(MergeRule rule);

struct MergeResult {
  std::vector<std::string> lines;  // one per output: what was written or left per part
  // The shards' counts added up (ShardManifest::counts, Summary::add): the single run's items, ok, failed,
  // labelled inputs, hits and unknown labels; outputs: the files merge wrote or left per part.
  Summary counts;
};

// Merges in place. Error (exit 1) for a missing or foreign shard or a damaged part, naming the file.
MergeResult merge_shards(const std::filesystem::path& output_dir);

}  // namespace visbone::pipeline
