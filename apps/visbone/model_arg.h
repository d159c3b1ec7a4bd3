// How subcommands turn their MODEL argument and selection options into what the libraries take.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "args.h"
#include "visbone/bit/bit_backbone.h"

namespace visbone::app {

// A local checkpoint folder or .npz file as is; otherwise a hub id (org/name), resolved through the cache.
std::filesystem::path resolve_model_arg(const std::string& model);
// --out-features / --out-indices (either or both) as backbone options.
bit::BitBackboneOptions selection_options(const po::variables_map& vm);
// --precision f32|bf16|auto (unset when not given); ConfigError for another value.
std::optional<bit::Precision> precision_option(const po::variables_map& vm);
// The --precision option's description, for a subcommand's options.
inline const char* kPrecisionHelp = "f32 (exact, default), bf16 (needs AVX512-BF16 or AMX) or auto (bf16 with AMX)";

}  // namespace visbone::app
