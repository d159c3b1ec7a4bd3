#include "visbone/hub/cache.h"
#include "visbone/core/model_name.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include "visbone/core/errors.h"

namespace fs = std::filesystem;

namespace visbone::hub {
namespace {

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

// os.path.expandvars: $NAME and ${NAME} are replaced when set and left as they are when not.
std::string expand_vars(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] != '$') {
      out.push_back(text[i++]);
      continue;
    }
    const bool braced = i + 1 < text.size() && text[i + 1] == '{';
    std::size_t start = i + (braced ? 2 : 1), end = start;
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_'))
      ++end;
    const bool closed = !braced || (end < text.size() && text[end] == '}');
    const auto value = (end > start && closed) ? env(text.substr(start, end - start).c_str()) : std::nullopt;
    if (!value) {
      out.push_back(text[i++]);
      continue;
    }
    out += *value;
    i = end + (braced ? 1 : 0);
  }
  return out;
}

// huggingface_hub passes every cache location through expanduser and expandvars; so do we, so that the same
// environment gives the same folder.
fs::path expand_path(const std::string& text) {
  std::string path = expand_vars(text);
  if (path == "~" || path.rfind("~/", 0) == 0) {
    if (const auto home = env("HOME")) path = *home + path.substr(1);
  }
  return fs::path(path);
}

fs::path home_dir() {
  if (const auto home = env("HOME"); home && !home->empty()) return *home;
  // Without HOME (some service managers) the current folder is the only place we can be sure exists.
  return fs::current_path();
}

std::string trim(std::string text) {
  const auto blank = [](unsigned char c) { return std::isspace(c) != 0; };
  text.erase(text.begin(), std::find_if_not(text.begin(), text.end(), blank));
  text.erase(std::find_if_not(text.rbegin(), text.rend(), blank).base(), text.end());
  return text;
}

std::string unique_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^ static_cast<std::uint64_t>(::getpid())};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  auto bits = rng();
  for (int i = 0; i < 8; ++i, bits >>= 4) s.push_back(kHex[bits & 15]);
  return s;
}

}  // namespace

bool env_is_true(const char* name) {
  auto value = env(name);
  if (!value) return false;
  std::transform(value->begin(), value->end(), value->begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return *value == "1" || *value == "ON" || *value == "YES" || *value == "TRUE";
}

fs::path hf_home() {
  if (const auto home = env("HF_HOME")) return expand_path(*home);
  if (const auto xdg = env("XDG_CACHE_HOME")) return expand_path(*xdg) / "huggingface";
  return home_dir() / ".cache" / "huggingface";
}

fs::path default_cache_dir() {
  if (const auto dir = env("HF_HUB_CACHE")) return expand_path(*dir);
  if (const auto dir = env("HUGGINGFACE_HUB_CACHE")) return expand_path(*dir);
  return hf_home() / "hub";
}

std::string default_endpoint() {
  std::string endpoint = env("HF_ENDPOINT").value_or("https://huggingface.co");
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

std::optional<std::string> default_token() {
  auto clean = [](std::string token) -> std::optional<std::string> {
    token.erase(std::remove_if(token.begin(), token.end(), [](char c) { return c == '\r' || c == '\n'; }),
                token.end());
    token = trim(std::move(token));
    if (token.empty()) return std::nullopt;
    return token;
  };
  if (const auto token = env("HF_TOKEN")) return clean(*token);
  if (const auto token = env("HUGGING_FACE_HUB_TOKEN")) return clean(*token);
  const fs::path file = env("HF_TOKEN_PATH") ? expand_path(*env("HF_TOKEN_PATH")) : hf_home() / "token";
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(4096, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return clean(std::move(text));
}

bool default_offline() {
  return env_is_true("HF_HUB_OFFLINE") || env_is_true("TRANSFORMERS_OFFLINE");
}

bool is_commit_hash(std::string_view revision) {
  return revision.size() == 40 && std::all_of(revision.begin(), revision.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool is_repo_id(std::string_view name) {
  return is_hub_repo_id(name);
}

void validate_repo_id(const std::string& repo_id) {
  if (!is_repo_id(repo_id))
    throw ConfigError("'" + repo_id +
                      "' is not a hub repository id: expected ORG/NAME of letters, digits, '-', '_' and '.' "
                      "(like google/bit-50)");
}

void validate_revision(const std::string& revision) {
  // A branch or tag becomes a path under refs/ (refs/pr/1 included), so it must not climb out of it.
  bool ok = !revision.empty() && revision.front() != '/' && revision.find('\\') == std::string::npos &&
            revision.find('\0') == std::string::npos;
  for (const auto& part : fs::path(revision)) ok = ok && part != ".." && part != "." && !part.empty();
  if (!ok)
    throw ConfigError("'" + revision +
                      "' is not a valid revision: expected a branch, a tag or a commit hash");
}

void validate_repo_filename(const std::string& filename) {
  const fs::path path(filename);
  bool ok = !filename.empty() && path.is_relative() && filename.find('\\') == std::string::npos &&
            filename.find('\0') == std::string::npos;
  for (const auto& part : path) ok = ok && part != ".." && part != "." && !part.empty();
  if (!ok)
    throw ConfigError("'" + filename + "' is not a file path inside a repository: expected a relative path " +
                      "without '.' or '..' components (like config.json or subfolder/model.safetensors)");
}

std::string repo_folder_name(const std::string& repo_id) {
  std::string name = "models";
  std::size_t start = 0;
  while (true) {
    const auto slash = repo_id.find('/', start);
    name += "--" + repo_id.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return name;
}

RepoCache::RepoCache(const fs::path& cache_dir, const std::string& repo_id)
    : repo_id_(repo_id), cache_dir_(fs::absolute(cache_dir).lexically_normal()) {
  validate_repo_id(repo_id);
  folder_ = cache_dir_ / repo_folder_name(repo_id);
}

fs::path RepoCache::blob_path(const std::string& etag) const {
  return folder_ / "blobs" / etag;
}

fs::path RepoCache::snapshot_dir(const std::string& commit) const {
  return folder_ / "snapshots" / commit;
}

fs::path RepoCache::pointer_path(const std::string& commit, const std::string& filename) const {
  validate_repo_filename(filename);
  return snapshot_dir(commit) / fs::path(filename);
}

fs::path RepoCache::no_exist_path(const std::string& commit, const std::string& filename) const {
  validate_repo_filename(filename);
  return folder_ / ".no_exist" / commit / fs::path(filename);
}

fs::path RepoCache::lock_path(const std::string& etag) const {
  return cache_dir_ / ".locks" / repo_folder_name(repo_id_) / (etag + ".lock");
}

std::optional<std::string> RepoCache::resolve_revision(const std::string& revision) const {
  if (is_commit_hash(revision)) return revision;
  validate_revision(revision);
  std::ifstream in(folder_ / "refs" / fs::path(revision), std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(128, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  // huggingface_hub writes the bare hash; tolerate a trailing newline from hand-written or other tools' refs.
  text = trim(std::move(text));
  if (!is_commit_hash(text))
    throw FormatError((folder_ / "refs" / revision).string() + ": expected a 40-digit commit hash, found '" +
                      text.substr(0, 64) + "'");
  return text;
}

void RepoCache::write_ref(const std::string& revision, const std::string& commit) const {
  if (revision == commit) return;
  validate_revision(revision);
  if (resolve_revision(revision) == commit) return;
  const fs::path ref = folder_ / "refs" / fs::path(revision);
  fs::create_directories(ref.parent_path());
  const fs::path tmp = ref.parent_path() / (ref.filename().string() + "." + unique_suffix() + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << commit;
    out.close();
    if (!out) throw IoError(tmp.string() + ": cannot write the ref for revision '" + revision + "'");
  }
  std::error_code ec;
  fs::rename(tmp, ref, ec);  // atomic, so concurrent readers never see half a hash
  if (ec) {
    fs::remove(tmp, ec);
    throw IoError(ref.string() + ": cannot write the ref for revision '" + revision + "'");
  }
}

void RepoCache::mark_no_exist(const std::string& commit, const std::string& filename) const {
  const fs::path marker = no_exist_path(commit, filename);
  fs::create_directories(marker.parent_path());
  std::ofstream out(marker, std::ios::binary | std::ios::app);
  if (!out) throw IoError(marker.string() + ": cannot create the .no_exist marker");
}

CacheLookup RepoCache::find(const std::string& revision, const std::string& filename) const {
  CacheLookup lookup;
  std::error_code ec;
  if (!fs::is_directory(folder_, ec)) return lookup;
  lookup.commit = resolve_revision(revision);
  if (!lookup.commit) return lookup;
  if (fs::is_regular_file(no_exist_path(*lookup.commit, filename), ec)) {
    lookup.state = CacheState::no_exist;
    return lookup;
  }
  // is_regular_file follows the symlink: a snapshot entry whose blob was deleted counts as missing.
  const fs::path pointer = pointer_path(*lookup.commit, filename);
  if (fs::is_regular_file(pointer, ec)) {
    lookup.state = CacheState::found;
    lookup.path = pointer;
  }
  return lookup;
}

fs::path RepoCache::link_snapshot_file(const std::string& commit, const std::string& filename,
                                       const std::string& etag) const {
  const fs::path pointer = pointer_path(commit, filename);
  const fs::path blob = blob_path(etag);
  fs::create_directories(pointer.parent_path());
  // Relative, as huggingface_hub makes them, so the cache survives being moved or mounted elsewhere.
  const fs::path target = blob.lexically_relative(pointer.parent_path());
  std::error_code ec;
  fs::remove(pointer, ec);
  fs::create_symlink(target, pointer, ec);
  if (ec) {
    // Another process may have linked the same file between our
    // remove and create: fine if it is the same blob.
    std::error_code read_ec;
    if (fs::is_symlink(pointer, read_ec) && fs::read_symlink(pointer, read_ec) == target) return pointer;
    throw IoError(pointer.string() + ": cannot create the snapshot symlink to " + target.string() + ": " +
                  ec.message());
  }
  return pointer;
}

void RepoCache::write_cachedir_tag() const {
  const fs::path tag = cache_dir_ / "CACHEDIR.TAG";
  std::error_code ec;
  if (fs::exists(tag, ec)) return;
  std::ofstream out(tag, std::ios::binary);
  // Best effort, as in huggingface_hub: the tag is a courtesy to backup tools, not needed for the cache.
  out << "Signature: 8a477f597d28d172789f06886806bc55\n"
         "# This file is a cache directory tag created by huggingface_hub.\n"
         "# For information about cache directory tags, see:\n"
         "#\thttps://bford.info/cachedir/\n";
}

FileLock::FileLock(const fs::path& path) {
  fs::create_directories(path.parent_path());
  // 0664 as huggingface_hub's WeakFileLock uses, so users sharing
  // a cache through a group can wait on each other.
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0664);
  if (fd_ < 0) throw IoError(path.string() + ": cannot open lock file: " + std::strerror(errno));
  const auto start = std::chrono::steady_clock::now();
  auto next_note = start + std::chrono::seconds(10);
  // Poll rather than block so we can tell the user why nothing happens while another process downloads.
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      const int err = errno;
      ::close(fd_);
      throw IoError(path.string() + ": cannot lock: " + std::strerror(err));
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_note) {
      std::cerr << "visbone: waiting for another process to finish downloading (lock " << path.string()
                << ", " << std::chrono::duration_cast<std::chrono::seconds>(now - start).count() << " s)\n";
      next_note = now + std::chrono::seconds(10);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

}  // namespace visbone::hub
