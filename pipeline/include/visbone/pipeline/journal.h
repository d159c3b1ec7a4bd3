// Resumable runs (issue #17 item 3): `visbone run CONFIG --output DIR --resume` runs in chunks, each
// committed atomically and recorded in a journal, so that a run killed at any moment (kill -9 included) goes
// on from its last committed chunk when started again with --resume, and the files it finally writes are the
// bytes of an uninterrupted run.
//
// - Chunks are the shards of shard.h with N = ceil(total / chunk_inputs) (chunk_inputs rounded up to whole
//   batches), so batches, and the numbers, are those of a single run. Each chunk runs as a shard into the
//   hidden journal folder DIR/.visbone-journal/: its part files are written atomically (write, fsync,
//   rename), then its manifest, which commits the chunk.
// - The journal: `journal.json` holds the run's key (below), the input total and the chunk count; per chunk,
//   `_keys.part-I-of-N.json` holds the content key of each of its inputs and is written before the chunk
//   runs (after its old manifest is removed), so a manifest always sits beside the keys of the inputs it
//   was made from.
// - Content keys: the run's key is the SHA-256 of the config hash (shard_manifest.h), the model's files
//   (weights, config.json, preprocessor_config.json; a hub id by name and revision), the preprocessing
//   config and the visbone version. An input's key is the SHA-256 of the run's key and the input's bytes (a
//   decoded frame: its pixels), so a chunk is reused only when neither its inputs nor the model changed;
//   another run's key discards the whole journal.
// - After the last chunk, merge.h's code joins the parts (byte-identical to a single run), the merged files
//   are renamed into DIR, `_SUCCESS` is written and the journal removed. Killed in between, the next
//   --resume merges again.
// Resumable runs take the jsonl, csv and safetensors sinks with relative paths, built-in sources that can
// count their inputs, and no `summary` file; anything else is a ConfigError naming it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "visbone/pipeline/config.h"
#include "visbone/pipeline/pipeline.h"

namespace visbone::pipeline {

struct ResumeOptions {
  std::uint64_t chunk_inputs = 0;  // inputs per chunk (rounded up to whole batches); 0: 64 batches
};

struct ResumeReport {
  Summary summary;  // items, ok and failed over every chunk; times and accuracy of the chunks run now
  int chunks = 0;
  int reused = 0;  // chunks taken from the journal as they were
};

// Runs `config` resumably into its output_dir (see above).
ResumeReport run_resumable(const PipelineConfig& config, const Pipeline::Registration& builtins,
                           const ResumeOptions& options,
                           const std::function<void(const Progress&)>& on_progress = {});

// The journal folder of an output folder: DIR/.visbone-journal.
std::filesystem::path journal_dir(const std::filesystem::path& output_dir);

}  // namespace visbone::pipeline
