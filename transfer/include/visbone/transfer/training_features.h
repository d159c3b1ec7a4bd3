// The pooled features of a labelled image folder as `visbone fit` trains on them: each image's features come
// from the feature cache when its bytes were seen with the same model key (the one `visbone run` gives its
// records: the model's files, preprocessing, visbone version and numerics), else from one pipeline run (the
// `visbone run` graph: decode, preprocess, batch, backbone, an embedding head) over the images missing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>

#include "visbone/transfer/fit_config.h"
#include "visbone/transfer/image_folder.h"
#include "visbone/transfer/logistic_regression.h"

namespace visbone::transfer {

// The checkpoint folder (or .npz) the model: section loads from: `checkpoint:` as a path, a hub id or
// `preset:` through the hub cache. ConfigError when the section names none (an inline config: + weights:).
std::filesystem::path model_checkpoint(const FitConfig& config);

struct TrainingFeatures {
  Dataset data;                  // one row per image of the folder, in its order
  std::uint64_t computed = 0;    // images that went through the backbone in this call
  std::uint64_t from_cache = 0;  // images whose features the cache had
  std::string model_key;         // the pipeline's content key of the model (pipeline/content_key.h)
};

// ConfigError / NotFoundError from the pipeline (naming the YAML line); FormatError listing the images that
// could not be decoded or run (a training set with a broken image is refused rather than silently shrunk).
TrainingFeatures training_features(const FitConfig& config, const LabelledImages& images, std::ostream& log);

}  // namespace visbone::transfer
