#include "visbone/serve/served_model.h"

#include <boost/json.hpp>

#include "visbone/api/heads.h"
#include "visbone/bit/bit_presets.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/core/model_name.h"
#include "visbone/hub/hub.h"
#include "visbone/pipeline/config.h"
#include "visbone/pipeline/preprocessing.h"
#include "visbone/registry/params.h"

namespace visbone::serve {
namespace fs = std::filesystem;

namespace {

// The folder whose preprocessor_config.json `from: checkpoint` reads, as `visbone run` finds it (the one
// model-name rule): a local checkpoint folder, a hub id (fetched through the cache, as the backbone fetches
// it) or a preset's hub id; nothing for a file (.npz) or an inline model.
std::optional<fs::path> checkpoint_folder(const YAML::Node& model, const fs::path& base_dir) {
  if (const YAML::Node ckpt = model["checkpoint"]; ckpt && ckpt.IsScalar()) {
    const ModelName name = classify_model_name(ckpt.Scalar(), base_dir);
    if (name.kind == ModelName::Kind::hub_id) return hub::resolve_model(ckpt.Scalar());
    if (name.kind == ModelName::Kind::path && fs::is_directory(name.path)) return name.path;
    return std::nullopt;  // a file, or missing: the backbone names it when it loads
  }
  const YAML::Node preset = model["preset"] ? model["preset"] : model["type"];
  if (preset && preset.IsScalar())
    for (const auto& p : bit::bit_presets())
      if (p.name == preset.Scalar() && !p.model_id.empty()) return hub::resolve_model(p.model_id);
  return std::nullopt;
}

// The processor as `visbone run` resolves it (pipeline/preprocessing.h): the checkpoint's own, the model's
// defaults with a notice where it has none and `preprocess:` did not ask for it, a named file, inline keys.
image::ImageProcessorConfig processor_config(const ModelSection& s, const fs::path& file, const fs::path& base_dir) {
  pipeline::PreprocessConfig p;
  if (s.preprocess && !s.preprocess.IsNull()) {
    p = pipeline::parse_preprocess(s.preprocess, file.string(), base_dir);
  } else {
    p.place = {file.string(), s.model.Mark().line + 1, s.model.Mark().column + 1};
    p.overrides = YAML::Node(YAML::NodeType::Map);
  }
  return pipeline::resolve_preprocessing(p, checkpoint_folder(s.model, base_dir), file.string());
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
