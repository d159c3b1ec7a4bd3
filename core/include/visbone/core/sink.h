// Where a pipeline's results go. A Sink sees every input in input order (failed ones too) and makes its
// files appear atomically. Sinks are registry components (chosen by `type:` in a pipeline's YAML); the
// built-in ones (jsonl, csv, safetensors, annotated_images, heatmap, contact_sheet) and a plugin's implement
// this same interface and are built from the same SinkContext, so they pick heads the same way: by what each
// head's describe() says it produces, never by its type name.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "visbone/core/head.h"
#include "visbone/core/item.h"
#include "visbone/image/image_processor.h"

namespace visbone {

// A head as sinks see it before any input runs.
struct SinkHead {
  std::string name;             // keys its results (Item::heads has the heads in this order)
  HeadDescription description;  // what it produces (kind, top_k, labels, stages)
};

// What a sink factory may use besides its parameters.
struct SinkContext {
  std::vector<SinkHead> heads;  // in config order
  // Resolves a sink's output file (absolute as is; relative ones under the run's output folder). In a
  // sharded run each shard gets its own part name (predictions.part-00003-of-00016.jsonl).
  std::function<std::filesystem::path(const std::filesystem::path&)> output_path;
  // Resolves a folder of per-input files, which the shards of a sharded run share under its own name.
  std::function<std::filesystem::path(const std::filesystem::path&)> output_folder;
  // The model's view of an image (resize and crop), for sinks that draw over what the model saw.
  const image::ImageProcessor* processor = nullptr;
};

// How `visbone merge` joins the parts the shards of a sharded run wrote for one output into the file a
// single run writes (see pipeline/merge.h).
enum class MergeRule {
  shared_folder,             // a folder of per-input files the shards share: nothing to merge
  per_part,                  // left as each shard wrote it (a contact sheet)
  concatenate,               // the parts one after another (JSON Lines)
  concatenate_after_header,  // the first part whole, the others without their first line (CSV)
  safetensors,               // one tensor per input and output: rewritten in input order
  safetensors_stacked,       // one (N, ...) tensor per output with an `ids` metadata array: joined on dim 0
};

// One output of a sink and how its shards' parts merge.
struct SinkOutput {
  std::filesystem::path path;  // as written (resolved through SinkContext: a part name in a sharded run)
  MergeRule merge = MergeRule::per_part;
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Whether it draws on the decoded image (which is then kept until the sinks have seen the item).
  virtual bool needs_image() const { return false; }
  // Called for every input, in input order, from one thread at a time. An exception (of any type) is an error
  // naming this sink and the input: the sink misses that input, the run goes on and ends incomplete.
  virtual void write(const Item& item) = 0;
  // Makes the outputs appear. Not called when the run stops, so a stopped run leaves no partial file; called
  // after another sink failed (that run has no _SUCCESS marker).
  virtual void finish() = 0;
  // The file or folder it writes (empty when it writes none), for the summary and overlap checks.
  virtual std::filesystem::path path() const { return {}; }
  // One line for the summary: "heatmap (stage3) -> out/heat/".
  virtual std::string describe() const = 0;
  // What it writes and how a sharded run's parts of it merge; a sharded run's manifest lists them (with
  // sizes and checksums). None (the default): its files are its own business and merge leaves them alone.
  virtual std::vector<SinkOutput> outputs() const { return {}; }
  // The per-input files it wrote so far in this run inside its shared_folder outputs, or nullopt when it does
  // not keep them (the default). A sink that keeps them owns those folders: at the end of a run, image files
  // (.png, .jpg) there that the run did not write, left by an earlier run, are removed (the run record,
  // pipeline/src/run_record.h), so a folder with _SUCCESS holds that run's images only.
  virtual std::optional<std::vector<std::filesystem::path>> written_files() const { return std::nullopt; }
};

}  // namespace visbone
