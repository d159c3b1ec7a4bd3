#include "visbone/serve/served_model.h"

#include <boost/json.hpp>

#include "visbone/api/heads.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/pipeline/config.h"
#include "visbone/pipeline/model_loader.h"
#include "visbone/registry/params.h"

namespace visbone::serve {
namespace fs = std::filesystem;

namespace {

// The model and its preprocessing, loaded as `visbone run` loads them (pipeline/model_loader.h: the one model
// resolver; a hub id fetched once at its revision gives the weights and the processor).
pipeline::LoadedModel load(const ModelSection& s, const fs::path& file, const fs::path& base_dir) {
  const pipeline::ModelConfig model = pipeline::parse_model(s.model, file.string());
  pipeline::PreprocessConfig preprocess;
  if (s.preprocess && !s.preprocess.IsNull()) {
    preprocess = pipeline::parse_preprocess(s.preprocess, file.string(), base_dir);
  } else {
    preprocess.place = model.place;
    preprocess.overrides = YAML::Node(YAML::NodeType::Map);
  }
  return pipeline::load_model(model, preprocess, default_registry(), base_dir, file.string());
}

}  // namespace

std::unique_ptr<ServedModel> build_model(const ModelSection& s, const fs::path& file,
                                         const fs::path& base_dir) {
  auto m = std::make_unique<ServedModel>();
  m->name = s.name;
  const auto& registry = default_registry();
  const std::string where = file.string() + ": " + (s.name == "default" ? "" : "models." + s.name + ".");

  pipeline::LoadedModel loaded = load(s, file, base_dir);
  m->backbone = std::move(loaded.backbone);
  m->processor = std::move(loaded.processor);
  m->outputs = m->backbone->out_features();
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
