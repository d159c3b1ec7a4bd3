// The model of a config's `model:` and `preprocess:` sections, loaded as `visbone run` and `visbone serve`
// both load it (one resolver): the backbone through the registry, a hub id or preset fetched once (at its
// revision, with its preprocessor config) so that the same snapshot gives the weights and the processor, and
// the image processor resolved against that folder (pipeline/preprocessing.h) and checked to fit the backbone.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "visbone/core/backbone.h"
#include "visbone/image/image_processor.h"
#include "visbone/pipeline/config.h"
#include "visbone/registry/registry.h"

namespace visbone::pipeline {

struct LoadedModel {
  std::unique_ptr<Backbone> backbone;
  std::optional<std::filesystem::path> folder;  // the checkpoint folder it loaded from, when it has one
  std::unique_ptr<image::ImageProcessor> processor;
};

// `backbones`: the registry to build `model.type` from (ConfigError naming the known types when it has none of
// that name; the pipeline picks among its registries first). Checks the model's keys against its registry entry and that a `preprocess.from` file exists, then calls `on_loading`,
// then fetches and loads. Paths resolve against `base_dir`; ConfigError / NotFoundError name `file`:LINE:COL.
LoadedModel load_model(const ModelConfig& model, const PreprocessConfig& preprocess,
                       const registry::Registry& backbones, const std::filesystem::path& base_dir,
                       const std::string& file, const std::function<void()>& on_loading = {});

}  // namespace visbone::pipeline
