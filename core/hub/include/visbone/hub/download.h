// Talking to the hub's /resolve/ endpoint: a file's metadata from a HEAD request, and the transfer of its
// bytes into the cache, resumable and verified before it becomes a blob.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "visbone/hub/http.h"

namespace visbone::hub {

// What a HEAD on {endpoint}/{repo}/resolve/{revision}/{file} says about the file.
struct FileMetadata {
  std::string commit;      // X-Repo-Commit: the commit the revision resolved to
  std::string etag;        // X-Linked-Etag (LFS: the sha256), else ETag (git sha1); quotes and W/ removed
  std::uint64_t size = 0;  // X-Linked-Size (LFS), else Content-Length
  std::string location;  // where the bytes are: the redirect target (an LFS file's CDN URL) or the URL itself
};

// An ETag header as a file name: W/ prefix and surrounding quotes removed (huggingface_hub's
// _normalize_etag).
std::string normalize_etag(std::string_view etag);

// HEAD `url` with "Accept-Encoding: identity" (so sizes are the real ones), following redirects only within
// the same server (a renamed repository) and not to another host (an LFS file's CDN), as huggingface_hub
// does. Throws NetworkError naming the URL when there is no answer.
HttpResponse head_resolve(HttpClient& client, const std::string& url, std::vector<std::string> headers);

// The metadata in a 2xx/3xx answer to head_resolve. Throws NetworkError
// naming the URL when the commit, ETag or size is missing or malformed (the
// endpoint is then not a Hugging Face hub, or a proxy altered the answer).
FileMetadata parse_file_metadata(const HttpResponse& response, const std::string& url);

enum class ProgressMode {
  automatic,  // a bar on stderr for files of 1 MiB or more when stderr is a terminal and
              // HF_HUB_DISABLE_PROGRESS_BARS is not set
  always,     // a bar on stderr for every file
  never,
};

struct BlobDownload {
  std::string url;                    // where to GET the bytes
  std::vector<std::string> headers;   // sent with every GET (authorization, ...)
  std::filesystem::path incomplete;   // the partial file; a previous interrupted download is resumed from it
  std::filesystem::path destination;  // the blob, which appears only once complete and verified
  std::uint64_t expected_size = 0;
  std::string etag;             // when it is 64 hex digits (an LFS file) it is the contents' sha256, verified
  std::string display_name;     // the file's name in the repository, for the progress bar and messages
  int max_resume_attempts = 5;  // consecutive attempts that bring no new byte before giving up
  std::chrono::milliseconds retry_delay{300};
  // The whole download, every attempt included, ends by then (a server dripping bytes never stalls).
  std::optional<std::chrono::milliseconds> deadline;
  // Before each request the disk must have the missing bytes plus this much free.
  std::uint64_t free_space_margin = 16u << 20;
  ProgressMode progress = ProgressMode::automatic;
};

// Downloads `job.url` into `job.incomplete` (asking for the missing tail with a Range request when it already
// holds a prefix, and resuming after a dropped connection), then checks the size and, for LFS files, the
// sha256, and renames it to `job.destination`. A body that fails a check is deleted, so a corrupt file never
// becomes a blob; an interrupted transfer keeps its partial file for the next attempt. Throws NetworkError
// (HttpError for an error status) naming the URL and what was expected, IoError when the disk fails us or has
// too little free space for the missing bytes (checked before each request).
void download_blob(HttpClient& client, const BlobDownload& job);

}  // namespace visbone::hub
