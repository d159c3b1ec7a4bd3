// The YAML of `visbone fit`: `model:` and `preprocess:` exactly as for `visbone run` (plus batch_size,
// threads, concurrency, max_pixels, plugins), and a `fit:` section for the head and its solver:
//
//   model: {checkpoint: ../tests/data/models/bit-tiny-digits}
//   preprocess: checkpoint
//   fit:
//     head: probe            # probe (logistic regression) or prototype (nearest class mean, no solver)
//     C: [0.01, 0.1, 1, 10]  # inverse L2 strengths (scikit-learn's C); several: chosen by k-fold CV
//     folds: 5
//     max_iter: 1000
//     tolerance: 1.0e-6      # on the largest gradient entry of the 1/N-scaled objective
//     seed: 0                # the CV folds' shuffle
//     cache_dir: ~/.cache/visbone/features   # default $XDG_CACHE_HOME/visbone/features; relative: to the
//     YAML
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "visbone/transfer/logistic_regression.h"

namespace visbone::transfer {

enum class HeadKind { probe, prototype };

struct FitSettings {
  HeadKind head = HeadKind::probe;
  std::vector<double> cs{0.01, 0.1, 1.0, 10.0, 100.0};
  int folds = 5;
  std::uint64_t seed = 0;
  SolverOptions solver;  // its c is set from cs
  std::filesystem::path cache_dir;
};

struct FitConfig {
  std::filesystem::path file;      // the YAML file
  std::filesystem::path base_dir;  // its folder
  std::string text;                // its text
  YAML::Node root;
  FitSettings fit;

  // The pipeline config text that extracts pooled features of `images` into a stacked safetensors file at
  // `output`: this file's lines with the `fit:` section blanked (so a message about model: or preprocess:
  // names the line and column of this file), then a files source, an embedding head and the sink.
  std::string pipeline_yaml(const std::vector<std::filesystem::path>& images,
                            const std::filesystem::path& output) const;
};

// IoError when the file cannot be read; ConfigError "FILE:LINE:COL: ..." for an unknown key (top level or
// in fit:), a value of the wrong type or out of range, a missing `model:`.
FitConfig load_fit_config(const std::filesystem::path& file);

}  // namespace visbone::transfer
