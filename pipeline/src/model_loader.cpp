#include "visbone/pipeline/model_loader.h"

#include "input_check.h"
#include "visbone/core/errors.h"
#include "visbone/core/model_name.h"
#include "visbone/hub/hub.h"
#include "visbone/pipeline/preprocessing.h"
#include "yaml_fields.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;

namespace {

// The model's keys against what its registry entry documents (a typo is named before anything is fetched).
void check_model_keys(const ModelConfig& model, const registry::ComponentInfo& backbone, const std::string& file) {
  if (backbone.params.empty()) return;
  std::vector<std::string> keys = {"type", "preset"};
  for (const auto& p : backbone.params) keys.push_back(p.name);
  detail::MapReader(model.spec, file, "model").check_keys(keys);
}

}  // namespace

LoadedModel load_model(const ModelConfig& model, const PreprocessConfig& preprocess,
                       const registry::Registry& backbones, const fs::path& base_dir, const std::string& file,
                       const std::function<void()>& on_loading) {
  if (!backbones.contains(registry::ComponentKind::backbone, model.type)) {
    const auto names = backbones.names(registry::ComponentKind::backbone);
    const std::string near = detail::closest(model.type, names);
    throw ConfigError(model.place.str() + ": model: unknown backbone type '" + model.type + "'" +
                      (near.empty() ? "" : "; did you mean '" + near + "'?") + " (known: " + detail::join(names) + ")");
  }
  const registry::ComponentInfo& info = backbones.info(registry::ComponentKind::backbone, model.type);
  check_model_keys(model, info, file);
  if (preprocess.from != "checkpoint" && preprocess.from != "defaults") {
    // `from: default` is far likelier a misspelt keyword than a file of that name.
    const std::string near = detail::closest(preprocess.from_text, {"checkpoint", "defaults"});
    detail::require_path(preprocess.from, preprocess.from_place, "preprocess.from",
                         near.empty() ? "; expected checkpoint, defaults or a preprocessor_config.json (or its folder)"
                                      : "; did you mean '" + near + "'?");
  }
  if (on_loading) on_loading();  // every cheap check done: what follows fetches and loads

  // The backbone spec for the registry: `preset` becomes `type`, and a hub id is fetched here (once) so its
  // folder can also provide preprocessor_config.json.
  YAML::Node spec(YAML::NodeType::Map);
  for (const auto& kv : model.spec)
    if (kv.first.Scalar() != "preset") spec[kv.first] = kv.second;
  const YAML::Node& read = spec;  // const lookups never add keys the backbone would then see as unknown
  if (!read["type"]) spec["type"] = model.type;
  const std::string revision = read["revision"] && read["revision"].IsScalar() ? read["revision"].Scalar() : "main";
  // The fetch below is what reads it (the backbone then gets the snapshot's folder); for a local path it means
  // nothing, as for transformers' from_pretrained.
  spec.remove("revision");
  LoadedModel out;
  const auto fetch = [&](const std::string& id, const YAML::Node& at) {
    try {
      hub::ResolveOptions o;
      o.revision = revision;
      o.with_processor_config = true;  // preprocessing reads it from the same snapshot
      return hub::hub_model(id, o);
    } catch (const Error& e) {
      throw NotFoundError(detail::place_of(at, file).str() + ": model: " + e.what());
    }
  };
  if (const YAML::Node ckpt = model.spec["checkpoint"]; ckpt && ckpt.IsScalar()) {
    // The one model resolver: an existing path (relative to the YAML's folder), else a hub id fetched here.
    ResolvedModel name;
    try {
      name = visbone::resolve_model_name(ckpt.Scalar(),
                                         {base_dir, {}, "a checkpoint folder, a .npz file or a hub id"},
                                         [&](const std::string& id) { return fetch(id, ckpt); });
    } catch (const ModelNotFoundError& e) {
      throw ConfigError(detail::place_of(ckpt, file).str() + ": model.checkpoint: " + e.what());
    }
    if (name.kind == ModelName::Kind::hub_id) spec["checkpoint"] = name.path.string();
    if (fs::is_directory(name.path)) out.folder = name.path;
  } else if (!read["config"] && !info.default_checkpoint.empty()) {
    out.folder = fetch(info.default_checkpoint, model.spec);
    spec["checkpoint"] = out.folder->string();
  }
  try {
    out.backbone = backbones.build_backbone(registry::Params(spec, file, base_dir));
  } catch (const ConfigError& e) {
    // Errors raised past the parameters (the stage selection, checked by the model) carry the file but no
    // position; point them at the selection, or at the model.
    const std::string msg = e.what();
    if (msg.rfind(file + ": ", 0) != 0) throw;
    const YAML::Node at = model.spec["out_features"]  ? YAML::Node(model.spec["out_features"])
                          : model.spec["out_indices"] ? YAML::Node(model.spec["out_indices"])
                                                      : YAML::Node(model.spec);
    throw ConfigError(detail::place_of(at, file).str() + ": " + msg.substr(file.size() + 2));
  }
  out.processor = std::make_unique<image::ImageProcessor>(
      resolve_preprocessing(preprocess, out.folder, out.backbone->preprocessing_defaults(), file));
  check_preprocessing_fits(*out.backbone, *out.processor, preprocess.place.str() + ": preprocess");
  return out;
}

}  // namespace visbone::pipeline
