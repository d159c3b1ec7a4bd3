// BiT weights beyond transformers checkpoints: timm folders (config.json with `architecture` /
// `model_args` + model.safetensors with timm's names) and Google's original release (.npz, HWIO kernels).
// Each is turned into a BitConfig plus tensors under transformers' names and layouts, so one loader
// (BitModel) serves every format; `to_timm_names` goes the other way for `visbone convert --to timm`.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "visbone/bit/bit_config.h"
#include "visbone/core/tensor.h"

namespace visbone::bit {

enum class WeightFormat { Transformers, Timm, Npz };
std::string to_string(WeightFormat f);

// A folder with a transformers config.json (model_type "bit"), a timm config.json (`architecture`), or an
// .npz file (or a folder holding exactly one). NotFoundError / FormatError saying what was found otherwise.
WeightFormat detect_format(const std::filesystem::path& path);

struct ConvertedWeights {
  BitConfig config;
  std::vector<std::pair<std::string, Tensor>> tensors;  // transformers names ("bit.…", "classifier.1.…")
};

// The BitConfig of a timm BiT model: a registered architecture name (resnetv2_50x1_bit, _50x3_, _101x1_,
// _101x3_, _152x2_, _152x4_; suffixes like .goog_in21k ignored) and/or `model_args` (layers, channels,
// stem_chs, width_factor, num_groups, output_stride, num_classes). ConfigError for anything else.
BitConfig timm_config(const boost::json::value& config_json, const std::string& where);
// The architecture named by Google's file names: BiT-M-R101x3.npz, BiT-S-R50x1-ILSVRC2012.npz, ...
std::optional<BitConfig> bit_release_config(const std::string& file_name);

// timm folder -> transformers names. The head's 1x1 conv becomes the linear classifier.
ConvertedWeights load_timm(const std::filesystem::path& dir);
// .npz -> transformers names, kernels HWIO -> OIHW. The architecture comes from `config` when given, else
// from a config.json beside the file, else from the file name; num_labels from the head's shape.
ConvertedWeights load_npz(const std::filesystem::path& file, std::optional<BitConfig> config = std::nullopt);

// transformers names -> timm names (classifier.1.weight (K, C) -> head.fc.weight (K, C, 1, 1)).
std::vector<std::pair<std::string, Tensor>> to_timm_names(const std::vector<std::pair<std::string, Tensor>>& hf);

}  // namespace visbone::bit
