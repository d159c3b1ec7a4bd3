// Helpers for the pipeline tests: small generated images and reading outputs back (temporary folders and
// running the program come from support/support.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <memory>

#include "support/support.h"
#include "visbone/core/source.h"

namespace visbone::pipeline {

// A built-in source built through the registry from a spec ({type: folder, path: ...}), named "p.yaml" in
// messages, as the pipeline builds it.
std::unique_ptr<Source> make_source(const YAML::Node& spec, std::int64_t max_pixels);

}  // namespace visbone::pipeline

namespace visbone::pipeline::testing {

const std::string kData = VISBONE_TEST_DATA;
// The repository root (tests/data/../..).
std::filesystem::path project_dir();

using visbone::testing::read_file;
using visbone::testing::RunResult;
using visbone::testing::run_visbone;
using visbone::testing::TempDir;

std::vector<std::string> read_lines(const std::filesystem::path& p);
// What the digits config of the shard and resume tests writes: JSON Lines, CSV, safetensors per input and
// stacked (the four kinds merge joins).
inline const std::vector<std::string> kMergedOutputs = {"predictions.jsonl", "predictions.csv",
                                                        "features.safetensors", "stacked.safetensors"};
// A PNG of a width x height gray image whose pixels follow `seed` (distinct seeds, distinct images).
std::string png_bytes(int width, int height, int seed, int channels = 1);
// A structurally complete PNG (IHDR, one tiny IDAT, IEND, correct CRCs) claiming width x height pixels: what
// a decompression bomb looks like to a header check.
std::string png_header_only(std::uint32_t width, std::uint32_t height);

}  // namespace visbone::pipeline::testing
