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
#include <sstream>

#include "input_check.h"
#include "preprocessing.h"
#include "sink_support.h"
#include "visbone/api/register_builtins.h"
#include "visbone/bit/bit_presets.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/core/json_writer.h"
#include "visbone/core/model_name.h"
#include "visbone/core/omp_threads.h"
#include "visbone/hub/hub.h"
#include "visbone/image/decode.h"
#include "visbone/image/image_processor.h"
#include "visbone/pipeline/atomic_file.h"
#include "visbone/pipeline/sink.h"
#include "visbone/pipeline/source.h"
#include "visbone/registry/plugin_loader.h"
#include "visbone/registry/registry.h"
#include "yaml_fields.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
namespace flow = tbb::flow;
using Clock = std::chrono::steady_clock;

namespace {

enum Stage { kSource, kDecode, kPreprocess, kBackbone, kHeads, kSinks, kStages };
constexpr const char* kStageNames[kStages] = {"source", "decode", "preprocess", "backbone", "heads", "sinks"};

struct Timers {
  std::atomic<std::int64_t> ns[kStages] = {};
};

class ScopedTimer {
 public:
  ScopedTimer(Timers& t, Stage s) : slot_(t.ns[s]), start_(Clock::now()) {}
  ~ScopedTimer() {
    slot_ += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count();
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  std::atomic<std::int64_t>& slot_;
  Clock::time_point start_;
};

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
  std::atomic<int> pending{0};  // heads still to run
  std::mutex errors_mutex;
  std::vector<std::pair<std::string, std::string>> errors;  // head name, message
};
using BatchPtr = std::shared_ptr<Batch>;

std::string where(const ConfigPlace& p, const std::string& what) {
  return p.str() + ": " + what;
}


// A path named in the config must exist; checked before anything is loaded, named absolutely.
void require_path(const fs::path& path, const ConfigPlace& place, const std::string& key) {
  std::error_code ec;
  if (fs::exists(path, ec)) return;
  throw ConfigError(where(place, key + ": " + fs::absolute(path, ec).lexically_normal().string() +
                                     " does not exist"));
}

std::string names_list(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "none" : s;
}

// The error for a `type:` that is neither built in nor registered by a plugin.
[[noreturn]] void unknown_type(const YAML::Node& spec, const std::string& file, const std::string& context,
                               const std::string& kind, const std::string& type,
                               std::vector<std::string> builtin, const std::vector<std::string>& registered) {
  std::vector<std::string> all = builtin;
  all.insert(all.end(), registered.begin(), registered.end());
  std::string msg = context + ".type: unknown " + kind + " type '" + type + "'";
  if (const auto near = detail::closest(type, all); !near.empty()) msg += "; did you mean '" + near + "'?";
  msg += " (built in: " + names_list(builtin) + "; from plugins: " + names_list(registered) + ")";
  throw ConfigError(detail::place_of(spec["type"], file).str() + ": " + msg);
}

}  // namespace

struct Pipeline::Impl {
  PipelineConfig config;
  registry::Registry registry;               // built-ins and the config's plugins
  const registry::Registry* app = nullptr;   // the application's components, for types the first lacks
  // The registry that has `name`, or null; and every name of a kind, for messages.
  const registry::Registry* lookup(registry::ComponentKind kind, const std::string& name) const {
    if (registry.contains(kind, name)) return &registry;
    return app && app->contains(kind, name) ? app : nullptr;
  }
  // Every name of a kind that came from `origin` (built-in or not), for messages.
  std::vector<std::string> names(registry::ComponentKind kind, bool builtin) const {
    std::vector<std::string> all;
    for (const auto* r : {&registry, app})
      if (r)
        for (auto& n : r->names(kind))
          if ((r->info(kind, n).origin == registry::kBuiltin) == builtin &&
              std::find(all.begin(), all.end(), n) == all.end())
            all.push_back(std::move(n));
    return all;
  }
  // The built-in names, those the pipeline builds itself (`own`) first.
  std::vector<std::string> builtin_names(registry::ComponentKind kind, std::vector<std::string> own = {}) const {
    for (auto& n : names(kind, true)) own.push_back(std::move(n));
    return own;
  }
  std::unique_ptr<Source> source;
  std::unique_ptr<Backbone> backbone;
  std::unique_ptr<image::ImageProcessor> processor;
  image::DecodeOptions decode;
  std::vector<std::unique_ptr<Head>> heads;
  std::vector<HeadInfo> head_info;
  std::vector<std::unique_ptr<Sink>> sinks;
  ForwardRequest request;
  std::set<std::string> labels;  // the classification heads' class names, to spot folder labels they lack
  bool keep_images = false;
  bool ran = false;
};

Pipeline::Pipeline(PipelineConfig config, const registry::Registry* app_registry) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.config = std::move(config);
  m.app = app_registry;
  const PipelineConfig& c = m.config;
  const std::string file = c.file.string();
  hub::ResolveOptions hub_options;
  hub_options.with_processor_config = true;  // the pipeline preprocesses
  register_builtins(m.registry, hub_options);
  registry::load_plugins_from_env(m.registry);
  for (std::size_t i = 0; i < c.plugins.size(); ++i)
    require_path(c.plugins[i], i < c.plugin_places.size() ? c.plugin_places[i] : ConfigPlace{file},
                 "plugins[" + std::to_string(i) + "]");
  for (const auto& p : c.plugins) {
    try {
      registry::load_plugin(m.registry, p);
    } catch (const Error& e) {
      throw ConfigError(file + ": plugins: " + e.what());
    }
  }

  // Cheap checks first, so a wrong path is reported before a model is loaded or downloaded.
  const std::int64_t max_pixels = c.max_pixels > 0 ? c.max_pixels : image::kDefaultMaxPixels;
  std::vector<std::unique_ptr<Source>> sources;
  for (std::size_t i = 0; i < c.sources.size(); ++i) {
    const SourceConfig& s = c.sources[i];
    if (s.type != SourceType::plugin) {
      sources.push_back(make_source(s, max_pixels));
      continue;
    }
    const auto* r = m.lookup(registry::ComponentKind::source, s.type_name);
    if (!r)
      unknown_type(s.spec, file, c.sources.size() == 1 ? "source" : "sources[" + std::to_string(i) + "]",
                   "source", s.type_name,
                   m.builtin_names(registry::ComponentKind::source, {"files", "folder", "glob", "list", "video"}),
                   m.names(registry::ComponentKind::source, false));
    sources.push_back(adapt_source(r->build_source(registry::Params(s.spec, file, c.base_dir))));
  }
  m.source = concat_sources(std::move(sources));

  // The backbone spec for the registry: `preset` becomes `type`, and a hub id is fetched here (once) so its
  // folder can also provide preprocessor_config.json.
  YAML::Node spec(YAML::NodeType::Map);
  for (const auto& kv : c.model.spec)
    if (kv.first.Scalar() != "preset") spec[kv.first] = kv.second;
  const YAML::Node& read = spec;  // const lookups never add keys the backbone would then see as unknown
  if (!read["type"]) spec["type"] = c.model.type;
  const std::string revision =
      read["revision"] && read["revision"].IsScalar() ? read["revision"].Scalar() : "main";
  std::optional<fs::path> folder;
  const auto fetch = [&](const std::string& id, const YAML::Node& at) {
    try {
      hub::ResolveOptions o;
      o.revision = revision;
      return hub::hub_model(id, o);
    } catch (const Error& e) {
      throw NotFoundError(detail::place_of(at, file).str() + ": model: " + e.what());
    }
  };
  if (const YAML::Node ckpt = c.model.spec["checkpoint"]; ckpt && ckpt.IsScalar()) {
    // The one model-name rule: an existing path (relative to the YAML's folder), else a hub id.
    const ModelName name = classify_model_name(ckpt.Scalar(), c.base_dir);
    if (name.kind == ModelName::Kind::path) {
      if (fs::is_directory(name.path)) folder = name.path;
    } else if (name.kind == ModelName::Kind::hub_id) {
      folder = fetch(ckpt.Scalar(), ckpt);
      spec["checkpoint"] = folder->string();
    } else {
      throw ConfigError(detail::place_of(ckpt, file).str() + ": model.checkpoint: " +
                        model_name_not_found(name, "a checkpoint folder, a .npz file or a hub id"));
    }
  } else if (!read["config"]) {
    for (const auto& preset : bit::bit_presets())
      if (preset.name == c.model.type && !preset.model_id.empty()) {
        folder = fetch(preset.model_id, c.model.spec);
        spec["checkpoint"] = folder->string();
      }
  }
  if (c.preprocess.from != "checkpoint" && c.preprocess.from != "defaults")
    require_path(c.preprocess.from, c.preprocess.place, "preprocess.from");
  const auto* backbones = m.lookup(registry::ComponentKind::backbone, c.model.type);
  if (!backbones)
    unknown_type(c.model.spec["preset"] ? YAML::Node(c.model.spec["preset"]) : YAML::Node(c.model.spec), file,
                 "model", "backbone", c.model.type, m.builtin_names(registry::ComponentKind::backbone),
                 m.names(registry::ComponentKind::backbone, false));
  try {
    m.backbone = backbones->build_backbone(registry::Params(spec, file, c.base_dir));
  } catch (const ConfigError& e) {
    // Errors raised past the parameters (the stage selection, checked by the model) carry the file but no
    // position; point them at the selection, or at the model.
    const std::string msg = e.what();
    if (msg.rfind(file + ": ", 0) != 0) throw;
    const YAML::Node at = c.model.spec["out_features"]  ? YAML::Node(c.model.spec["out_features"])
                          : c.model.spec["out_indices"] ? YAML::Node(c.model.spec["out_indices"])
                                                        : YAML::Node(c.model.spec);
    throw ConfigError(detail::place_of(at, file).str() + ": " + msg.substr(file.size() + 2));
  }

  m.processor = std::make_unique<image::ImageProcessor>(resolve_preprocessing(c.preprocess, folder, file));
  m.decode = m.processor->decode_options();
  m.decode.max_pixels = max_pixels;
  check_preprocessing_fits(*m.backbone, *m.processor, where(c.preprocess.place, "preprocess"));

  // Heads that embed reference images while they are built (the few-shot head) see them exactly as the
  // pipeline will see its inputs.
  HeadContext context{*m.backbone, [&m](const std::vector<fs::path>& paths) {
                        std::vector<image::Image> images;
                        for (const auto& p : paths) images.push_back(image::read_image(p, m.decode));
                        return m.processor->preprocess(images);
                      }};
  for (std::size_t i = 0; i < c.heads.size(); ++i) {
    const HeadConfig& hc = c.heads[i];
    registry::Params params(hc.spec, file, c.base_dir);
    (void)params.has("name");  // the pipeline's key, read above; not the factory's
    const auto* r = m.lookup(registry::ComponentKind::head, hc.type);
    if (!r)
      unknown_type(hc.spec, file, "heads[" + std::to_string(i) + "]", "head", hc.type,
                   m.builtin_names(registry::ComponentKind::head), m.names(registry::ComponentKind::head, false));
    m.heads.push_back(r->build_head(params, context));
    merge_into(m.request, m.heads.back()->needs());
    HeadDescription d = m.heads.back()->describe();
    m.labels.insert(d.labels.begin(), d.labels.end());
    m.head_info.push_back({hc.name, hc.type, std::move(d.kind), d.top_k, std::move(d.stages)});
  }

  SinkContext ctx;
  ctx.config = &m.config;
  ctx.heads = m.head_info;
  ctx.processor = m.processor.get();
  std::set<fs::path> paths;
  for (std::size_t i = 0; i < c.sinks.size(); ++i) {
    const SinkConfig& s = c.sinks[i];
    const std::string context_name = "sinks[" + std::to_string(i) + "]";
    if (s.type == SinkType::plugin) {
      const auto* r = m.lookup(registry::ComponentKind::sink, s.type_name);
      if (!r)
        unknown_type(s.spec, file, context_name, "sink", s.type_name,
                     m.builtin_names(registry::ComponentKind::sink, {"jsonl", "csv", "safetensors",
                                                                     "annotated_images", "heatmap", "contact_sheet"}),
                     m.names(registry::ComponentKind::sink, false));
      m.sinks.push_back(detail::adapt_sink(r->build_sink(registry::Params(s.spec, file, c.base_dir)),
                                           m.head_info, s.type_name));
      continue;
    }
    const fs::path out = c.output_path(s.path);
    if (!paths.insert(out).second)
      throw ConfigError(
          where(s.place, context_name + ": " + out.string() + " is written by an earlier sink too"));
    m.sinks.push_back(make_sink(s, context_name, ctx));
    m.keep_images = m.keep_images || m.sinks.back()->needs_image();
  }
}

Pipeline::~Pipeline() = default;

const PipelineConfig& Pipeline::config() const {
  return impl_->config;
}
const Backbone& Pipeline::backbone() const {
  return *impl_->backbone;
}

Summary Pipeline::run(const std::function<void(const Progress&)>& on_progress) {
  Impl& m = *impl_;
  if (m.ran) throw Error("Pipeline::run: a pipeline runs once (its sources and sinks are used up)");
  m.ran = true;
  const PipelineConfig& c = m.config;
  const auto start = Clock::now();

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

  std::uint64_t next_seq = 0;
  bool end_sent = false;
  flow::input_node<WorkPtr> source(g, [&](tbb::flow_control& fc) -> WorkPtr {
    ScopedTimer t(timers, kSource);
    auto w = std::make_shared<Work>();
    w->item.seq = next_seq;
    std::optional<SourceItem> s = end_sent ? std::nullopt : m.source->next();
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
    Item& it = w->item;
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
            it.image = image::read_image(it.path, m.decode);
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
        }
        if (!m.keep_images) it.image = {};
        return w;
      });

  const auto by_seq = [](const WorkPtr& w) { return static_cast<std::size_t>(w->item.seq); };
  flow::sequencer_node<WorkPtr> in_order(g, by_seq);

  // Consecutive items of one pixel size form a batch. Failed items ride along (so the batcher only ever holds
  // a contiguous run of items, which keeps the limiter from starving it), and count towards the batch size.
  std::vector<WorkPtr> pending;
  Shape pending_shape;
  bool pending_has_good = false;
  using BatcherNode = flow::multifunction_node<WorkPtr, std::tuple<BatchPtr>>;
  BatcherNode batcher(g, flow::serial, [&](const WorkPtr& w, BatcherNode::output_ports_type& ports) {
    const auto flush = [&] {
      if (pending.empty()) return;
      auto b = std::make_shared<Batch>();
      b->items = std::move(pending);
      pending.clear();
      pending_has_good = false;
      std::get<0>(ports).try_put(b);
    };
    if (w->item.end) {
      flush();
      return;
    }
    if (!w->item.failed()) {
      if (pending_has_good && w->item.pixels.shape() != pending_shape) flush();
      pending_shape = w->item.pixels.shape();
      pending_has_good = true;
    }
    pending.push_back(w);
    if (pending.size() >= batch_size) flush();
  });

  flow::function_node<BatchPtr, BatchPtr> backbone(g, flow::serial, [&](BatchPtr b) {
    // Set before any head can see the batch, so the last head to finish knows it is the last.
    b->pending = static_cast<int>(num_heads);
    for (const auto& w : b->items)
      if (!w->item.failed()) b->good.push_back(w);
    if (b->good.empty()) return b;
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
      it.heads.resize(num_heads);
      it.top_k.resize(num_heads);
    }
    try {
      b->result = m.backbone->forward(input, m.request);
    } catch (const Error& e) {
      for (auto& w : b->good) w->item.fail("backbone", w->item.path + ": " + e.what());
      b->good.clear();
    }
    return b;
  });

  flow::broadcast_node<BatchPtr> to_heads(g);
  std::vector<std::unique_ptr<flow::function_node<BatchPtr, BatchPtr>>> head_nodes;
  for (std::size_t h = 0; h < num_heads; ++h) {
    head_nodes.push_back(std::make_unique<flow::function_node<BatchPtr, BatchPtr>>(
        g, static_cast<std::size_t>(c.concurrency.heads), [&, h](BatchPtr b) {
          if (b->good.empty()) return b;
          ScopedTimer t(timers, kHeads);
          try {
            auto outs = m.heads[h]->run(b->result);
            if (outs.size() != b->good.size())
              throw ShapeError("gave " + std::to_string(outs.size()) + " results for a batch of " +
                               std::to_string(b->good.size()));
            for (std::size_t i = 0; i < b->good.size(); ++i) {
              Item& it = b->good[i]->item;
              it.heads[h] = std::move(outs[i]);
              it.top_k[h] = read_predictions(it.heads[h]);
            }
          } catch (const Error& e) {
            std::lock_guard lock(b->errors_mutex);
            b->errors.emplace_back(m.head_info[h].name, e.what());
          }
          return b;
        }));
  }

  // Fan-in of the heads: the last head to finish a batch releases its items, one by one.
  using GatherNode = flow::multifunction_node<BatchPtr, std::tuple<WorkPtr>>;
  GatherNode heads_done(g, flow::unlimited, [&](const BatchPtr& b, GatherNode::output_ports_type& ports) {
    if (--b->pending > 0) return;
    for (const auto& [head, message] : b->errors)
      for (auto& w : b->good)
        if (!w->item.failed()) w->item.fail("head " + head, w->item.path + ": " + message);
    b->result = {};
    for (const auto& w : b->items) {
      w->pending = static_cast<int>(num_sinks);
      std::get<0>(ports).try_put(w);
    }
  });
  flow::sequencer_node<WorkPtr> out_order(g, by_seq);
  flow::broadcast_node<WorkPtr> to_sinks(g);
  std::vector<std::unique_ptr<flow::function_node<WorkPtr, WorkPtr>>> sink_nodes;
  for (std::size_t s = 0; s < num_sinks; ++s) {
    // Serial and fed in order by the sequencer: every sink sees the inputs in input order.
    sink_nodes.push_back(
        std::make_unique<flow::function_node<WorkPtr, WorkPtr>>(g, flow::serial, [&, s](WorkPtr w) {
          ScopedTimer t(timers, kSinks);
          m.sinks[s]->write(w->item);
          return w;
        }));
  }
  using SinkGather = flow::multifunction_node<WorkPtr, std::tuple<WorkPtr>>;
  SinkGather sinks_done(g, flow::unlimited, [&](const WorkPtr& w, SinkGather::output_ports_type& ports) {
    if (--w->pending == 0) std::get<0>(ports).try_put(w);
  });

  flow::function_node<WorkPtr, flow::continue_msg> done(g, flow::serial, [&](const WorkPtr& w) {
    const Item& it = w->item;
    ++progress.done;
    if (it.failed()) {
      ++progress.failed;
    } else if (it.label) {
      // Accuracy follows the first head (in config order) that gives predictions.
      const auto top =
          std::find_if(it.top_k.begin(), it.top_k.end(), [](const auto& t) { return !t.empty(); });
      if (top != it.top_k.end()) {
        ++summary.labeled;
        if (top->front().label == *it.label) ++summary.correct;
        if (!m.labels.empty() && !m.labels.count(*it.label) && unknown.size() < 100)
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
    flow::make_edge(*n, heads_done);
  }
  flow::make_edge(flow::output_port<0>(heads_done), out_order);
  if (num_sinks == 0) {
    flow::make_edge(out_order, done);
  } else {
    flow::make_edge(out_order, to_sinks);
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
    for (auto& s : m.sinks) s->finish();
  }
  summary.items = progress.done;
  summary.failed = progress.failed;
  summary.ok = progress.done - progress.failed;
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (int s = 0; s < kStages; ++s)
    summary.stages.push_back({kStageNames[s], static_cast<double>(timers.ns[s]) * 1e-9});
  summary.unknown_labels.assign(unknown.begin(), unknown.end());
  for (const auto& s : m.sinks) summary.outputs.push_back(s->describe());
  if (c.summary) {
    const fs::path p = c.output_path(*c.summary);
    summary.outputs.push_back("summary -> " + p.string());
    const std::string text = to_json_text(summary.json()) + "\n";
    write_file_atomic(p, {reinterpret_cast<const unsigned char*>(text.data()), text.size()});
  }
  return summary;
}

}  // namespace visbone::pipeline
