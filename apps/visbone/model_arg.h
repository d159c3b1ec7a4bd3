// How subcommands turn their MODEL argument and selection options into what the libraries take.
#pragma once

#include <filesystem>
#include <string>

#include "args.h"
#include "visbone/bit/bit_backbone.h"

namespace visbone::app {

// A local checkpoint folder or .npz file as is; otherwise a hub id (org/name), resolved through the cache.
std::filesystem::path resolve_model_arg(const std::string& model);
// --out-features / --out-indices (either or both) as backbone options.
bit::BitBackboneOptions selection_options(const po::variables_map& vm);

}  // namespace visbone::app
