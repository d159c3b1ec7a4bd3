// The work of the flow graph's nodes, one named functor per node; pipeline.cpp makes the nodes and wires
// them. Each is tested on its own (tests/pipeline/graph_stages_test.cpp), beside the parts that keep state
// across items: Batcher (batcher.h), HeadJoin (head_join.h) and OutputSequencer (output_sequencer.h).
//   source -> SourceReader -> Decoder -> Preprocessor -> (in order) -> Batcher -> BackboneStage
//          -> HeadStage per head -> (HeadJoin) -> HeadResults -> (in order) -> SinkWriter per sink ->
//          RunTally
// A failure inside a node is the failing items' error record (Item::fail), never an exception out of the
// node.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "head_join.h"
#include "stage_timers.h"
#include "visbone/core/backbone.h"
#include "visbone/core/head.h"
#include "visbone/core/item.h"
#include "visbone/core/sink.h"
#include "visbone/core/source.h"
#include "visbone/image/decode.h"
#include "visbone/image/image_processor.h"
#include "visbone/pipeline/pipeline.h"
#include "visbone/pipeline/summary.h"

namespace visbone::pipeline {

// An item on its way through the graph, with the count of sinks still to see it.
struct Work {
  Item item;
  std::atomic<int> pending{0};
};
using WorkPtr = std::shared_ptr<Work>;

struct Batch {
  std::vector<WorkPtr> items;  // in input order, failed ones included
  std::vector<WorkPtr> good;   // the ones the backbone ran on, in the batch tensor's order
  ForwardResult result;
  std::optional<HeadJoin> heads;  // the heads' results for `good`
};
using BatchPtr = std::shared_ptr<Batch>;

// Failures outside any one input's record (a source that stopped, a sink that failed); thread-safe. A run
// with any is incomplete (no _SUCCESS, no shard manifest).
class RunErrors {
 public:
  void add(std::string error);
  std::vector<std::string> take();

 private:
  std::mutex mutex_;
  std::vector<std::string> errors_;
};

// The source node: the next input as a Work numbered from `first_seq`, then one end marker, then null. A
// source that throws ends the input there: one failed item and a run error say after which input it stopped.
class SourceReader {
 public:
  SourceReader(Source& source, std::string model_key, std::uint64_t first_seq, RunErrors& errors,
               Timers& timers);
  WorkPtr operator()();

 private:
  Source& source_;
  std::string model_key_;
  std::uint64_t next_seq_;
  RunErrors& errors_;
  Timers& timers_;
  bool end_sent_ = false, failed_ = false;
  std::string last_id_;
};

// Decodes an item's handed-over bytes or its file (reading it once for its content key and for decoding).
class Decoder {
 public:
  Decoder(std::string model_key, image::DecodeOptions options, Timers& timers);
  WorkPtr operator()(WorkPtr w) const;

 private:
  std::string model_key_;
  image::DecodeOptions options_;
  Timers& timers_;
};

// Preprocesses a decoded item into its pixels; the image is dropped unless a sink draws on it.
class Preprocessor {
 public:
  Preprocessor(const image::ImageProcessor& processor, bool keep_images, Timers& timers);
  WorkPtr operator()(WorkPtr w) const;

 private:
  const image::ImageProcessor& processor_;
  bool keep_images_;
  Timers& timers_;
};

// Runs the backbone on a batch: the items that have not failed, stacked in order into one tensor (their
// pixels are released). A backbone that throws fails those items with its message, prefixed by `label` (the
// plugin that provides it, or empty). Makes the batch's head join before returning, so heads can report.
// `threads` > 0 sets the OpenMP team where the backbone runs.
class BackboneStage {
 public:
  BackboneStage(Backbone& backbone, ForwardRequest request, int threads, std::string label,
                std::vector<std::string> head_names, Timers& timers);
  BatchPtr operator()(BatchPtr b) const;

 private:
  Backbone& backbone_;
  ForwardRequest request_;
  int threads_;
  std::string label_;
  std::vector<std::string> head_names_;
  Timers& timers_;
};

// Runs head `index` on a batch and reports to its join; true for the report that completes the join.
class HeadStage {
 public:
  HeadStage(const Head& head, std::size_t index, Timers& timers);
  bool operator()(const BatchPtr& b) const;

 private:
  const Head& head_;
  std::size_t index_;
  Timers& timers_;
};

// The completed join's results onto the batch's items (with their predictions), or the first failing head's
// error (prefixed by that head's label in `head_labels`); returns every item of the batch, in order, each
// waiting for `sinks` sinks. The batch's features and join are released.
class HeadResults {
 public:
  HeadResults(std::vector<std::string> head_labels, std::size_t sinks);
  std::vector<WorkPtr> operator()(const BatchPtr& b) const;

 private:
  std::vector<std::string> head_labels_;
  std::size_t sinks_;
};

// Writes an item to one sink. A sink that throws misses this input only: a run error names the sink
// (`label`, e.g. "sinks[1] annotated_images") and the input; the item goes on to the other sinks.
class SinkWriter {
 public:
  SinkWriter(Sink& sink, std::string label, RunErrors& errors, Timers& timers);
  WorkPtr operator()(WorkPtr w) const;

 private:
  Sink& sink_;
  std::string label_;
  RunErrors& errors_;
  Timers& timers_;
};

// The last node: counts each finished item into the progress and the summary's accuracy (the first head with
// predictions, in config order), collects a shard's ids and keys, and reports progress.
class RunTally {
 public:
  RunTally(const std::set<std::string>& labels, bool shard, Clock::time_point start,
           std::function<void(const Progress&)> on_progress, std::optional<std::uint64_t> total);
  void operator()(const WorkPtr& w);

  Progress progress;
  std::uint64_t labeled = 0, correct = 0;
  std::set<std::string> unknown_labels;            // true labels the classification heads lack
  std::vector<std::string> shard_ids, shard_keys;  // for the shard manifest

 private:
  const std::set<std::string>& labels_;
  bool shard_;
  Clock::time_point start_;
  std::function<void(const Progress&)> on_progress_;
};

}  // namespace visbone::pipeline
