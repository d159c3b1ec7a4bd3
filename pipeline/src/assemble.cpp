// Assembling a pipeline from its config: plugins, sources, the backbone (a hub id fetched once), the
// preprocessing checked against the backbone, heads and sinks, each built through the registry.
#include <iostream>
#include <set>

#include "input_check.h"
#include "output_check.h"
#include "pipeline_impl.h"
#include "shard_source.h"
#include "visbone/core/errors.h"
#include "visbone/core/exception_text.h"
#include "visbone/core/model_name.h"
#include "visbone/hub/hub.h"
#include "visbone/pipeline/concat_source.h"
#include "visbone/pipeline/content_key.h"
#include "visbone/pipeline/model_loader.h"
#include "visbone/registry/plugin_loader.h"
#include "yaml_fields.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
namespace {

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

// The file a source's spec is read from, for messages: the YAML file, or "--input" for the command line's.
std::string spec_file(const ComponentConfig& s, const std::string& file) {
  return s.place.file == "--input" ? s.place.file : file;
}

// Embeddings and feature maps go to a binary file unless the YAML says where they go: with no safetensors
// sink named, one writing `tensors.safetensors` (one tensor per input and output) is added for the heads
// that describe themselves as embedding or feature_maps. A null node when none is needed.
YAML::Node default_tensor_sink(const PipelineConfig& c, const std::vector<SinkHead>& heads) {
  for (const auto& s : c.sinks)
    if (s.type == "safetensors") return {};
  YAML::Node spec(YAML::NodeType::Map);
  for (const auto& h : heads)
    if (h.description.kind == "embedding" || h.description.kind == "feature_maps") spec["heads"].push_back(h.name);
  if (!spec["heads"]) return {};
  spec["type"] = "safetensors";
  spec["path"] = "tensors.safetensors";
  return spec;
}

// A source whose exceptions, whatever they are, become an Error naming it: "source TYPE (plugin FILE),
// DESCRIBE: what it threw".
class NamedSource : public Source {
 public:
  NamedSource(std::unique_ptr<Source> inner, std::string label)
      : inner_(std::move(inner)), label_(std::move(label)) {}
  std::optional<SourceItem> next() override {
    return guarded([&] { return inner_->next(); });
  }
  std::optional<std::uint64_t> count() override {
    return guarded([&] { return inner_->count(); });
  }
  std::string describe() const override { return inner_->describe(); }
  std::vector<fs::path> reads() const override { return inner_->reads(); }

 private:
  template <class F>
  auto guarded(const F& f) -> decltype(f()) {
    try {
      return f();
    } catch (...) {
      const std::string d = inner_->describe();
      throw Error(label_ + (d.empty() ? "" : ", " + d) + ": " + current_exception_text());
    }
  }
  std::unique_ptr<Source> inner_;
  std::string label_;
};

// What a factory builds; a foreign exception from it (a plugin's) becomes an Error naming the component.
template <class F>
auto built_by(const std::string& label, const F& build) -> decltype(build()) {
  try {
    return build();
  } catch (const Error&) {
    throw;  // visbone's own (a ConfigError for a bad key stays one)
  } catch (...) {
    throw Error(label + ": " + current_exception_text());
  }
}

// The model mapping's keys against those its backbone declares (none declared: the backbone checks them when
// built): "FILE:LINE:COL: unknown key 'chekpoint' in model; did you mean 'checkpoint'?".

}  // namespace

std::unique_ptr<Source> Pipeline::Impl::build_sources(std::vector<std::string>* descriptions) const {
  const PipelineConfig& c = config;
  const std::string file = c.file.string();
  std::vector<std::unique_ptr<Source>> sources;
  SourceContext source_context;
  source_context.max_pixels = c.max_pixels > 0 ? c.max_pixels : image::kDefaultMaxPixels;
  if (c.output_dir) source_context.skip.push_back(*c.output_dir);  // never read a run's own outputs
  for (std::size_t i = 0; i < c.sources.size(); ++i) {
    const ComponentConfig& s = c.sources[i];
    const auto* r = lookup(registry::ComponentKind::source, s.type);
    if (!r)
      unknown_type(s.spec, file, c.sources.size() == 1 ? "source" : "sources[" + std::to_string(i) + "]",
                   "source", s.type, names(registry::ComponentKind::source, true),
                   names(registry::ComponentKind::source, false));
    const std::string name = (c.sources.size() == 1 ? "source " : "sources[" + std::to_string(i) + "] ") +
                             label(registry::ComponentKind::source, s.type);
    sources.push_back(std::make_unique<NamedSource>(
        built_by(name,
                 [&] {
                   return r->build_source(registry::Params(s.spec, spec_file(s, file), c.base_dir),
                                          source_context);
                 }),
        name));
    if (descriptions) descriptions->push_back(sources.back()->describe());
  }
  return concat_sources(std::move(sources));
}

void Pipeline::Impl::open_sources() {
  const PipelineConfig& c = config;
  source_descriptions.clear();
  source = build_sources(&source_descriptions);
  input_paths = source->reads();
  if (c.shard) {
    const std::string file = c.file.string();
    if (!c.output_dir)
      throw ConfigError(file + ": a sharded run needs output_dir (or --output): the folder the shards share");
    const auto count = source->count();
    if (!count) throw ConfigError(file + ": a sharded run needs a source that can count its inputs");
    total = *count;
    range = shard_range(total, c.batch_size, *c.shard);
    source = shard_source(std::move(source), range);
  }
}

void Pipeline::Impl::open_sinks() {
  const PipelineConfig& c = config;
  const std::string file = c.file.string();
  const SinkContext& ctx = sink_context;
  sinks.clear();  // first: their unfinished files go before new ones are made
  sink_types.clear();
  keep_images = false;
  std::vector<PlannedOutput> planned;
  const auto plan = [&](const ConfigPlace& place, const std::string& name) {
    const Sink& sink = *sinks.back();
    if (sink.path().empty()) return;
    bool folder = false;
    for (const auto& o : sink.outputs()) folder = folder || o.merge == MergeRule::shared_folder;
    planned.push_back({sink.path(), place, name, folder});
  };
  for (std::size_t i = 0; i < c.sinks.size(); ++i) {
    const ComponentConfig& s = c.sinks[i];
    const std::string context_name = "sinks[" + std::to_string(i) + "]";
    const auto* r = lookup(registry::ComponentKind::sink, s.type);
    if (!r)
      unknown_type(s.spec, file, context_name, "sink", s.type, names(registry::ComponentKind::sink, true),
                   names(registry::ComponentKind::sink, false));
    sinks.push_back(built_by(context_name + " " + label(registry::ComponentKind::sink, s.type),
                             [&] { return r->build_sink(registry::Params(s.spec, file, c.base_dir), ctx); }));
    sink_types.push_back(s.type);
    keep_images = keep_images || sinks.back()->needs_image();
    const bool keyed = s.spec.IsMap() && s.spec["path"];
    plan(keyed ? detail::place_of(s.spec["path"], file) : s.place, context_name + (keyed ? ".path" : ""));
  }
  if (const YAML::Node spec = default_tensor_sink(c, head_info); spec.IsMap()) {
    if (const auto* r = lookup(registry::ComponentKind::sink, "safetensors")) {
      sinks.push_back(r->build_sink(registry::Params(spec, file + " (default sink)", c.base_dir), ctx));
      sink_types.push_back("safetensors");
      plan({file},
           "the default safetensors sink (the embeddings and feature maps; a safetensors sink places them)");
    }
  }
  if (c.summary) planned.push_back({c.output_path(*c.summary), c.summary_place, "summary"});
  check_outputs(planned, {c.file, input_paths, model_folder, c.output_dir, c.output_dir_place}, std::cerr);
}

Pipeline::Pipeline(PipelineConfig config, const Registration& builtins,
                   const registry::Registry* app_registry, const std::function<void()>& on_loading)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.config = std::move(config);
  m.app = app_registry;
  const PipelineConfig& c = m.config;
  const std::string file = c.file.string();
  // The built-ins come from the caller (register_builtins): the pipeline links no backbone or head.
  if (builtins) builtins(m.registry);
  registry::load_plugins_from_env(m.registry);
  for (std::size_t i = 0; i < c.plugins.size(); ++i)
    detail::require_path(c.plugins[i], i < c.plugin_places.size() ? c.plugin_places[i] : ConfigPlace{file},
                 "plugins[" + std::to_string(i) + "]");
  for (const auto& p : c.plugins) {
    try {
      registry::load_plugin(m.registry, p);
    } catch (const Error& e) {
      throw ConfigError(file + ": plugins: " + e.what());
    }
  }

  // Cheap checks first, so a wrong path is reported before a model is loaded or downloaded: the sources, and
  // the files the heads' parameters name (a classifier's weights, a knn gallery).
  m.open_sources();
  for (std::size_t i = 0; i < c.heads.size(); ++i)
    if (const auto* r = m.lookup(registry::ComponentKind::head, c.heads[i].type))
      for (const auto& param : r->info(registry::ComponentKind::head, c.heads[i].type).params) {
        const YAML::Node value = c.heads[i].spec[param.name];
        if (param.type != "path" || !value || !value.IsScalar()) continue;
        const fs::path given(value.Scalar());
        detail::require_path(given.is_absolute() ? given : c.base_dir / given, detail::place_of(value, file),
                             "heads[" + std::to_string(i) + "]." + param.name);
      }

  // The registry that has the backbone type (its entry says which keys it takes and which hub id a preset
  // loads), then the model and its preprocessing, loaded as `visbone serve` loads them (model_loader.h).
  const auto* backbones = m.lookup(registry::ComponentKind::backbone, c.model.type);
  if (!backbones)
    unknown_type(c.model.spec["preset"] ? YAML::Node(c.model.spec["preset"]) : YAML::Node(c.model.spec), file,
                 "model", "backbone", c.model.type, m.names(registry::ComponentKind::backbone, true),
                 m.names(registry::ComponentKind::backbone, false));
  LoadedModel loaded = load_model(c.model, c.preprocess, *backbones, c.base_dir, file, on_loading);
  m.backbone = std::move(loaded.backbone);
  m.processor = std::move(loaded.processor);
  const std::optional<fs::path> folder = loaded.folder;
  m.model_folder = folder;
  m.decode = m.processor->decode_options();
  m.decode.max_pixels = c.max_pixels > 0 ? c.max_pixels : image::kDefaultMaxPixels;

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
                   m.names(registry::ComponentKind::head, true), m.names(registry::ComponentKind::head, false));
    m.heads.push_back(r->build_head(params, context));
    merge_into(m.request, m.heads.back()->needs());
    HeadDescription d = m.heads.back()->describe();
    m.labels.insert(d.labels.begin(), d.labels.end());
    m.head_info.push_back({hc.name, std::move(d)});
  }

  m.model_key = pipeline::model_key(c, folder, m.backbone->numerics());
  m.sink_context.heads = m.head_info;
  m.sink_context.output_path = [&c = m.config](const fs::path& p) { return c.output_path(p); };
  m.sink_context.output_folder = [&c = m.config](const fs::path& p) { return c.output_folder(p); };
  m.sink_context.processor = m.processor.get();
  m.open_sinks();
}

}  // namespace visbone::pipeline
