#include "visbone/serve/served_model.h"

#include <boost/json.hpp>

#include "visbone/api/heads.h"
#include "visbone/bit/bit_presets.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/hub/hub.h"
#include "visbone/image/model_processor.h"
#include "visbone/registry/params.h"

namespace visbone::serve {
namespace fs = std::filesystem;

namespace {

std::string at(const YAML::Node& node, const fs::path& file) {
  return file.string() + ":" + std::to_string(node.Mark().line + 1) + ":" +
         std::to_string(node.Mark().column + 1);
}

// The folder whose preprocessor_config.json `from: checkpoint` reads: a local checkpoint folder, a hub id
// (fetched through the cache, as the backbone fetches it) or a preset's hub id.
fs::path checkpoint_folder(const YAML::Node& model, const fs::path& file, const fs::path& base_dir) {
  if (const YAML::Node ckpt = model["checkpoint"]; ckpt && ckpt.IsScalar()) {
    const fs::path local = (base_dir / ckpt.Scalar()).lexically_normal();
    if (fs::is_directory(local)) return local;
    if (fs::exists(local)) return local.parent_path();  // a .npz or .safetensors file: its folder
    return hub::resolve_model(ckpt.Scalar());
  }
  const YAML::Node preset = model["preset"] ? model["preset"] : model["type"];
  if (preset && preset.IsScalar())
    for (const auto& p : bit::bit_presets())
      if (p.name == preset.Scalar() && !p.model_id.empty()) return hub::resolve_model(p.model_id);
  throw ConfigError(at(model, file) +
                    ": preprocess: the model has no checkpoint to read preprocessor_config.json from; use "
                    "preprocess: {from: defaults} or give the settings inline");
}

// The base settings (`from`) with the inline keys over them.
image::ImageProcessorConfig processor_config(const ModelSection& s, const fs::path& file,
                                             const fs::path& base_dir) {
  YAML::Node inline_keys(YAML::NodeType::Map);
  std::string from = "checkpoint";
  for (const auto& kv : s.preprocess) {
    if (kv.first.Scalar() == "from")
      from = kv.second.Scalar();
    else
      inline_keys[kv.first.Scalar()] = kv.second;
  }
  image::ProcessorSettings base{{}, image::CropAlign::transformers, "transformers' defaults"};
  if (from != "defaults") {
    const fs::path path = from == "checkpoint" ? checkpoint_folder(s.model, file, base_dir) : base_dir / from;
    auto found = from == "checkpoint" ? image::model_processor_settings(path) : image::processor_file_settings(path);
    if (!found)
      throw ConfigError((s.preprocess ? at(s.preprocess, file) : at(s.model, file)) + ": preprocess: " +
                        (fs::is_directory(path) ? path / "preprocessor_config.json" : path).string() +
                        " does not exist; use preprocess: {from: defaults} or give a file");
    base = std::move(*found);
  }
  return image::merge_processor_settings(base, inline_keys, file.string());
}

}  // namespace

std::unique_ptr<ServedModel> build_model(const ModelSection& s, const fs::path& file,
                                         const fs::path& base_dir) {
  auto m = std::make_unique<ServedModel>();
  m->name = s.name;
  const auto& registry = default_registry();
  const std::string where = file.string() + ": " + (s.name == "default" ? "" : "models." + s.name + ".");

  YAML::Node spec(YAML::NodeType::Map);
  for (const auto& kv : s.model)
    spec[kv.first.Scalar() == "preset" ? std::string("type") : kv.first.Scalar()] = kv.second;
  if (!spec["type"]) spec["type"] = "bit";
  m->backbone = registry.build_backbone(registry::Params(spec, where + "model", base_dir));
  m->outputs = m->backbone->out_features();

  m->processor = std::make_unique<image::ImageProcessor>(processor_config(s, file, base_dir));
  m->channels = static_cast<int>(m->processor->config().image_mean.size());

  HeadOptions options;
  options.base_dir = base_dir;
  for (std::size_t i = 0; s.heads && i < s.heads.size(); ++i) {
    const YAML::Node h = s.heads[i];
    registry::Params params(h, where + "heads[" + std::to_string(i) + "]", base_dir);
    const std::string name =
        params.get<std::string>("name", h.IsMap() && h["type"] ? h["type"].Scalar() : "");
    for (const auto& other : m->heads)
      if (other.name == name) params.fail("name", "two heads are named '" + name + "'; give each a name:");
    m->heads.push_back({name, make_head(params, *m->backbone, registry, options)});
    merge_into(m->heads_request, m->heads.back().head->needs());
  }
  return m;
}

}  // namespace visbone::serve
