#include "visbone/image/model_processor.h"

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>

#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/image/timm_preprocessing.h"

namespace visbone::image {
namespace fs = std::filesystem;

std::optional<ProcessorSettings> processor_file_settings(const fs::path& path) {
  std::error_code ec;
  const fs::path file = fs::is_directory(path, ec) ? path / "preprocessor_config.json" : path;
  if (!fs::is_regular_file(file, ec)) return std::nullopt;
  const auto json = read_json_file(file);
  if (!json.is_object()) throw ConfigError(file.string() + ": expected a JSON object");
  ProcessorSettings s{json.as_object(), CropAlign::transformers, file.string()};
  (void)processor_config(s);  // its own mistakes, named as its own
  return s;
}

std::optional<ProcessorSettings> model_processor_settings(const fs::path& folder) {
  if (auto s = processor_file_settings(folder / "preprocessor_config.json")) return s;
  std::error_code ec;
  const fs::path config = folder / "config.json";
  if (!fs::is_regular_file(config, ec)) return std::nullopt;
  const auto json = read_json_file(config);
  const auto* cfg = json.is_object() ? json.as_object().if_contains("pretrained_cfg") : nullptr;
  if (!cfg) return std::nullopt;
  ProcessorSettings s{timm_processor_settings(*cfg, config.string()), CropAlign::torchvision,
                      config.string() + " (timm's pretrained_cfg)"};
  (void)processor_config(s);
  return s;
}

ProcessorSettings backbone_processor_settings(const PreprocessingDefaults& defaults) {
  ProcessorSettings s{defaults.keys, CropAlign::transformers, defaults.origin};
  (void)processor_config(s);
  return s;
}

ImageProcessorConfig processor_config(const ProcessorSettings& settings) {
  ImageProcessorConfig c = ImageProcessorConfig::from_json(settings.keys, settings.origin);
  c.crop_align = settings.crop_align;
  return c;
}

ImageProcessorConfig merge_processor_settings(const ProcessorSettings& base, const YAML::Node& inline_keys,
                                              const std::string& yaml_file) {
  YAML::Node merged(YAML::NodeType::Map);
  for (const auto& [k, v] : base.keys)
    if (!inline_keys[std::string(k)]) merged[std::string(k)] = YAML::Load(boost::json::serialize(v));
  for (const auto& kv : inline_keys) merged[kv.first.Scalar()] = kv.second;
  ImageProcessorConfig c = ImageProcessorConfig::from_yaml(merged, yaml_file);
  c.crop_align = base.crop_align;
  return c;
}

}  // namespace visbone::image
