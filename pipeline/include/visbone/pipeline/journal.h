// Resumable runs (issue #17 item 3): `visbone run CONFIG --output DIR --resume` runs in chunks, each
// committed atomically and recorded in a journal, so that a run killed at any moment (kill -9 included) goes
// on from its last committed chunk when started again with --resume, and the files it finally writes are the
// bytes of an uninterrupted run.
//
// - Chunks are the shards of shard.h with N = ceil(total / chunk_inputs) (chunk_inputs rounded up to whole
//   batches), so batches, and the numbers, are those of a single run. Each chunk runs as a shard into the
//   hidden journal folder DIR/.visbone-journal/: its part files are written atomically (write, fsync,
//   rename), then its manifest, which commits the chunk.
// - The model is loaded once for every chunk that runs: one Pipeline, pointed at each chunk in turn
//   (Pipeline::select_shard).
// - The journal: `journal.json` holds the config hash, the model's key (content_key.h), the input total, the
//   chunk count and the visbone version; another run's (config, model, version or input count changed)
//   discards the whole journal. Each chunk's manifest lists the content key of each of its inputs, as the
//   chunk's records carry it (content_key.h): a committed chunk is taken only when its inputs' keys, read
//   now, are those; otherwise the chunk runs again. Each input is read once per run: a taken chunk's inputs
//   for their keys here, a chunk that runs reads its own in the pipeline.
// - After the last chunk, merge.h's code joins the parts (byte-identical to a single run), the merged files
//   are renamed into DIR, `_SUCCESS` is written and the journal removed. Killed in between, the next
//   --resume merges again.
// Resumable runs take any sink whose outputs merge into one file (Sink::outputs(): jsonl, csv, safetensors,
// embedding_index, a plugin's that says so) with paths inside the output folder, sources that can count
// their inputs, and no `summary` file; anything else is a ConfigError naming it (a sink's once the model
// is loaded: its outputs are known once it is built).
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

// Runs `config` resumably into its output_dir (see above). `on_loading` as Pipeline's.
ResumeReport run_resumable(const PipelineConfig& config, const Pipeline::Registration& builtins,
                           const ResumeOptions& options,
                           const std::function<void(const Progress&)>& on_progress = {},
                           const std::function<void()>& on_loading = {});

// The journal folder of an output folder: DIR/.visbone-journal.
std::filesystem::path journal_dir(const std::filesystem::path& output_dir);

}  // namespace visbone::pipeline
