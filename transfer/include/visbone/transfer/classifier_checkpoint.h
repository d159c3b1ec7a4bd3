// A trained linear head saved as transformers saves BitForImageClassification: the backbone's weights under
// transformers' names with `classifier.1.weight` (num_labels, C) / `classifier.1.bias` (num_labels) replaced,
// config.json with id2label / label2id / num_labels, and the preprocessor_config.json the features were made
// with. transformers' from_pretrained and `visbone run` (classification head) load the folder as it is.
#pragma once

#include <yaml-cpp/yaml.h>
#include <boost/json/value.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "visbone/transfer/logistic_regression.h"

namespace visbone::transfer {

// The preprocessor_config.json for a `preprocess:` section as `visbone run` reads it: the checkpoint's file
// (or the `from:` file; {} for `defaults` and for a checkpoint without one, which transformers and visbone
// both fill with BitImageProcessor's defaults) with the inline keys over it. ConfigError naming `where` for a
// value the processor rejects.
boost::json::object preprocessor_json(const YAML::Node& preprocess, const std::filesystem::path& checkpoint,
                                      const std::filesystem::path& base_dir, const std::string& where);

// Writes OUT_DIR from `source` (a transformers or timm folder, or a .npz): staged beside it and swapped in
// whole, as `visbone convert` does. Weights are stored as float32. `report` goes to fit_report.json.
// ConfigError when OUT_DIR holds files fit did not write, or the head does not match the backbone's width.
void write_classifier_checkpoint(const std::filesystem::path& source, const std::filesystem::path& out_dir,
                                 const LinearModel& head, const std::vector<std::string>& classes,
                                 const boost::json::object& preprocessor, const boost::json::object& report);

}  // namespace visbone::transfer
