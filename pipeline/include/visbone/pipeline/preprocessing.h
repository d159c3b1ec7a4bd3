// Preprocessing resolution: the image processor settings a pipeline runs with, from its `preprocess:` entry.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "visbone/core/backbone.h"
#include "visbone/image/image_processor.h"
#include "visbone/pipeline/config.h"

namespace visbone::pipeline {

// The base settings with the inline keys over it. The base, for `from: checkpoint` (the default): the
// checkpoint folder's preprocessor_config.json or, for a timm checkpoint, timm's eval transform of its
// pretrained_cfg (the folder first); else, when `preprocess:` did not ask for the checkpoint's explicitly,
// the backbone's `model_defaults` (Backbone::preprocessing_defaults) with a one-line notice naming their
// origin; else a ConfigError asking for the settings. `from: defaults`: transformers' BitImageProcessor
// defaults; else a named file. `checkpoint`: the model's folder, if it has one; `file`: the YAML file, for
// messages. ConfigError / NotFoundError naming the YAML position.
image::ImageProcessorConfig resolve_preprocessing(const PreprocessConfig& p,
                                                  const std::optional<std::filesystem::path>& checkpoint,
                                                  const std::optional<PreprocessingDefaults>& model_defaults,
                                                  const std::string& file);

}  // namespace visbone::pipeline
