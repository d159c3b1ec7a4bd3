// The pipeline: a oneTBB flow graph built from a PipelineConfig.
//
//   source -> limiter -> decode -> preprocess -> sequencer -> batch -> backbone -> heads (in parallel)
//          -> sequencer -> sinks (in parallel, each in input order) -> done -> (frees a limiter token)
//
// - A limiter bounds the items between the source and the sinks, so memory stays flat however many inputs
//   there are; sequencers put items back in input order before batching and before the sinks.
// - Batching groups up to batch_size consecutive items of one pixel size; an end-of-input marker flushes the
//   last batch.
// - The backbone node runs one batch at a time: oneDNN's OpenMP threads own the cores while it runs, so the
//   TBB stages around it are kept small (concurrency.decode / .preprocess) rather than oversubscribing.
// - A bad input (undecodable, over the pixel limit, rejected by the backbone) becomes an error record and
//   the run goes on; an error writing outputs stops the run, and no output file then appears.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "visbone/core/backbone.h"
#include "visbone/core/sink.h"
#include "visbone/core/source.h"
#include "visbone/pipeline/config.h"
#include "visbone/pipeline/shard.h"
#include "visbone/pipeline/summary.h"
#include "visbone/registry/registry.h"

namespace visbone::registry {
class Registry;
}

namespace visbone::pipeline {

struct Progress {
  std::uint64_t done = 0, failed = 0;
  std::optional<std::uint64_t> total;  // when the source could count its inputs
  double seconds = 0;
  // The input just finished, and its error when it failed (so a front end can show failures as they come).
  std::string id;
  std::string error;
};

class Pipeline {
 public:
  // Opens the sources, loads the model (a hub id is fetched through the cache), builds the image processor,
  // the heads and the sinks, and checks that they fit together, all before any input is read. ConfigError
  // "FILE:LINE:COL: ..." for a mismatch; NotFoundError / IoError for missing inputs or checkpoints.
  // Component types come from the built-ins and the config's plugins, then from `app_registry` when given
  // (an application's own heads, sources, sinks and backbones; it must outlive the pipeline, whose components
  // may come from its plugin libraries).
  // `builtins` fills the pipeline's registry with the built-in components (visbone::register_builtins, as
  // api/register_builtins.h's pipeline_builtins() gives it): the pipeline library itself links no backbone
  // or head.
  // `on_loading` is called once every cheap check has passed (config, paths, sources, model keys), just
  // before the model is fetched and loaded: a front end says "loading model..." then, not before an error.
  using Registration = std::function<void(registry::ComponentRegistrar&)>;
  Pipeline(PipelineConfig config, const Registration& builtins,
           const registry::Registry* app_registry = nullptr, const std::function<void()>& on_loading = {});
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Runs every input through the graph once. `on_progress` is called after each input reaches the sinks
  // (from one thread at a time). Failed inputs do not throw, they are counted in the summary; nor does a
  // source or sink that throws: Summary::errors names it, and the outputs are incomplete (no _SUCCESS, no
  // shard manifest). Throws when the run cannot go on otherwise (on_progress throws, out of memory).
  Summary run(const std::function<void(const Progress&)>& on_progress = {});

  const PipelineConfig& config() const;
  const Backbone& backbone() const;

  // A sharded pipeline (config().shard set), run or not: opens its sources and sinks anew for `shard` (of
  // any count) so that run() runs that shard next, with the model, preprocessing and heads loaded once. The
  // unfinished files of the sinks it replaces are removed.
  void select_shard(const ShardSpec& shard);
  // The same for other inputs: `sources` (as PipelineConfig::sources, e.g. parse_config(...).sources) replace
  // the config's, so that run() takes their inputs next, with the sinks opened anew and the model,
  // preprocessing and heads loaded once (records keep this pipeline's model key).
  void select_sources(std::vector<ComponentConfig> sources);

  // What each sink writes (Sink::outputs()), in config order, a default tensor sink last.
  struct SinkOutputs {
    std::string type;
    ConfigPlace place;  // its entry in the config
    std::vector<SinkOutput> outputs;
  };
  std::vector<SinkOutputs> sink_outputs() const;

  // The model's content key, and an input's as run() gives it to the input's records (content_key.h).
  const std::string& model_key() const;
  std::string input_key(const SourceItem& item) const;
  // The config's sources opened anew: every input, in the order run() takes them.
  std::unique_ptr<Source> open_inputs() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace visbone::pipeline
