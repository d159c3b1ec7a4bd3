// Preprocessing resolution: the image processor settings a pipeline runs with, from its `preprocess:` entry.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "visbone/image/image_processor.h"
#include "visbone/pipeline/config.h"

namespace visbone::pipeline {

// The base (the checkpoint's preprocessor_config.json or, for a timm checkpoint, timm's eval transform of its
// pretrained_cfg; BiT's defaults when a model without either was not asked for its own; or a named file) with the inline keys over it. `checkpoint`: the model's folder, if it
// has one; `file`: the YAML file, for messages. ConfigError / NotFoundError naming the YAML position.
image::ImageProcessorConfig resolve_preprocessing(const PreprocessConfig& p,
                                                  const std::optional<std::filesystem::path>& checkpoint,
                                                  const std::string& file);

}  // namespace visbone::pipeline
