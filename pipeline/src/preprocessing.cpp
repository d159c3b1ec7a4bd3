#include "visbone/pipeline/preprocessing.h"

#include <yaml-cpp/yaml.h>
#include <iostream>

#include "visbone/core/backbone.h"
#include "visbone/core/errors.h"
#include "visbone/image/model_processor.h"

namespace visbone::pipeline {
namespace fs = std::filesystem;
namespace {

std::string where(const PreprocessConfig& p, const std::string& what) {
  return p.place.str() + ": " + what;
}

}  // namespace

image::ImageProcessorConfig resolve_preprocessing(const PreprocessConfig& p,
                                                  const std::optional<fs::path>& checkpoint,
                                                  const std::optional<PreprocessingDefaults>& model_defaults,
                                                  const std::string& file) {
  image::ProcessorSettings base{{}, image::CropAlign::transformers, "transformers' defaults"};
  if (p.from == "checkpoint") {
    // The folder's own files first (preprocessor_config.json, else a timm pretrained_cfg), then what the
    // backbone says travels with its weights.
    const auto own = checkpoint ? image::model_processor_settings(*checkpoint) : std::nullopt;
    const bool has_file = checkpoint && fs::is_regular_file(*checkpoint / "preprocessor_config.json");
    const std::string none = checkpoint ? checkpoint->string() + " has no preprocessor_config.json"
                                        : std::string("the model has no checkpoint folder");
    if (own) {
      base = *own;
      if (!has_file && !p.from_given)
        std::cerr << "note: " << checkpoint->string()
                  << " has no preprocessor_config.json; preprocessing with timm's eval transform of its "
                     "pretrained_cfg\n";
    } else if (!p.from_given && model_defaults) {
      // Not asked for explicitly: a model saved without a processor gets the defaults of its backbone.
      base = image::backbone_processor_settings(*model_defaults);
      std::cerr << "note: " << none << "; preprocessing with " << model_defaults->origin << "\n";
    } else if (!p.from_given) {
      throw ConfigError(
          where(p, "preprocess: " + none +
                       " and the backbone declares no preprocessing defaults; give the settings "
                       "inline (preprocess: {size: ..., crop_size: ..., image_mean: ..., "
                       "image_std: ...}) or use preprocess: {from: defaults}"));
    } else if (!checkpoint) {
      throw ConfigError(where(p,
                              "preprocess: the model has no checkpoint folder to read "
                              "preprocessor_config.json from; give the settings inline (preprocess: {size: "
                              "..., crop_size: ...}) or use preprocess: {from: defaults}"));
    } else {
      throw ConfigError(
          where(p, "preprocess: the checkpoint has no preprocessor_config.json (" +
                       (*checkpoint / "preprocessor_config.json").string() +
                       ") and no timm pretrained_cfg in its config.json; give the settings inline "
                       "(preprocess: {size: ..., crop_size: ...}) or use preprocess: {from: "
                       "defaults}"));
    }
  } else if (p.from != "defaults") {
    const auto named = image::processor_file_settings(p.from);
    if (!named) throw NotFoundError(where(p, "preprocess.from: " + p.from + " does not exist"));
    base = *named;
  }
  // Inline keys win; the rest come from the base.
  return image::merge_processor_settings(base, p.overrides, file);
}

}  // namespace visbone::pipeline
