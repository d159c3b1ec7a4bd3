// Paths of the transformers fixtures copied into tests/data, and the relative error used to compare.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "visbone/core/tensor.h"

namespace visbone::testing {

inline std::filesystem::path data_dir() { return VISBONE_TEST_DATA; }
inline std::filesystem::path model_dir(const std::string& name) { return data_dir() / "models" / name; }

// max |a - b| / max |b|: the figure the parity checks are stated in.
inline double relative_error(const Tensor& ours, const Tensor& ref) {
  double diff = 0.0, scale = 0.0;
  for (std::int64_t i = 0; i < ref.numel(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(ours.data()[i] - ref.data()[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(ref.data()[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

}  // namespace visbone::testing
