// Models named the way Python names them: a local folder, or a hub repository id like `google/bit-50` whose
// files are fetched into (or found in) the cache huggingface_hub shares. See cache.h for the layout.
//
// Online, each file's revision is resolved with a HEAD request; a file already in the snapshot of that commit
// is not downloaded again. Offline (HF_HUB_OFFLINE=1), only the cache is used. As in huggingface_hub, a hub
// that cannot be reached, or refuses, still lets a cached file be used; without one the error names the URL.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "visbone/core/model_name.h"
#include "visbone/hub/download.h"

namespace visbone::hub {

struct ResolveOptions {
  std::string revision = "main";                   // a branch, a tag or a commit hash
  std::optional<std::string> endpoint;             // default: default_endpoint() ($HF_ENDPOINT)
  std::optional<std::string> token;                // default: default_token() ($HF_TOKEN...); "" for none
  std::optional<std::filesystem::path> cache_dir;  // default: default_cache_dir() ($HF_HUB_CACHE, ...)
  std::optional<bool> offline;                     // default: default_offline() ($HF_HUB_OFFLINE)
  ProgressMode progress = ProgressMode::automatic;
  // Defaults: $HF_HUB_ETAG_TIMEOUT and $HF_HUB_DOWNLOAD_TIMEOUT seconds, else 10 s each.
  std::optional<std::chrono::milliseconds> connect_timeout;  // to connect, and to get an answer to a HEAD
  std::optional<std::chrono::milliseconds> stall_timeout;    // with no data arriving during a download
  int max_resume_attempts = 5;  // resumptions in a row that bring no new byte before a download fails
  // Each file's download, all its attempts together, ends by this deadline. Default: 5 minutes plus the
  // file's size at 50 kB/s (a 100 MB model gets 38 minutes), so a server that drips bytes cannot hold a
  // run forever.
  std::optional<std::chrono::milliseconds> file_deadline;
  // Metadata files (*.json: config.json, the shard index, ...) larger than this, by the hub's own HEAD
  // answer, are refused before any byte is fetched.
  std::uint64_t max_metadata_bytes = 16u << 20;
  // Also fetch preprocessor_config.json (when the repository has one) into the snapshot. Off by default:
  // only what preprocesses images needs it, and a cache holding just config.json and the weights (what
  // transformers' from_pretrained leaves) must serve a model offline.
  bool with_processor_config = false;
};

// The local folder holding the model `name_or_path`:
// - an existing directory is returned as it is;
// - otherwise it must be a hub repository id (ORG/NAME, by the one rule of core/model_name.h); the
//   snapshot folder of `options.revision` is returned once config.json and the weights (model.safetensors,
//   or model.safetensors.index.json and every shard it lists) are in it, downloaded when needed; with
//   options.with_processor_config also preprocessor_config.json when the repository has one (absent: a
//   .no_exist marker records it).
// Errors: NotFoundError for a name that is neither, or a file missing from the cache while offline;
// HttpError/NetworkError for the hub's refusals and connection problems (with the URL); ConfigError for an
// existing path that is not a folder.
std::filesystem::path resolve_model(const std::string& name_or_path, const ResolveOptions& options = {});

// The one model resolver (core/model_name.h) with this hub client: a local path as it is, a preset (and the
// hub checkpoint it names) or a hub id fetched by hub_model with `options`. Every place that turns a model
// name into a folder calls this; ModelNotFoundError names the absolute path looked for.
ResolvedModel resolve_model_name(const std::string& name, const ModelNameRules& rules = {},
                                 const ResolveOptions& options = {});

// The hub half of resolve_model: the snapshot folder of hub repository `repo_id` at `options.revision`, with
// config.json and the weights in it (and preprocessor_config.json as options say), downloaded as needed. A local
// folder of the same name is not consulted.
std::filesystem::path hub_model(const std::string& repo_id, const ResolveOptions& options = {});

// One file of a hub repository, from the cache or downloaded into it; returns
// its snapshot path. A file the repository does not have is an HttpError 404
// (online) or a NotFoundError (offline, or known from a .no_exist marker).
std::filesystem::path hub_file(const std::string& repo_id, const std::string& filename,
                               const ResolveOptions& options = {});

// As hub_file, but a file the repository does not have is std::nullopt (and recorded in .no_exist/).
std::optional<std::filesystem::path> hub_file_if_exists(const std::string& repo_id,
                                                        const std::string& filename,
                                                        const ResolveOptions& options = {});

}  // namespace visbone::hub
