#include "visbone/pipeline/pipeline.h"

#include <omp.h>
#include <tbb/flow_graph.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>
#include <mutex>
#include <new>
#include <opencv2/core.hpp>
#include <set>

#include "batcher.h"
#include "head_join.h"
#include "output_sequencer.h"
#include "pipeline_impl.h"
#include "run_record.h"
#include "stage_timers.h"
#include "success_marker.h"
#include "visbone/core/errors.h"
#include "visbone/core/exception_text.h"
#include "visbone/core/json.h"
#include "visbone/core/omp_threads.h"
#include "visbone/image/decode.h"
#include "visbone/image/image_processor.h"
#include "visbone/pipeline/atomic_file.h"
#include "visbone/pipeline/content_key.h"
#include "visbone/pipeline/predictions.h"
#include "visbone/pipeline/shard_manifest.h"
#include "visbone/registry/registry.h"
#include "yaml_fields.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
namespace flow = tbb::flow;

namespace {

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
  std::optional<HeadJoin> heads;  // the heads' results for `good` (head_join.h)
};
using BatchPtr = std::shared_ptr<Batch>;

}  // namespace

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
  Progress progress;
  progress.total = m.source->count();
  std::set<std::string> unknown;
  Summary summary;

  const std::size_t num_heads = m.heads.size();
  const std::size_t num_sinks = m.sinks.size();
  const std::size_t batch_size = static_cast<std::size_t>(c.batch_size);

  flow::graph g;

  // Failures outside any one input's record (a source that stopped, a sink that failed): the run's outputs
  // are then incomplete (no _SUCCESS, no shard manifest).
  std::mutex errors_mutex;
  const auto record_error = [&](std::string e) {
    const std::lock_guard lock(errors_mutex);
    summary.errors.push_back(std::move(e));
  };

  std::uint64_t next_seq = m.range.begin;  // items keep their position in the whole input
  bool end_sent = false, source_failed = false;
  std::string last_id;  // of the source's last item, to say where a source that throws stopped
  flow::input_node<WorkPtr> source(g, [&](tbb::flow_control& fc) -> WorkPtr {
    ScopedTimer t(timers, kSource);
    auto w = std::make_shared<Work>();
    w->item.seq = next_seq;
    std::optional<SourceItem> s;
    if (!end_sent && !source_failed) {
      try {
        s = m.source->next();
      } catch (...) {
        // A record for the failure; the inputs after it are lost, so the run ends here, incomplete.
        source_failed = true;
        ++next_seq;
        std::string what = current_exception_text();
        if (!last_id.empty()) what += " (after input " + last_id + ")";
        record_error(what);
        w->item.id = last_id.empty() ? "(source)" : last_id + " (next)";
        w->item.fail("source", std::move(what));
        return w;
      }
    }
    if (!s) {
      if (end_sent) {
        fc.stop();
        return {};
      }
      end_sent = true;
      w->item.end = true;
      return w;
    }
    ++next_seq;
    last_id = s->id;
    Item& it = w->item;
    if (auto key = handed_over_key(m.model_key, *s)) it.content_key = std::move(*key);  // else decode's
    it.id = std::move(s->id);
    it.path = std::move(s->path);
    it.label = std::move(s->label);
    if (!s->error.empty()) {
      it.fail("source", std::move(s->error));
    } else if (!s->bytes.empty()) {
      it.bytes = std::move(s->bytes);
    } else if (s->decoded) {
      it.image = std::move(s->image);
      it.decoded = true;
      it.width = it.image.width();
      it.height = it.image.height();
    }
    return w;
  });

  flow::limiter_node<WorkPtr> limiter(g, static_cast<std::size_t>(c.in_flight(m.keep_images)));

  flow::function_node<WorkPtr, WorkPtr> decode(
      g, static_cast<std::size_t>(c.concurrency.decode), [&](WorkPtr w) {
        Item& it = w->item;
        if (it.end || it.failed() || it.decoded) return w;
        ScopedTimer t(timers, kDecode);
        try {
          if (!it.bytes.empty()) {
            it.image = image::decode_image(it.bytes, it.id, m.decode);
            it.bytes = {};
          } else {
            // Read once, for the key and for decoding.
            InputRead r = read_input(m.model_key, it.path, m.decode);
            it.content_key = std::move(r.key);
            if (!r.error.empty()) {
              it.fail("decode", std::move(r.error));
              return w;
            }
            it.image = image::decode_image(r.bytes, it.path, m.decode);
          }
          it.decoded = true;
          it.width = it.image.width();
          it.height = it.image.height();
        } catch (const Error& e) {
          it.fail("decode", e.what());
        } catch (const cv::Exception& e) {
          it.fail("decode", it.path + ": OpenCV: " + e.what());
        } catch (const std::bad_alloc&) {
          it.fail("decode", it.path + ": out of memory while decoding");
        } catch (...) {
          it.fail("decode", it.path + ": " + current_exception_text());
        }
        return w;
      });

  flow::function_node<WorkPtr, WorkPtr> preprocess(
      g, static_cast<std::size_t>(c.concurrency.preprocess), [&](WorkPtr w) {
        Item& it = w->item;
        if (it.end || it.failed()) return w;
        ScopedTimer t(timers, kPreprocess);
        try {
          it.pixels = m.processor->preprocess(it.image);
        } catch (const Error& e) {
          it.fail("preprocess", it.path + ": " + e.what());
        } catch (const std::bad_alloc&) {
          it.fail("preprocess", it.path + ": out of memory while preprocessing");
        } catch (...) {
          it.fail("preprocess", it.path + ": " + current_exception_text());
        }
        if (!m.keep_images) it.image = {};
        return w;
      });

  const auto by_seq = [&](const WorkPtr& w) { return static_cast<std::size_t>(w->item.seq - m.range.begin); };
  flow::sequencer_node<WorkPtr> in_order(g, by_seq);

  // Batches of same-size items within a window of the in-flight limit (batcher.h); the node hands each
  // completed one to the backbone.
  const auto window = static_cast<std::size_t>(c.in_flight(m.keep_images));
  Batcher<WorkPtr> batches(batch_size, window, [](const WorkPtr& w) -> std::optional<Shape> {
    if (w->item.failed()) return std::nullopt;
    return w->item.pixels.shape();
  });
  using BatcherNode = flow::multifunction_node<WorkPtr, std::tuple<BatchPtr>>;
  BatcherNode batcher(g, flow::serial, [&](const WorkPtr& w, BatcherNode::output_ports_type& ports) {
    const auto send = [&](std::vector<WorkPtr> items) {
      if (items.empty()) return;
      auto b = std::make_shared<Batch>();
      b->items = std::move(items);
      std::get<0>(ports).try_put(b);
    };
    for (auto& items : w->item.end ? batches.finish() : batches.add(w)) send(std::move(items));
  });

  // Any exception of a component is an error record of the items it had; a plugin's is named by its file.
  const auto plugin_label = [&](registry::ComponentKind kind, const std::string& type) -> std::string {
    const registry::Registry* r = m.lookup(kind, type);
    const std::string origin = r ? r->info(kind, type).origin : std::string(registry::kBuiltin);
    return origin == registry::kBuiltin ? "" : type + " (" + origin + "): ";
  };
  const std::string backbone_label = plugin_label(registry::ComponentKind::backbone, c.model.type);
  std::vector<std::string> head_labels;
  for (const auto& head : c.heads) head_labels.push_back(plugin_label(registry::ComponentKind::head, head.type));

  std::vector<std::string> head_names;
  for (const auto& h : m.head_info) head_names.push_back(h.name);
  flow::function_node<BatchPtr, BatchPtr> backbone(g, flow::serial, [&](BatchPtr b) {
    for (const auto& w : b->items)
      if (!w->item.failed()) b->good.push_back(w);
    // Made before any head can see the batch, so the last head to finish knows it is the last.
    const auto join = [&] { b->heads.emplace(head_names, b->good.size()); };
    if (b->good.empty()) {
      join();
      return b;
    }
    ScopedTimer t(timers, kBackbone);
    const OmpThreadsScope omp_threads(c.threads);  // per thread in OpenMP, so set where it runs
    const Shape& s = b->good.front()->item.pixels.shape();
    const auto n = static_cast<std::int64_t>(b->good.size());
    Tensor input({n, s[1], s[2], s[3]});
    const std::int64_t per = s[1] * s[2] * s[3];
    for (std::int64_t i = 0; i < n; ++i) {
      Item& it = b->good[static_cast<std::size_t>(i)]->item;
      std::memcpy(input.data() + i * per, it.pixels.data(), static_cast<std::size_t>(per) * sizeof(float));
      it.pixels = {};
    }
    try {
      b->result = m.backbone->forward(input, m.request);
    } catch (...) {
      const std::string what = backbone_label + current_exception_text();
      for (auto& w : b->good) w->item.fail("backbone", w->item.path + ": " + what);
      b->good.clear();
    }
    join();
    return b;
  });

  // Each head reports its results (or failure) to the batch's join; the last to report passes the batch on.
  flow::broadcast_node<BatchPtr> to_heads(g);
  using HeadNode = flow::multifunction_node<BatchPtr, std::tuple<BatchPtr>>;
  std::vector<std::unique_ptr<HeadNode>> head_nodes;
  // Runs head `h` on a batch and reports to the batch's join; true for the report that completes it.
  const auto run_head = [&](std::size_t h, const BatchPtr& b) {
    if (b->good.empty()) return b->heads->put(h, {});
    ScopedTimer t(timers, kHeads);
    try {
      return b->heads->put(h, m.heads[h]->run(b->result));
    } catch (...) {
      return b->heads->fail(h, current_exception_text());
    }
  };
  for (std::size_t h = 0; h < num_heads; ++h)
    head_nodes.push_back(
        std::make_unique<HeadNode>(g, static_cast<std::size_t>(c.concurrency.heads),
                                   [&, h](const BatchPtr& b, HeadNode::output_ports_type& ports) {
                                     if (run_head(h, b)) std::get<0>(ports).try_put(b);
                                   }));

  // The joined batch: its items get their results (or the failing head's error) and go on one by one.
  using ReleaseNode = flow::multifunction_node<BatchPtr, std::tuple<WorkPtr>>;
  ReleaseNode heads_done(g, flow::unlimited, [&](const BatchPtr& b, ReleaseNode::output_ports_type& ports) {
    const auto failure = b->heads->failure();
    for (std::size_t i = 0; i < b->good.size(); ++i) {
      Item& it = b->good[i]->item;
      if (failure) {
        it.fail("head " + failure->head, it.path + ": " + head_labels[failure->index] + failure->message);
        continue;
      }
      it.heads = b->heads->take(i);
      for (auto& r : it.heads) it.top_k.push_back(read_predictions(r));
    }
    b->result = {};
    b->heads.reset();
    for (const auto& w : b->items) {
      w->pending = static_cast<int>(num_sinks);
      std::get<0>(ports).try_put(w);
    }
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
  for (std::size_t s = 0; s < num_sinks; ++s)
    sink_labels.push_back((s < c.sinks.size() ? "sinks[" + std::to_string(s) + "] " : "the default sink ") +
                          m.label(registry::ComponentKind::sink, m.sink_types[s]));
  for (std::size_t s = 0; s < num_sinks; ++s) {
    // Serial and fed in order by the sequencer: every sink sees the inputs in input order.
    sink_nodes.push_back(
        std::make_unique<flow::function_node<WorkPtr, WorkPtr>>(g, flow::serial, [&, s](WorkPtr w) {
          ScopedTimer t(timers, kSinks);
          try {
            m.sinks[s]->write(w->item);
          } catch (...) {
            // This sink misses this input; the other sinks and inputs go on, and the run ends incomplete.
            const Item& it = w->item;
            record_error(sink_labels[s] + ": input " + it.id +
                         (it.path.empty() || it.path == it.id ? "" : " (" + it.path + ")") + ": " +
                         current_exception_text());
          }
          return w;
        }));
  }
  using SinkGather = flow::multifunction_node<WorkPtr, std::tuple<WorkPtr>>;
  SinkGather sinks_done(g, flow::unlimited, [&](const WorkPtr& w, SinkGather::output_ports_type& ports) {
    if (--w->pending == 0) std::get<0>(ports).try_put(w);
  });

  std::vector<std::string> shard_ids, shard_keys;  // for the manifest
  flow::function_node<WorkPtr, flow::continue_msg> done(g, flow::serial, [&](const WorkPtr& w) {
    const Item& it = w->item;
    ++progress.done;
    if (c.shard) {
      shard_ids.push_back(it.id);
      shard_keys.push_back(it.content_key);
    }
    if (it.failed()) {
      ++progress.failed;
    } else if (it.label) {
      // Accuracy follows the first head (in config order) that gives predictions.
      const auto top =
          std::find_if(it.top_k.begin(), it.top_k.end(), [](const auto& t) { return !t.empty(); });
      if (top != it.top_k.end()) {
        ++summary.labeled;
        if (top->front().label == *it.label) ++summary.correct;
        if (!m.labels.empty() && !m.labels.count(*it.label) && unknown.size() < Summary::kMaxUnknownLabels)
          unknown.insert(*it.label);
      }
    }
    progress.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (on_progress) {
      progress.id = it.id;
      progress.error = it.error;
      on_progress(progress);
    }
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
        record_error(sink_labels[s] + ": " + current_exception_text());
      }
    }
  }
  summary.items = progress.done;
  summary.failed = progress.failed;
  summary.ok = progress.done - progress.failed;
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (int s = 0; s < kStages; ++s)
    summary.stages.push_back({kStageNames[s], static_cast<double>(timers.ns[s]) * 1e-9});
  summary.unknown_labels.assign(unknown.begin(), unknown.end());
  summary.sources = m.source_descriptions;
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
    write_manifest(*c.output_dir, {*c.shard, m.range, m.total, c.batch_size, std::move(shard_ids),
                                   std::move(shard_keys), summary.ok, summary.failed, summary.labeled,
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
