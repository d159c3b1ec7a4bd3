#include "visbone/hub/hub.h"
#include "visbone/core/model_name.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <set>
#include <vector>

#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/hub/cache.h"
#include "visbone/hub/server_text.h"

namespace fs = std::filesystem;

namespace visbone::hub {
namespace {

std::chrono::milliseconds env_seconds(const char* name, std::chrono::milliseconds fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(seconds > 0) || seconds > 86400)
    throw ConfigError(std::string("$") + name + " is '" + text + "', expected a number of seconds (like 10)");
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

std::chrono::milliseconds default_file_deadline(std::uint64_t size) {
  // 50 kB/s = 50 bytes per ms; capped at 30 days, so a size a server claims cannot overflow the clock.
  constexpr std::uint64_t kMaxMs = 30ULL * 24 * 3600 * 1000;
  return std::chrono::minutes(5) + std::chrono::milliseconds(std::min<std::uint64_t>(size / 50, kMaxMs));
}

// A file as far as the hub and the cache know it.
struct Fetched {
  std::optional<fs::path> path;  // the snapshot file; empty when the repository does not have it
  std::optional<std::string> commit;
  bool known_from_cache = false;  // the absence comes from the cache (.no_exist), not from an answer now
  std::string url;                // the URL asked, when one was
};

// Everything needed to fetch files of one repository; one HTTP connection serves all of them.
class Session {
 public:
  Session(const std::string& repo_id, const ResolveOptions& options)
      : options_(options),
        endpoint_(options.endpoint.value_or(default_endpoint())),
        token_(options.token ? options.token : default_token()),
        offline_(options.offline.value_or(default_offline())),
        cache_(options.cache_dir.value_or(default_cache_dir()), repo_id) {
    while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
    if (options_.token && options_.token->empty()) token_.reset();
    validate_revision(options.revision);
    timeouts_.connect =
        options.connect_timeout.value_or(env_seconds("HF_HUB_ETAG_TIMEOUT", timeouts_.connect));
    timeouts_.stall = options.stall_timeout.value_or(env_seconds("HF_HUB_DOWNLOAD_TIMEOUT", timeouts_.stall));
  }

  const RepoCache& cache() const { return cache_; }

  // `revision` is the user's revision for the first file, then the commit it resolved to, so that every file
  // comes from the same commit even if the branch moves meanwhile.
  Fetched fetch(const std::string& revision, const std::string& filename) {
    validate_repo_filename(filename);
    if (is_commit_hash(revision)) {
      // A commit never changes: what the cache has for it is final, with no request at all.
      std::error_code ec;
      const fs::path pointer = cache_.pointer_path(revision, filename);
      if (fs::is_regular_file(pointer, ec)) return {pointer, revision, true, {}};
      if (fs::is_regular_file(cache_.no_exist_path(revision, filename), ec)) return {{}, revision, true, {}};
    }
    if (offline_) {
      const CacheLookup lookup = cache_.find(revision, filename);
      if (lookup.state == CacheState::found) return {lookup.path, lookup.commit, true, {}};
      if (lookup.state == CacheState::no_exist) return {{}, lookup.commit, true, {}};
      throw NotFoundError(offline_message(revision, filename, lookup.commit));
    }

    const std::string url = endpoint_ + "/" + cache_.repo_id() + "/resolve/" + url_quote(revision, "") + "/" +
                            url_quote(filename, "/");
    HttpResponse response;
    FileMetadata meta;
    try {
      response = head_resolve(client(), url, auth_headers());
      if (response.status >= 200 && response.status <= 399) meta = parse_file_metadata(response, url);
    } catch (const NetworkError&) {
      // No usable answer (no connection, a timeout, not a hub): a cached copy still serves, as in
      // huggingface_hub.
      if (auto cached = cached_file(revision, filename)) return *cached;
      throw;
    }
    if (response.status >= 200 && response.status <= 399) {
      check_metadata_size(filename, meta, url);
      return {store(revision, filename, meta), meta.commit, false, url};
    }

    const std::string code = response.header("x-error-code").value_or("");
    const std::string commit = response.header("x-repo-commit").value_or("");
    if (response.status == 404 && code == "EntryNotFound") {
      if (is_commit_hash(commit)) {
        try {
          cache_.mark_no_exist(commit, filename);
          cache_.write_ref(revision, commit);
        } catch (const std::exception&) {
          // A read-only cache only loses the memo of the absence; the answer itself is certain.
        }
      }
      return {{}, is_commit_hash(commit) ? std::optional<std::string>(commit) : std::nullopt, false, url};
    }
    HttpError error = http_error(response, url, revision, filename);
    // A missing revision is certain; other refusals (401, 5xx) may be passing, so a cached copy serves.
    if (!(response.status == 404 && code == "RevisionNotFound")) {
      if (auto cached = cached_file(revision, filename)) return *cached;
    }
    throw error;
  }

  // The error for a file the repository does not have, as fetch() reported it.
  [[noreturn]] void throw_missing(const Fetched& fetched, const std::string& revision,
                                  const std::string& filename, const std::string& why = {}) const {
    const std::string where = "file '" + filename + "' not found in repository '" + cache_.repo_id() +
                              "' at revision " + revision_text(revision, fetched.commit) + why;
    if (fetched.known_from_cache || fetched.url.empty())
      throw NotFoundError(where + " (the cache at " + cache_.folder().string() +
                          " records that the file does not exist in that commit)");
    throw HttpError("HTTP 404 from " + fetched.url + ": " + where, fetched.url, 404, "EntryNotFound");
  }

 private:
  HttpClient& client() {
    if (!client_) client_ = std::make_unique<HttpClient>(timeouts_);
    return *client_;
  }

  std::vector<std::string> auth_headers() const {
    if (!token_) return {};
    return {"Authorization: Bearer " + *token_};
  }

  std::string revision_text(const std::string& revision, const std::optional<std::string>& commit) const {
    std::string text = "'" + options_.revision + "'";
    const std::string resolved = commit.value_or(is_commit_hash(revision) ? revision : "");
    if (!resolved.empty() && resolved != options_.revision) text += " (commit " + resolved + ")";
    return text;
  }

  std::string offline_message(const std::string& revision, const std::string& filename,
                              const std::optional<std::string>& commit) const {
    const std::string why =
        options_.offline ? "offline mode was requested" : "the hub is offline (HF_HUB_OFFLINE is set)";
    std::string message = "file '" + filename + "' of repository '" + cache_.repo_id() + "' at revision " +
                          revision_text(revision, commit) + " is not in the cache at " +
                          cache_.folder().string() + " and " + why;
    if (!commit) message += "; the cache has no refs/" + revision + " for that revision";
    return message + ". Download it while online first, e.g. `visbone download " + cache_.repo_id() +
           (options_.revision == "main" ? "" : " --revision " + options_.revision) + "`";
  }

  std::optional<Fetched> cached_file(const std::string& revision, const std::string& filename) const {
    const CacheLookup lookup = cache_.find(revision, filename);
    if (lookup.state == CacheState::found) return Fetched{lookup.path, lookup.commit, true, {}};
    return std::nullopt;
  }

  HttpError http_error(const HttpResponse& response, const std::string& url, const std::string& revision,
                       const std::string& filename) const {
    const long status = response.status;
    const std::string code = response.header("x-error-code").value_or("");
    const std::string server_message = response.header("x-error-message").value_or("");
    const std::string& repo = cache_.repo_id();
    std::string text = "HTTP " + std::to_string(status) + " from " + url + ": ";
    if (status == 401) {
      if (server_message == "Invalid credentials in Authorization header")
        text += "the hub rejected the token sent (from " + token_source() + "); check or renew it";
      else
        text +=
            "authentication needed: repository '" + repo + "' is private or gated, or does not exist. " +
            (token_
                 ? "The token sent (from " + token_source() + ") does not give access to it"
                 : "No token was sent: set HF_TOKEN (or log in with `huggingface-cli login`, which writes " +
                       (hf_home() / "token").string() + ") to a token that can read it");
    } else if (code == "GatedRepo") {
      text +=
          "repository '" + repo + "' is gated: accept its conditions on the hub, then use a token (HF_TOKEN)";
    } else if (status == 403) {
      text += "forbidden: the token has no access to repository '" + repo + "'";
    } else if (status == 404 && code == "RepoNotFound") {
      text +=
          "repository '" + repo + "' not found (check the name; a private repository also needs HF_TOKEN)";
    } else if (status == 404 && code == "RevisionNotFound") {
      text += "revision '" + revision + "' not found in repository '" + repo + "'";
    } else if (status == 404) {
      text += "repository '" + repo + "' or its file '" + filename + "' not found";
    } else {
      text += "the hub could not serve file '" + filename + "' of repository '" + repo + "'";
    }
    if (!server_message.empty() && status != 401)
      text += " (hub says: " + escape_server_text(server_message) + ")";
    return HttpError(text, url, status, code);
  }

  std::string token_source() const {
    if (options_.token) return "the options";
    if (std::getenv("HF_TOKEN") != nullptr) return "$HF_TOKEN";
    if (std::getenv("HUGGING_FACE_HUB_TOKEN") != nullptr) return "$HUGGING_FACE_HUB_TOKEN";
    return "the token file";
  }

  // A metadata file is small; a HEAD claiming gigabytes for config.json is a broken or hostile server, refused
  // before it can fill the disk.
  void check_metadata_size(const std::string& filename, const FileMetadata& meta, const std::string& url) const {
    if (!filename.ends_with(".json") || meta.size <= options_.max_metadata_bytes) return;
    throw NetworkError("HEAD " + url + " says " + filename + " is " + std::to_string(meta.size) +
                       " bytes; metadata files (.json) are limited to " +
                       std::to_string(options_.max_metadata_bytes) +
                       " bytes (ResolveOptions::max_metadata_bytes), so it was not downloaded");
  }

  // Makes snapshots/<commit>/<filename> exist, downloading the blob unless another file or process has it.
  fs::path store(const std::string& revision, const std::string& filename, const FileMetadata& meta) {
    const fs::path pointer = cache_.pointer_path(meta.commit, filename);
    std::error_code ec;
    if (fs::is_regular_file(pointer, ec)) {
      try {
        cache_.write_ref(revision, meta.commit);
      } catch (const std::exception&) {
        // The file is there; a read-only cache just keeps its old ref.
      }
      return pointer;
    }
    fs::create_directories(cache_.folder() / "blobs");
    cache_.write_cachedir_tag();
    cache_.write_ref(revision, meta.commit);

    // One writer per blob across threads and processes (Python
    // included); the others wait, then find it there.
    const FileLock lock(cache_.lock_path(meta.etag));
    const fs::path blob = cache_.blob_path(meta.etag);
    if (!fs::is_regular_file(blob, ec)) {
      BlobDownload job;
      job.url = meta.location;
      const std::string resolve_url = endpoint_ + "/" + cache_.repo_id() + "/resolve/" +
                                      url_quote(revision, "") + "/" + url_quote(filename, "/");
      // Not redirected: ask for the bytes of the exact commit the HEAD described, so a branch moving between
      // the two requests cannot give us a different file under this ETag.
      if (job.url == resolve_url)
        job.url =
            endpoint_ + "/" + cache_.repo_id() + "/resolve/" + meta.commit + "/" + url_quote(filename, "/");
      // A redirect to another server (an LFS file's CDN) carries its own signature; the token stays with us.
      if (url_origin(job.url) == url_origin(endpoint_)) job.headers = auth_headers();
      job.incomplete = blob.string() + ".incomplete";
      job.destination = blob;
      job.expected_size = meta.size;
      job.etag = meta.etag;
      job.display_name = filename;
      job.max_resume_attempts = options_.max_resume_attempts;
      job.deadline = options_.file_deadline.value_or(default_file_deadline(meta.size));
      job.progress = options_.progress;
      download_blob(client(), job);
    }
    return cache_.link_snapshot_file(meta.commit, filename, meta.etag);
  }

  ResolveOptions options_;
  std::string endpoint_;
  std::optional<std::string> token_;
  bool offline_;
  RepoCache cache_;
  HttpTimeouts timeouts_;
  std::unique_ptr<HttpClient> client_;  // made on first use: offline work never initialises libcurl
};

std::vector<std::string> shard_names(const fs::path& index_path) {
  const boost::json::value index = read_json_file(index_path);
  const auto* object = index.if_object();
  const auto* map = object != nullptr ? object->if_contains("weight_map") : nullptr;
  if (map == nullptr || !map->is_object())
    throw FormatError(index_path.string() +
                      ": expected an object with a \"weight_map\" object (tensor name -> "
                      "shard file), found " +
                      (map == nullptr ? json_kind(index) : json_kind(*map)));
  std::set<std::string> names;  // sorted and unique, as transformers walks them
  for (const auto& [tensor, shard] : map->as_object()) {
    if (!shard.is_string())
      throw FormatError(index_path.string() + ": weight_map[\"" + std::string(tensor) + "\"] is " +
                        json_kind(shard) + ", expected a shard file name");
    const std::string name(shard.as_string());
    try {
      validate_repo_filename(name);
    } catch (const ConfigError& e) {
      throw FormatError(index_path.string() + ": weight_map[\"" + std::string(tensor) + "\"]: " + e.what());
    }
    names.insert(name);
  }
  if (names.empty())
    throw FormatError(index_path.string() + ": weight_map is empty, expected at least one shard");
  return {names.begin(), names.end()};
}

}  // namespace

fs::path hub_model(const std::string& repo_id, const ResolveOptions& options) {
  Session session(repo_id, options);
  const Fetched config = session.fetch(options.revision, "config.json");
  if (!config.path)
    session.throw_missing(config, options.revision, "config.json", ", which every model needs");
  // The snapshot folder's name is the commit; pin it for the other files.
  const std::string commit = config.path->parent_path().filename().string();

  // Optional: absent means the model's processor defaults.
  if (options.with_processor_config) session.fetch(commit, "preprocessor_config.json");

  const Fetched weights = session.fetch(commit, "model.safetensors");
  if (!weights.path) {
    const Fetched index = session.fetch(commit, "model.safetensors.index.json");
    if (!index.path)
      throw NotFoundError("repository '" + repo_id + "' at revision '" + options.revision + "' (commit " +
                          commit +
                          ") has neither model.safetensors nor model.safetensors.index.json; visbone reads "
                          "safetensors checkpoints");
    for (const std::string& shard : shard_names(*index.path)) {
      const Fetched file = session.fetch(commit, shard);
      if (!file.path)
        session.throw_missing(file, commit, shard, ", a shard listed in model.safetensors.index.json");
    }
  }
  return session.cache().snapshot_dir(commit);
}

ResolvedModel resolve_model_name(const std::string& name, const ModelNameRules& rules,
                                 const ResolveOptions& options) {
  return visbone::resolve_model_name(name, rules,
                                     [&](const std::string& id) { return hub_model(id, options); });
}

fs::path resolve_model(const std::string& name_or_path, const ResolveOptions& options) {
  const ResolvedModel m = resolve_model_name(name_or_path, {}, options);
  std::error_code ec;
  if (m.kind == ModelName::Kind::path && !fs::is_directory(m.path, ec))
    throw ConfigError(
        "'" + name_or_path +
        "' is a file; expected a model folder (config.json and weights) or a hub repository id");
  return m.path;
}

std::optional<fs::path> hub_file_if_exists(const std::string& repo_id, const std::string& filename,
                                           const ResolveOptions& options) {
  Session session(repo_id, options);
  return session.fetch(options.revision, filename).path;
}

fs::path hub_file(const std::string& repo_id, const std::string& filename, const ResolveOptions& options) {
  Session session(repo_id, options);
  const Fetched fetched = session.fetch(options.revision, filename);
  if (!fetched.path) session.throw_missing(fetched, options.revision, filename);
  return *fetched.path;
}

}  // namespace visbone::hub
