#include "visbone/hub/download.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include "visbone/hub/cache.h"
#include "visbone/hub/server_text.h"
#include "visbone/hub/sha256.h"

namespace fs = std::filesystem;

namespace visbone::hub {
namespace {

bool is_sha256_hex(std::string_view text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// ETags become file names under blobs/: accept only what the hub sends (hex digests) or other plain names,
// never anything that could leave the folder.
bool is_safe_etag(std::string_view etag) {
  if (etag.empty() || etag.size() > 128 || etag.front() == '.') return false;
  return etag.find_first_not_of("0123456789abcdefABCDEFghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ-_.") ==
         std::string_view::npos;
}

std::optional<std::uint64_t> parse_size(const std::optional<std::string>& text) {
  if (!text || text->empty() || text->size() > 19 ||
      text->find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoull(*text);
}

std::string seconds_text(std::chrono::milliseconds d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(d.count()) / 1000);
  return text;
}

std::string human_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  int unit = 0;
  while (bytes >= 1000 && unit < 4) {
    bytes /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, kUnits[unit]);
  return text;
}

// A one-line bar on stderr, redrawn at most ten times a second.
class ProgressBar {
 public:
  ProgressBar(std::string name, std::uint64_t total, ProgressMode mode)
      : name_(std::move(name)), total_(total) {
    if (mode == ProgressMode::always) {
      enabled_ = true;
    } else if (mode == ProgressMode::automatic) {
      enabled_ =
          total >= (1u << 20) && ::isatty(STDERR_FILENO) == 1 && !env_is_true("HF_HUB_DISABLE_PROGRESS_BARS");
    }
    if (name_.size() > 40) name_ = "..." + name_.substr(name_.size() - 37);
    start_ = std::chrono::steady_clock::now();
  }

  void update(std::uint64_t done, bool force = false) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    if (!started_) {
      first_ = done;  // bytes resumed from a previous run do not count towards the speed
      started_ = true;
    }
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const int percent = total_ == 0 ? 100 : static_cast<int>(100.0 * static_cast<double>(done) / total_);
    std::ostringstream line;
    line << "\r" << name_ << ": " << percent << "% " << human_bytes(static_cast<double>(done)) << "/"
         << human_bytes(static_cast<double>(total_));
    if (seconds > 0.05) line << " " << human_bytes(static_cast<double>(done - first_) / seconds) << "/s";
    line << "   ";
    std::cerr << line.str() << std::flush;
  }

  void finish(std::uint64_t done) {
    if (!enabled_) return;
    update(done, true);
    std::cerr << "\n" << std::flush;
  }

 private:
  std::string name_;
  std::uint64_t total_;
  bool enabled_ = false;
  bool started_ = false;
  std::uint64_t first_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_{};
};

std::uint64_t size_or_zero(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : size;
}

std::string error_status_message(const HttpResponse& response, const std::string& url) {
  std::string message = "GET " + url + " answered HTTP " + std::to_string(response.status);
  if (const auto text = response.header("x-error-message"))
    message += ": " + escape_server_text(*text);
  else if (!response.body.empty())
    message += ": " + escape_server_text(response.body, 300);
  return message;
}

// Throws IoError when the folder of `file` has less than `needed` + `margin` bytes free for us.
void check_free_space(const fs::path& file, std::uint64_t needed, std::uint64_t margin, const std::string& what) {
  struct statvfs st {};
  if (::statvfs(file.parent_path().c_str(), &st) != 0) return;  // unknown: the writes will tell
  const std::uint64_t free = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
  if (free >= needed && free - needed >= margin) return;
  throw IoError("not enough free space in " + file.parent_path().string() + " to download " + what + ": it needs " +
                std::to_string(needed) + " more bytes plus a margin of " + std::to_string(margin) + ", and " +
                std::to_string(free) + " bytes are free");
}

}  // namespace

std::string normalize_etag(std::string_view etag) {
  if (etag.rfind("W/", 0) == 0) etag.remove_prefix(2);
  while (!etag.empty() && etag.front() == '"') etag.remove_prefix(1);
  while (!etag.empty() && etag.back() == '"') etag.remove_suffix(1);
  return std::string(etag);
}

HttpResponse head_resolve(HttpClient& client, const std::string& url, std::vector<std::string> headers) {
  headers.emplace_back("Accept-Encoding: identity");
  std::string current = url;
  // Bounded: a server that redirects in circles gets an error, not a loop.
  for (int hop = 0; hop < 10; ++hop) {
    HttpResponse response = client.head(current, headers);
    if (response.status < 300 || response.status > 399) return response;
    const auto location = response.header("location");
    if (!location || !url_is_relative(*location)) return response;  // e.g. an LFS file's CDN: not followed
    current = url_resolve(current, *location);
  }
  throw NetworkError("HEAD " + url + ": more than 10 redirects on the same server");
}

FileMetadata parse_file_metadata(const HttpResponse& response, const std::string& url) {
  auto missing = [&](const std::string& what) {
    return NetworkError(
        "HEAD " + response.url + " (for " + url + ") answered HTTP " + std::to_string(response.status) +
        " without " + what +
        "; is the endpoint a Hugging Face hub (HF_ENDPOINT), or did a proxy change the answer?");
  };
  FileMetadata meta;
  const auto commit = response.header("x-repo-commit");
  if (!commit) throw missing("an X-Repo-Commit header");
  if (!is_commit_hash(*commit))
    throw missing("a valid X-Repo-Commit (40 hex digits, got '" + escape_server_text(*commit, 100) + "')");
  meta.commit = *commit;

  // X-Linked-Etag (the LFS object's sha256) wins over ETag, which on a redirect describes the pointer file.
  auto etag = response.header("x-linked-etag");
  if (!etag) etag = response.header("etag");
  if (!etag) throw missing("an ETag or X-Linked-Etag header");
  meta.etag = normalize_etag(*etag);
  if (!is_safe_etag(meta.etag)) throw missing("a usable ETag (got '" + escape_server_text(*etag, 200) + "')");

  const bool redirect = response.status >= 300 && response.status <= 399;
  // On a redirect Content-Length is the redirect page's, not the file's.
  auto size = parse_size(response.header("x-linked-size"));
  if (!size && !redirect) size = parse_size(response.header("content-length"));
  if (!size) throw missing(redirect ? "an X-Linked-Size header" : "a Content-Length or X-Linked-Size header");
  meta.size = *size;

  meta.location = response.url;
  if (const auto location = response.header("location"); location && redirect)
    meta.location = url_resolve(response.url, *location);
  return meta;
}

namespace {

void transfer(HttpClient& client, const BlobDownload& job);

}  // namespace

void download_blob(HttpClient& client, const BlobDownload& job) {
  {
    // Exists from the start, so an empty file needs no request and every check below has a file to look at.
    std::ofstream touch(job.incomplete, std::ios::binary | std::ios::app);
    if (!touch) throw IoError(job.incomplete.string() + ": cannot create the download of " + job.url);
  }
  try {
    transfer(client, job);
  } catch (...) {
    // A partial file is worth keeping for the next attempt; an empty one is only litter in blobs/.
    std::error_code ec;
    if (fs::exists(job.incomplete, ec) && size_or_zero(job.incomplete) == 0) fs::remove(job.incomplete, ec);
    throw;
  }
}

namespace {

// The loop of download_blob: fetch what is missing until the file is whole, then verify and move it in place.
void transfer(HttpClient& client, const BlobDownload& job) {
  ProgressBar bar(job.display_name, job.expected_size, job.progress);
  int attempts_left = job.max_resume_attempts;
  int attempts = 0;
  std::string last_failure;
  const auto started = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // Capped so that no deadline a caller gives can overflow steady_clock's nanoseconds.
  if (job.deadline)
    deadline = started + std::min<std::chrono::milliseconds>(*job.deadline, std::chrono::hours(24 * 365));
  const auto kept = [&](std::uint64_t written) {
    return std::to_string(written) + " of " + std::to_string(job.expected_size) + " bytes kept in " +
           job.incomplete.string() + " to resume from next time";
  };
  // An LFS blob's sha256, fed each body piece as it is written, so a multi-gigabyte file is not read back.
  // Only a prefix left by an earlier run (or a failed write) is read from disk, once.
  const bool verify = is_sha256_hex(job.etag);
  std::optional<Sha256> hasher;
  const auto hash_file_prefix = [&](std::uint64_t size) {
    if (!verify || (hasher && hasher->size() == size)) return;
    hasher.emplace();
    sha256_update_from_file(*hasher, job.incomplete, size);
  };
  while (true) {
    std::uint64_t have = size_or_zero(job.incomplete);
    if (have > job.expected_size) {
      // Not a prefix of this blob (a different server, a corrupt leftover): start over.
      fs::resize_file(job.incomplete, 0);
      have = 0;
    }
    hash_file_prefix(have);
    if (have == job.expected_size) break;

    check_free_space(job.incomplete, job.expected_size - have, job.free_space_margin, job.display_name);
    std::vector<std::string> headers = job.headers;
    if (have > 0) headers.push_back("Range: bytes=" + std::to_string(have) + "-");
    std::ofstream out(job.incomplete, std::ios::binary | std::ios::app);
    if (!out) throw IoError(job.incomplete.string() + ": cannot open for writing the download of " + job.url);

    std::uint64_t written = have;
    std::string refusal;        // why we stopped the transfer ourselves
    bool write_failed = false;  // the disk, not the network
    const auto start = [&](const HttpResponse& response) {
      if (have == 0) return true;
      if (response.status == 200) {
        // The server ignored our Range and sends everything: drop the prefix, or we would duplicate it.
        out.close();
        out.open(job.incomplete, std::ios::binary | std::ios::trunc);
        written = 0;
        if (verify) hasher.emplace();
        return static_cast<bool>(out);
      }
      const std::string expected_range = "bytes " + std::to_string(have) + "-";
      const auto range = response.header("content-range");
      if (response.status == 206 && range && range->rfind(expected_range, 0) == 0) return true;
      refusal = "GET " + response.url + " answered a request for the bytes from " + std::to_string(have) +
                " with HTTP " + std::to_string(response.status) + " and Content-Range '" +
                escape_server_text(range.value_or(""), 100) + "'";
      return false;
    };
    const auto sink = [&](const char* data, std::size_t size) {
      if (written + size > job.expected_size) {
        refusal = "GET " + job.url + " sent more than the " + std::to_string(job.expected_size) +
                  " bytes the hub announced for " + job.display_name;
        return false;
      }
      out.write(data, static_cast<std::streamsize>(size));
      if (!out) {
        write_failed = true;
        return false;
      }
      if (hasher) hasher->update(data, size);
      written += size;
      return true;
    };
    const auto progress = [&](std::uint64_t, std::uint64_t) { bar.update(written); };
    const GetResult result = client.get(job.url, headers, start, sink, progress, deadline);
    ++attempts;
    out.close();
    if (write_failed || (!out && written > have))
      throw IoError(job.incomplete.string() + ": cannot write the download of " + job.url + " (disk full?)");
    if (!refusal.empty()) {
      std::error_code ec;
      fs::remove(job.incomplete, ec);  // its content cannot be trusted as a prefix any more
      throw NetworkError(refusal + "; the partial file was discarded");
    }
    if (result.connected && (result.response.status < 200 || result.response.status > 299)) {
      if (result.response.status == 416 && have > 0) {
        // Our partial file is longer than what the server has now: start over once.
        fs::resize_file(job.incomplete, 0);
        if (--attempts_left < 0)
          throw HttpError(error_status_message(result.response, job.url), job.url, 416);
        continue;
      }
      throw HttpError(error_status_message(result.response, result.response.url), result.response.url,
                      result.response.status, result.response.header("x-error-code").value_or(""));
    }
    if (result.complete && written == job.expected_size) break;
    last_failure = result.complete
                       ? "GET " + result.response.url + ": the body ended after " + std::to_string(written) +
                             " of " + std::to_string(job.expected_size) + " bytes"
                       : result.failure;
    if (result.past_deadline || (deadline && std::chrono::steady_clock::now() + job.retry_delay >= *deadline))
      throw NetworkError("download of " + job.display_name + " from " + job.url +
                         " did not finish within its deadline of " + seconds_text(*job.deadline) +
                         " (attempts: " + std::to_string(attempts) + "; the last: " + last_failure + "; " +
                         kept(written) + ")");
    // As huggingface_hub: any new byte renews the attempts, so a flaky but progressing link gets there.
    if (written > have)
      attempts_left = job.max_resume_attempts;
    else
      --attempts_left;
    if (attempts_left < 0)
      throw NetworkError(last_failure + "; gave up after " + std::to_string(job.max_resume_attempts + 1) +
                         " attempts without progress (" + std::to_string(attempts) + " in all; " + kept(written) +
                         ")");
    std::this_thread::sleep_for(job.retry_delay);
  }
  bar.finish(job.expected_size);

  const std::uint64_t size = size_or_zero(job.incomplete);
  if (size != job.expected_size) {
    std::error_code ec;
    fs::remove(job.incomplete, ec);
    throw NetworkError("download of " + job.display_name + " from " + job.url + " has " +
                       std::to_string(size) + " bytes, expected " + std::to_string(job.expected_size) +
                       "; the file was discarded");
  }
  if (verify) {
    hash_file_prefix(size);  // a no-op: the hasher has seen every byte of the file
    const std::string actual = hasher->finish_hex();
    if (actual != job.etag) {
      std::error_code ec;
      fs::remove(job.incomplete, ec);
      throw NetworkError("download of " + job.display_name + " from " + job.url +
                         " is corrupt: its sha256 is " + actual + ", expected " + job.etag +
                         " (the hub's X-Linked-Etag); the file was discarded");
    }
  }
  std::error_code ec;
  fs::rename(job.incomplete, job.destination, ec);
  if (ec)
    throw IoError(job.destination.string() + ": cannot move the downloaded " + job.display_name +
                  " into place: " + ec.message());
}

}  // namespace

}  // namespace visbone::hub
