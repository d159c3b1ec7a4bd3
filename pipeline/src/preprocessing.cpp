#include "preprocessing.h"

#include <boost/json.hpp>
#include <iostream>
#include <yaml-cpp/yaml.h>

#include "visbone/core/errors.h"
#include "visbone/core/json.h"

namespace visbone::pipeline {
namespace fs = std::filesystem;
namespace {

std::string where(const PreprocessConfig& p, const std::string& what) {
  return p.place.str() + ": " + what;
}

}  // namespace

image::ImageProcessorConfig resolve_preprocessing(const PreprocessConfig& p, const std::optional<fs::path>& checkpoint,
                                                 const std::string& file) {
  boost::json::object base;
  std::string base_name = "transformers' defaults";
  std::string from = p.from;
  if (from == "checkpoint" && !p.from_given) {
    // Not asked for explicitly: a model saved without a processor gets the defaults that travel with BiT.
    const bool has_file = checkpoint && fs::is_regular_file(*checkpoint / "preprocessor_config.json");
    if (!has_file) {
      std::cerr << "note: " << (checkpoint ? checkpoint->string() + " has no preprocessor_config.json"
                                           : std::string("the model has no checkpoint folder"))
                << "; preprocessing with BiT's defaults (transformers' BitImageProcessor)\n";
      from = "defaults";
    }
  }
  if (from != "defaults") {
    if (p.from == "checkpoint" && !checkpoint)
      throw ConfigError(where(p,
                              "preprocess: the model has no checkpoint folder to read "
                              "preprocessor_config.json from; give the settings inline (preprocess: {size: "
                              "..., crop_size: ...}) or use preprocess: {from: defaults}"));
    fs::path path = p.from == "checkpoint" ? *checkpoint : fs::path(p.from);
    if (fs::is_directory(path)) path /= "preprocessor_config.json";
    if (!fs::is_regular_file(path)) {
      if (p.from == "checkpoint")
        throw ConfigError(
            where(p, "preprocess: the checkpoint has no preprocessor_config.json (" + path.string() +
                               "); give the settings inline (preprocess: {size: ..., crop_size: ...}) "
                               "or use preprocess: {from: defaults}"));
      throw NotFoundError(where(p, "preprocess.from: " + path.string() + " does not exist"));
    }
    const auto json = read_json_file(path);
    if (!json.is_object()) throw ConfigError(path.string() + ": expected a JSON object");
    base = json.as_object();
    base_name = path.string();
  }
  // Checked alone first, so a bad value in the file is reported against the file.
  if (!base.empty()) (void)image::ImageProcessorConfig::from_json(base, base_name);
  // Inline keys win; the rest come from the base.
  const YAML::Node& overrides = p.overrides;
  YAML::Node merged(YAML::NodeType::Map);
  for (const auto& [k, v] : base) {
    if (overrides[std::string(k)]) continue;
    merged[std::string(k)] = YAML::Load(boost::json::serialize(v));
  }
  for (const auto& kv : overrides) merged[kv.first.Scalar()] = kv.second;
  return image::ImageProcessorConfig::from_yaml(merged, file);
}

}  // namespace visbone::pipeline
