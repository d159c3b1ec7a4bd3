// The preprocessing a model folder carries, and inline settings over it: one rule for the pipeline, the
// server and the C++ API. A folder's preprocessor_config.json wins; a timm checkpoint (a config.json with a
// pretrained_cfg and no preprocessor_config.json) gets timm's eval transform.
#pragma once

#include <boost/json/object.hpp>
#include <filesystem>
#include <optional>
#include <string>

#include "visbone/core/backbone.h"
#include "visbone/image/image_processor.h"

namespace visbone::image {

// Base settings: preprocessor_config.json keys, the crop alignment they cannot say, and where they came from
// (for messages).
struct ProcessorSettings {
  boost::json::object keys;
  CropAlign crop_align = CropAlign::transformers;
  std::string origin;
};

// `path` a preprocessor_config.json, or a folder holding one: its settings (ConfigError / FormatError for a
// bad file, naming it). nullopt when the file does not exist.
std::optional<ProcessorSettings> processor_file_settings(const std::filesystem::path& path);
// A model folder's own settings: its preprocessor_config.json, else the timm eval transform of the
// pretrained_cfg in its config.json; nullopt when it has neither.
std::optional<ProcessorSettings> model_processor_settings(const std::filesystem::path& folder);
// A backbone's preprocessing defaults (Backbone::preprocessing_defaults) as base settings, checked (a bad
// key is a ConfigError naming their origin).
ProcessorSettings backbone_processor_settings(const PreprocessingDefaults& defaults);

// The settings alone.
ImageProcessorConfig processor_config(const ProcessorSettings& settings);
// `base` with the keys of the YAML mapping `inline_keys` over it (a bad value in the base is reported against
// base.origin, one inline with the YAML line and column of `yaml_file`).
ImageProcessorConfig merge_processor_settings(const ProcessorSettings& base, const YAML::Node& inline_keys,
                                              const std::string& yaml_file);

}  // namespace visbone::image
