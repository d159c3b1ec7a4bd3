// Paths of the transformers fixtures copied into tests/data; comparisons come from support/tensor_compare.h.
#pragma once

#include <filesystem>
#include <string>

#include "support/tensor_compare.h"

namespace visbone::testing {

inline std::filesystem::path data_dir() { return VISBONE_TEST_DATA; }
inline std::filesystem::path model_dir(const std::string& name) { return data_dir() / "models" / name; }

}  // namespace visbone::testing
