// Assembling a pipeline from its config: plugins, sources, the backbone (a hub id fetched once), the
// preprocessing checked against the backbone, heads and sinks, each built through the registry.
#include <iostream>
#include <set>

#include "input_check.h"
#include "pipeline_impl.h"
#include "visbone/pipeline/preprocessing.h"
#include "shard_source.h"
#include "visbone/core/errors.h"
#include "visbone/core/model_name.h"
#include "visbone/hub/hub.h"
#include "visbone/pipeline/concat_source.h"
#include "visbone/pipeline/content_key.h"
#include "visbone/registry/plugin_loader.h"
#include "yaml_fields.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
namespace {

std::string where(const ConfigPlace& p, const std::string& what) {
  return p.str() + ": " + what;
}


// A path named in the config must exist; checked before anything is loaded, named absolutely.
// `hint` follows the message ("; did you mean ...").
void require_path(const fs::path& path, const ConfigPlace& place, const std::string& key,
                  const std::string& hint = "") {
  std::error_code ec;
  if (fs::exists(path, ec)) return;
  throw ConfigError(where(place, key + ": " + fs::absolute(path, ec).lexically_normal().string() +
                                     " does not exist" + hint));
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

// The model mapping's keys against those its backbone declares (none declared: the backbone checks them when
// built): "FILE:LINE:COL: unknown key 'chekpoint' in model; did you mean 'checkpoint'?".
void check_model_keys(const ModelConfig& model, const registry::ComponentInfo& backbone,
                      const std::string& file) {
  if (backbone.params.empty()) return;
  std::vector<std::string> keys = {"type", "preset"};
  for (const auto& p : backbone.params) keys.push_back(p.name);
  detail::MapReader(model.spec, file, "model").check_keys(keys);
}

}  // namespace

std::unique_ptr<Source> Pipeline::Impl::build_sources(std::vector<std::string>* descriptions) const {
  const PipelineConfig& c = config;
  const std::string file = c.file.string();
  std::vector<std::unique_ptr<Source>> sources;
  SourceContext source_context;
  source_context.max_pixels = c.max_pixels > 0 ? c.max_pixels : image::kDefaultMaxPixels;
  for (std::size_t i = 0; i < c.sources.size(); ++i) {
    const ComponentConfig& s = c.sources[i];
    const auto* r = lookup(registry::ComponentKind::source, s.type);
    if (!r)
      unknown_type(s.spec, file, c.sources.size() == 1 ? "source" : "sources[" + std::to_string(i) + "]",
                   "source", s.type, names(registry::ComponentKind::source, true),
                   names(registry::ComponentKind::source, false));
    sources.push_back(
        r->build_source(registry::Params(s.spec, spec_file(s, file), c.base_dir), source_context));
    if (descriptions) descriptions->push_back(sources.back()->describe());
  }
  return concat_sources(std::move(sources));
}

void Pipeline::Impl::open_sources() {
  const PipelineConfig& c = config;
  source_descriptions.clear();
  source = build_sources(&source_descriptions);
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
  std::set<fs::path> paths;
  for (std::size_t i = 0; i < c.sinks.size(); ++i) {
    const ComponentConfig& s = c.sinks[i];
    const std::string context_name = "sinks[" + std::to_string(i) + "]";
    const auto* r = lookup(registry::ComponentKind::sink, s.type);
    if (!r)
      unknown_type(s.spec, file, context_name, "sink", s.type, names(registry::ComponentKind::sink, true),
                   names(registry::ComponentKind::sink, false));
    sinks.push_back(r->build_sink(registry::Params(s.spec, file, c.base_dir), ctx));
    sink_types.push_back(s.type);
    keep_images = keep_images || sinks.back()->needs_image();
    const fs::path out = sinks.back()->path();
    if (!out.empty() && !paths.insert(out.lexically_normal()).second)
      throw ConfigError(
          where(s.place, context_name + ": " + out.string() + " is written by an earlier sink too"));
  }
  if (const YAML::Node spec = default_tensor_sink(c, head_info); spec.IsMap()) {
    if (const auto* r = lookup(registry::ComponentKind::sink, "safetensors")) {
      sinks.push_back(r->build_sink(registry::Params(spec, file + " (default sink)", c.base_dir), ctx));
      sink_types.push_back("safetensors");
      if (!paths.insert(sinks.back()->path().lexically_normal()).second)
        throw ConfigError(file + ": sinks: " + sinks.back()->path().string() +
                          " is written by another sink, and the default output of the embeddings and feature "
                          "maps goes there too; add a safetensors sink for them");
    }
  }
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
  m.open_sources();

  // The backbone's registry entry says which keys it takes (a typo is named before anything is fetched) and
  // which hub id it loads when the spec names no checkpoint (a preset's).
  const auto* backbones = m.lookup(registry::ComponentKind::backbone, c.model.type);
  if (!backbones)
    unknown_type(c.model.spec["preset"] ? YAML::Node(c.model.spec["preset"]) : YAML::Node(c.model.spec), file,
                 "model", "backbone", c.model.type, m.names(registry::ComponentKind::backbone, true),
                 m.names(registry::ComponentKind::backbone, false));
  const registry::ComponentInfo& backbone_info =
      backbones->info(registry::ComponentKind::backbone, c.model.type);
  check_model_keys(c.model, backbone_info, file);
  if (c.preprocess.from != "checkpoint" && c.preprocess.from != "defaults") {
    // `from: default` is far likelier a misspelt keyword than a file of that name.
    const std::string near = detail::closest(c.preprocess.from_text, {"checkpoint", "defaults"});
    require_path(c.preprocess.from, c.preprocess.from_place, "preprocess.from",
                 near.empty()
                     ? "; expected checkpoint, defaults or a preprocessor_config.json (or its folder)"
                     : "; did you mean '" + near + "'?");
  }
  if (on_loading) on_loading();  // every cheap check done: what follows fetches and loads

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
      o.with_processor_config = true;  // the pipeline preprocesses
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
  } else if (!read["config"] && !backbone_info.default_checkpoint.empty()) {
    folder = fetch(backbone_info.default_checkpoint, c.model.spec);
    spec["checkpoint"] = folder->string();
  }
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
  m.decode.max_pixels = c.max_pixels > 0 ? c.max_pixels : image::kDefaultMaxPixels;
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
