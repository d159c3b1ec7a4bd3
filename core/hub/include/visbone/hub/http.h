// A small HTTP client over libcurl for talking to the hub: HEAD for file metadata, GET streamed to a sink.
// Connections are reused between requests of one client; every request is bounded by a connect timeout and a
// stall timeout (checked ten times a second, so it is exact to 0.1 s, whatever the transfer rate before), and a
// GET optionally by a deadline, so a dead, silent or dripping server ends in an error that names the URL
// instead of a hang.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "visbone/core/errors.h"

namespace visbone::hub {

// The server answered with an error status. The message names the URL, the status and what it means.
class HttpError : public NetworkError {
 public:
  HttpError(const std::string& message, std::string url, long status, std::string error_code = {})
      : NetworkError(message), url_(std::move(url)), status_(status), error_code_(std::move(error_code)) {}
  const std::string& url() const { return url_; }
  long status() const { return status_; }
  // The hub's X-Error-Code header (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo) or empty.
  const std::string& error_code() const { return error_code_; }

 private:
  std::string url_;
  long status_;
  std::string error_code_;
};

struct HttpTimeouts {
  std::chrono::milliseconds connect{10000};  // to establish the connection
  std::chrono::milliseconds stall{10000};    // with no byte received (before the first: connect + stall)
};

struct HttpResponse {
  long status = 0;
  std::string url;                                           // the URL that gave this response
  std::vector<std::pair<std::string, std::string>> headers;  // of the final response; names in lowercase
  std::string body;  // the start of a non-2xx body (at most 4 KiB), for error messages

  // The last value of a header, by case-insensitive name.
  std::optional<std::string> header(std::string_view name) const;
};

// How a streamed GET ended. Transfer problems are reported, not thrown, so the caller can resume.
struct GetResult {
  HttpResponse response;
  std::uint64_t body_bytes = 0;  // bytes handed to the sink
  bool complete = false;         // the response arrived whole
  bool connected = false;        // some response (at least its status line) arrived
  bool stalled = false;          // stopped because no byte came for the stall timeout
  bool past_deadline = false;    // stopped at the deadline
  std::string failure;           // why not complete: names the URL and the cause
};

class HttpClient {
 public:
  using Start = std::function<bool(const HttpResponse& response)>;       // false stops the transfer
  using Sink = std::function<bool(const char* data, std::size_t size)>;  // false stops the transfer
  using Progress = std::function<void(std::uint64_t received, std::uint64_t total)>;

  explicit HttpClient(HttpTimeouts timeouts = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // HEAD without following redirects. Throws NetworkError naming the URL when no response arrives in time.
  HttpResponse head(const std::string& url, const std::vector<std::string>& headers);
  // GET following redirects (http and https only). Before the first body byte of a 2xx response, `start`
  // sees its status and headers (to check a Range answer); then the body goes to `sink`. The transfer stops
  // at `deadline` when one is given.
  GetResult get(const std::string& url, const std::vector<std::string>& headers, const Start& start,
                const Sink& sink, const Progress& progress = {},
                std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);

 private:
  void* curl_;   // CURL*, kept opaque so users of this header need no curl headers
  void* multi_;  // CURLM*: runs each request so the client can wake up to check the stall and the deadline
  HttpTimeouts timeouts_;
};

// Percent-encodes `text` as Python's urllib.parse.quote(text, safe): letters, digits, "_.-~" and the
// characters in `safe` stay as they are.
std::string url_quote(std::string_view text, std::string_view safe);
// Whether a Location header is a reference on the same server (no scheme and no host), like "/a/b".
bool url_is_relative(std::string_view location);
// `location` resolved against `base` (RFC 3986). Throws NetworkError if either cannot be parsed.
std::string url_resolve(const std::string& base, const std::string& location);
// "scheme://host:port" of a URL with the default port filled in, to tell whether two URLs share a server.
std::string url_origin(const std::string& url);

}  // namespace visbone::hub
