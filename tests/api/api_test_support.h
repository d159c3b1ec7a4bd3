// Helpers for the façade tests: fixture paths, a temporary folder, a hub cache laid out by hand (so hub ids
// and presets resolve offline), random batches and exact tensor comparison.
#pragma once

#include "support/support.h"
#include "support/tensor_compare.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>

#include "visbone/core/tensor.h"
#include "visbone/hub/hub.h"

namespace visbone::api_test {

namespace fs = std::filesystem;

inline const fs::path kData = VISBONE_TEST_DATA;
inline const fs::path kModels = kData / "models";
inline const fs::path kTiny = kModels / "tiny-preact";
inline const fs::path kBit50 = kModels / "bit-50-random-fp16";
inline const fs::path kChelsea = kData / "preprocess" / "images" / "chelsea.png";

using visbone::testing::TempDir;

// A huggingface_hub cache holding `repo_id` at revision main, its snapshot files symlinked to `model`'s, and
// options that read it offline.
inline hub::ResolveOptions offline_cache(const fs::path& cache, const std::string& repo_id,
                                         const fs::path& model) {
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  std::string folder = "models--" + repo_id;
  for (std::size_t i = folder.find('/'); i != std::string::npos; i = folder.find('/'))
    folder.replace(i, 1, "--");
  const fs::path repo = cache / folder;
  fs::create_directories(repo / "refs");
  std::ofstream(repo / "refs" / "main") << commit;
  const fs::path snapshot = repo / "snapshots" / commit;
  fs::create_directories(snapshot);
  for (const auto& entry : fs::directory_iterator(model))
    if (entry.is_regular_file())
      fs::create_symlink(fs::absolute(entry.path()), snapshot / entry.path().filename());
  // What huggingface_hub records for files a repository does not have (asked about before the index).
  for (const char* optional : {"preprocessor_config.json", "model.safetensors"})
    if (!fs::exists(snapshot / optional)) {
      fs::create_directories(repo / ".no_exist" / commit);
      std::ofstream(repo / ".no_exist" / commit / optional);
    }
  hub::ResolveOptions o;
  o.cache_dir = cache;
  o.offline = true;
  o.progress = hub::ProgressMode::never;
  return o;
}

inline Tensor random_batch(Shape shape, unsigned seed) {
  Tensor t(std::move(shape));
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (float& v : t) v = dist(rng);
  return t;
}

using visbone::testing::identical;
using visbone::testing::near;
using visbone::testing::kF32Tolerance;

}  // namespace visbone::api_test
