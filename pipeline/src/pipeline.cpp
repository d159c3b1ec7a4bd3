// Pipeline: runs a built pipeline (assemble.cpp builds it) as a oneTBB flow graph. This file makes the nodes
// from the functors of graph_stages.h, wires them, and writes what the run ends with: the sinks' finish, the
// summary, and the completion markers (a shard's manifest, or the run record and _SUCCESS).
#include "visbone/pipeline/pipeline.h"

#include <tbb/flow_graph.h>
#include <tbb/global_control.h>

#include <chrono>

#include "batcher.h"
#include "graph_stages.h"
#include "output_sequencer.h"
#include "pipeline_impl.h"
#include "run_record.h"
#include "stage_timers.h"
#include "success_marker.h"
#include "visbone/core/errors.h"
#include "visbone/core/exception_text.h"
#include "visbone/pipeline/content_key.h"
#include "visbone/pipeline/shard_manifest.h"
#include "visbone/registry/registry.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
namespace flow = tbb::flow;

Pipeline::~Pipeline() = default;

const PipelineConfig& Pipeline::config() const {
  return impl_->config;
}
const Backbone& Pipeline::backbone() const {
  return *impl_->backbone;
}

void Pipeline::select_shard(const ShardSpec& shard) {
  Impl& m = *impl_;
  if (!m.config.shard) throw Error("Pipeline::select_shard: the pipeline was not made for a sharded run");
  m.config.shard = shard;
  m.reopen();
}

void Pipeline::select_sources(std::vector<ComponentConfig> sources) {
  Impl& m = *impl_;
  m.config.sources = std::move(sources);
  m.reopen();
}

std::vector<Pipeline::SinkOutputs> Pipeline::sink_outputs() const {
  const Impl& m = *impl_;
  std::vector<SinkOutputs> all;
  for (std::size_t s = 0; s < m.sinks.size(); ++s)
    all.push_back({m.sink_types[s],
                   s < m.config.sinks.size() ? m.config.sinks[s].place
                                             : ConfigPlace{m.config.file.string() + " (default sink)"},
                   m.sinks[s]->outputs()});
  return all;
}

const std::string& Pipeline::model_key() const {
  return impl_->model_key;
}

std::string Pipeline::input_key(const SourceItem& item) const {
  return pipeline::input_key(impl_->model_key, item, impl_->decode);
}

std::unique_ptr<Source> Pipeline::open_inputs() const {
  return impl_->build_sources(nullptr);
}

Summary Pipeline::run(const std::function<void(const Progress&)>& on_progress) {
  Impl& m = *impl_;
  if (m.ran) throw Error("Pipeline::run: a pipeline runs once (its sources and sinks are used up)");
  m.ran = true;
  const PipelineConfig& c = m.config;
  const auto start = Clock::now();
  if (c.output_dir) clear_success_marker(*c.output_dir);  // before any output there changes
  // A shard run again is incomplete until it writes its manifest anew.
  if (c.shard) fs::remove(manifest_path(*c.output_dir, *c.shard));
  // What this run will write joins the record of what earlier runs wrote (run_record.h).
  const auto run_files = [&](bool written) {
    RunFiles f = sink_files(m.sinks, written);
    if (c.summary) f.files.push_back(c.output_path(*c.summary));
    return f;
  };
  if (c.output_dir && !c.shard) begin_run_record(*c.output_dir, run_files(false));

  // `threads` caps the TBB workers here and the OpenMP team in the backbone node.
  std::optional<tbb::global_control> limit;
  if (c.threads > 0)
    limit.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(c.threads));

  Timers timers;
  RunErrors errors;
  RunTally tally(m.labels, c.shard.has_value(), start, on_progress, m.source->count());
  const std::size_t num_heads = m.heads.size();
  const std::size_t num_sinks = m.sinks.size();

  // The nodes, in the order items pass them; each node's work is a functor of graph_stages.h.
  flow::graph g;
  SourceReader read(*m.source, m.model_key, m.range.begin, errors, timers);
  flow::input_node<WorkPtr> source(g, [&](tbb::flow_control& fc) {
    WorkPtr w = read();
    if (!w) fc.stop();
    return w;
  });
  const auto window = static_cast<std::size_t>(c.in_flight(m.keep_images));
  flow::limiter_node<WorkPtr> limiter(g, window);
  flow::function_node<WorkPtr, WorkPtr> decode(g, static_cast<std::size_t>(c.concurrency.decode),
                                               Decoder(m.model_key, m.decode, timers));
  flow::function_node<WorkPtr, WorkPtr> preprocess(g, static_cast<std::size_t>(c.concurrency.preprocess),
                                                   Preprocessor(*m.processor, m.keep_images, timers));
  const auto by_seq = [&](const WorkPtr& w) { return static_cast<std::size_t>(w->item.seq - m.range.begin); };
  flow::sequencer_node<WorkPtr> in_order(g, by_seq);

  // Batches of same-size items within a window of the in-flight limit (batcher.h).
  Batcher<WorkPtr> batches(static_cast<std::size_t>(c.batch_size), window,
                           [](const WorkPtr& w) -> std::optional<Shape> {
                             if (w->item.failed()) return std::nullopt;
                             return w->item.pixels.shape();
                           });
  using BatcherNode = flow::multifunction_node<WorkPtr, std::tuple<BatchPtr>>;
  BatcherNode batcher(g, flow::serial, [&](const WorkPtr& w, BatcherNode::output_ports_type& ports) {
    for (auto& items : w->item.end ? batches.finish() : batches.add(w)) {
      if (items.empty()) continue;
      auto b = std::make_shared<Batch>();
      b->items = std::move(items);
      std::get<0>(ports).try_put(b);
    }
  });

  // Any exception of a component is an error record of the items it had; a plugin's is named by its file.
  const auto plugin_label = [&](registry::ComponentKind kind, const std::string& type) -> std::string {
    const std::string label = m.label(kind, type);
    return label == type ? "" : label + ": ";
  };
  std::vector<std::string> head_names, head_labels;
  for (const auto& h : m.head_info) head_names.push_back(h.name);
  for (const auto& head : c.heads)
    head_labels.push_back(plugin_label(registry::ComponentKind::head, head.type));
  flow::function_node<BatchPtr, BatchPtr> backbone(
      g, flow::serial,
      BackboneStage(*m.backbone, m.request, c.threads,
                    plugin_label(registry::ComponentKind::backbone, c.model.type), head_names, timers));

  // Each head reports to the batch's join; the last to report passes the batch on.
  flow::broadcast_node<BatchPtr> to_heads(g);
  using HeadNode = flow::multifunction_node<BatchPtr, std::tuple<BatchPtr>>;
  std::vector<std::unique_ptr<HeadNode>> head_nodes;
  for (std::size_t h = 0; h < num_heads; ++h)
    head_nodes.push_back(std::make_unique<HeadNode>(
        g, static_cast<std::size_t>(c.concurrency.heads),
        [run = HeadStage(*m.heads[h], h, timers)](const BatchPtr& b, HeadNode::output_ports_type& ports) {
          if (run(b)) std::get<0>(ports).try_put(b);
        }));
  using ReleaseNode = flow::multifunction_node<BatchPtr, std::tuple<WorkPtr>>;
  ReleaseNode heads_done(g, flow::unlimited,
                         [results = HeadResults(head_labels, num_sinks)](
                             const BatchPtr& b, ReleaseNode::output_ports_type& ports) {
                           for (auto& w : results(b)) std::get<0>(ports).try_put(w);
                         });
  // Items leave the join in any order; the sinks see them in input order (output_sequencer.h).
  OutputSequencer<WorkPtr> sequencer(m.range.begin, [](const WorkPtr& w) { return w->item.seq; });
  using OrderNode = flow::multifunction_node<WorkPtr, std::tuple<WorkPtr>>;
  OrderNode out_order(g, flow::serial, [&](const WorkPtr& w, OrderNode::output_ports_type& ports) {
    for (auto& ready : sequencer.put(w)) std::get<0>(ports).try_put(ready);
  });
  flow::broadcast_node<WorkPtr> to_sinks(g);
  std::vector<std::unique_ptr<flow::function_node<WorkPtr, WorkPtr>>> sink_nodes;
  std::vector<std::string> sink_labels;  // "sinks[1] annotated_images", "sinks[0] tally (plugin FILE)"
  for (std::size_t s = 0; s < num_sinks; ++s) {
    sink_labels.push_back((s < c.sinks.size() ? "sinks[" + std::to_string(s) + "] " : "the default sink ") +
                          m.label(registry::ComponentKind::sink, m.sink_types[s]));
    // Serial and fed in order by the sequencer: every sink sees the inputs in input order.
    sink_nodes.push_back(std::make_unique<flow::function_node<WorkPtr, WorkPtr>>(
        g, flow::serial, SinkWriter(*m.sinks[s], sink_labels.back(), errors, timers)));
  }
  using SinkGather = flow::multifunction_node<WorkPtr, std::tuple<WorkPtr>>;
  SinkGather sinks_done(g, flow::unlimited, [&](const WorkPtr& w, SinkGather::output_ports_type& ports) {
    if (--w->pending == 0) std::get<0>(ports).try_put(w);
  });
  flow::function_node<WorkPtr, flow::continue_msg> done(g, flow::serial, [&](const WorkPtr& w) {
    tally(w);
    return flow::continue_msg();
  });

  flow::make_edge(source, limiter);
  flow::make_edge(limiter, decode);
  flow::make_edge(decode, preprocess);
  flow::make_edge(preprocess, in_order);
  flow::make_edge(in_order, batcher);
  flow::make_edge(flow::output_port<0>(batcher), backbone);
  flow::make_edge(backbone, to_heads);
  for (auto& n : head_nodes) {
    flow::make_edge(to_heads, *n);
    flow::make_edge(flow::output_port<0>(*n), heads_done);
  }
  flow::make_edge(flow::output_port<0>(heads_done), out_order);
  if (num_sinks == 0) {
    flow::make_edge(flow::output_port<0>(out_order), done);
  } else {
    flow::make_edge(flow::output_port<0>(out_order), to_sinks);
    for (auto& n : sink_nodes) {
      flow::make_edge(to_sinks, *n);
      flow::make_edge(*n, sinks_done);
    }
    flow::make_edge(flow::output_port<0>(sinks_done), done);
  }
  flow::make_edge(done, limiter.decrementer());

  source.activate();
  g.wait_for_all();

  {
    ScopedTimer t(timers, kSinks);
    for (std::size_t s = 0; s < num_sinks; ++s) {
      try {
        m.sinks[s]->finish();
      } catch (...) {
        errors.add(sink_labels[s] + ": " + current_exception_text());
      }
    }
  }
  Summary summary;
  summary.items = tally.progress.done;
  summary.failed = tally.progress.failed;
  summary.ok = summary.items - summary.failed;
  summary.labeled = tally.labeled;
  summary.correct = tally.correct;
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (int s = 0; s < kStages; ++s)
    summary.stages.push_back({kStageNames[s], static_cast<double>(timers.ns[s]) * 1e-9});
  summary.unknown_labels.assign(tally.unknown_labels.begin(), tally.unknown_labels.end());
  summary.sources = m.source_descriptions;
  summary.errors = errors.take();
  for (std::size_t s = 0; s < m.sinks.size(); ++s)
    summary.outputs.push_back({m.sink_types[s], m.sinks[s]->path().string(), m.sinks[s]->describe()});
  if (c.summary) summary.write(c.output_path(*c.summary));
  // A run with errors outside its records is incomplete: no manifest, no _SUCCESS (cleared when it began).
  if (!summary.errors.empty()) return summary;
  if (c.shard) {
    // Last: the manifest marks the shard complete; `visbone merge` writes _SUCCESS for the whole run.
    std::vector<SinkOutputOf> outputs;
    for (std::size_t s = 0; s < m.sinks.size(); ++s)
      for (auto& o : m.sinks[s]->outputs()) outputs.push_back({m.sink_types[s], std::move(o)});
    write_manifest(*c.output_dir, {*c.shard, m.range, m.total, c.batch_size, std::move(tally.shard_ids),
                                   std::move(tally.shard_keys), summary.ok, summary.failed, summary.labeled,
                                   summary.correct, summary.unknown_labels, config_hash(c), visbone_version(),
                                   m.backbone->numerics(), shard_outputs(c, outputs)});
  } else if (c.output_dir) {
    fs::create_directories(*c.output_dir);
    finish_run_record(*c.output_dir, run_files(true));  // an earlier run's files go
    write_success_marker(*c.output_dir);  // after the last output: the folder holds this complete run
  }
  return summary;
}

}  // namespace visbone::pipeline
