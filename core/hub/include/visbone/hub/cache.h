// The Hugging Face hub cache, laid out exactly as huggingface_hub lays it out so that a model downloaded from
// Python is found here and vice versa:
//   <cache>/models--ORG--NAME/blobs/<etag>                      file contents, named by git-sha1 or sha256
//   <cache>/models--ORG--NAME/refs/<revision>                   the commit hash a branch or tag pointed to
//   <cache>/models--ORG--NAME/snapshots/<commit>/<path>         relative symlinks to ../../blobs/<etag>
//   <cache>/models--ORG--NAME/.no_exist/<commit>/<path>         empty marker: the file is not in that commit
//   <cache>/.locks/models--ORG--NAME/<etag>.lock                flock(2) lock held while a blob is written
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace visbone::hub {

// huggingface_hub's truth test for environment variables: 1, ON, YES or TRUE in any case.
bool env_is_true(const char* name);
// $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
std::filesystem::path hf_home();
// $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE (the legacy name), else hf_home()/hub.
std::filesystem::path default_cache_dir();
// $HF_ENDPOINT without trailing slashes, else https://huggingface.co.
std::string default_endpoint();
// $HF_TOKEN, else $HUGGING_FACE_HUB_TOKEN, else the file $HF_TOKEN_PATH or hf_home()/token (what
// `huggingface-cli login` writes); line breaks and surrounding blanks removed, empty means none.
std::optional<std::string> default_token();
// $HF_HUB_OFFLINE or $TRANSFORMERS_OFFLINE is true.
bool default_offline();

// A full 40-digit lowercase hex commit id (a revision that can never move).
bool is_commit_hash(std::string_view revision);
// Whether `name` is a hub repository id: is_hub_repo_id (core/model_name.h), huggingface_hub's rule.
bool is_repo_id(std::string_view name);
// Throws ConfigError unless is_repo_id(repo_id).
void validate_repo_id(const std::string& repo_id);
// Throws ConfigError unless `revision` can name a ref file
// under refs/ (a branch, a tag, refs/pr/N, a commit).
void validate_revision(const std::string& revision);
// Throws ConfigError unless `filename` is a relative path inside a repository (no "..", no leading '/').
void validate_repo_filename(const std::string& filename);
// "models--ORG--NAME", the folder a repository gets in the cache.
std::string repo_folder_name(const std::string& repo_id);

// Where a lookup in the cache ended.
enum class CacheState {
  missing,   // nothing known locally: the hub has to be asked
  found,     // the file is in the snapshot (path set)
  no_exist,  // a .no_exist marker says the file is not in that commit
};

struct CacheLookup {
  CacheState state = CacheState::missing;
  std::filesystem::path path;         // the snapshot file when found
  std::optional<std::string> commit;  // the commit the revision resolved to, when known
};

// One repository's folder in a cache directory. Paths are absolute so the snapshot symlinks can be relative.
class RepoCache {
 public:
  RepoCache(const std::filesystem::path& cache_dir, const std::string& repo_id);

  const std::string& repo_id() const { return repo_id_; }
  const std::filesystem::path& cache_dir() const { return cache_dir_; }
  const std::filesystem::path& folder() const { return folder_; }
  std::filesystem::path blob_path(const std::string& etag) const;
  std::filesystem::path snapshot_dir(const std::string& commit) const;
  std::filesystem::path pointer_path(const std::string& commit, const std::string& filename) const;
  std::filesystem::path no_exist_path(const std::string& commit, const std::string& filename) const;
  std::filesystem::path lock_path(const std::string& etag) const;

  // The commit `revision` stands for: itself when it is a commit hash, else the content of refs/<revision>.
  std::optional<std::string> resolve_revision(const std::string& revision) const;
  // Records that `revision` points at `commit` (atomically: write a temporary
  // file, then rename). Does nothing when the revision is the commit itself
  // or the ref already says so, so a read-only cache stays usable.
  void write_ref(const std::string& revision, const std::string& commit) const;
  // Records that `filename` does not exist in `commit`, as huggingface_hub does on a 404 EntryNotFound.
  void mark_no_exist(const std::string& commit, const std::string& filename) const;
  // What the cache knows about `filename` at `revision` (huggingface_hub's try_to_load_from_cache).
  CacheLookup find(const std::string& revision, const std::string& filename) const;
  // Points snapshots/<commit>/<filename> at blobs/<etag> with a relative symlink, replacing what was there.
  std::filesystem::path link_snapshot_file(const std::string& commit, const std::string& filename,
                                           const std::string& etag) const;
  // CACHEDIR.TAG in the cache root so backup tools skip it (huggingface_hub writes the same file).
  void write_cachedir_tag() const;

 private:
  std::string repo_id_;
  std::filesystem::path cache_dir_;
  std::filesystem::path folder_;
};

// An exclusive flock(2) on a lock file, the same kind of lock the `filelock`
// package takes for huggingface_hub, so visbone and Python processes
// downloading the same blob wait for each other. Released by the destructor.
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace visbone::hub
