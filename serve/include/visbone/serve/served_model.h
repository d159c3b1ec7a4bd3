// A model as the server holds it: the backbone (weights loaded once), the image processor that travels with
// it, and its heads, all built from the registry as `visbone run` builds them.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "visbone/core/backbone.h"
#include "visbone/core/head.h"
#include "visbone/image/image_processor.h"
#include "visbone/serve/config.h"

namespace visbone::serve {

struct NamedHead {
  std::string name;  // the head's `name:` (default: its type); keys its output
  std::unique_ptr<Head> head;
};

struct ServedModel {
  std::string name;
  std::unique_ptr<Backbone> backbone;
  std::unique_ptr<image::ImageProcessor> processor;
  std::vector<NamedHead> heads;
  int channels = 3;                  // input channels (the processor's mean has one entry per channel)
  std::vector<std::string> outputs;  // the selected stages (out_features): a v2 infer's default outputs
  ForwardRequest heads_request;      // what the heads need from a forward pass
};

// Builds a model section against default_registry(): `model:` is a backbone spec ({type: bit, checkpoint:
// ..., out_features: [...]}, `preset: NAME` for `type: NAME`), `preprocess:` the checkpoint's
// preprocessor_config.json (`from: checkpoint`, the default), transformers' defaults (`from: defaults`) or a
// file (`from: PATH`), with any processor key given inline over it; `heads:` registry head specs. Errors are
// the registry's and the processor's, naming the file and line.
std::unique_ptr<ServedModel> build_model(const ModelSection& section, const std::filesystem::path& file,
                                         const std::filesystem::path& base_dir);

}  // namespace visbone::serve
