#include "visbone/hub/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>
#include <mutex>

#ifndef VISBONE_VERSION
#define VISBONE_VERSION "0"
#endif

namespace visbone::hub {
namespace {

constexpr std::size_t kErrorBodyLimit = 4096;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return std::string(text);
}

void global_init() {
  // curl_global_init is not thread-safe; doing it once before the
  // first handle makes the client usable from any thread afterwards.
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw NetworkError("libcurl could not be initialised");
  });
}

std::string user_agent() {
  return std::string("visbone/") + VISBONE_VERSION + "; curl/" + curl_version_info(CURLVERSION_NOW)->version;
}

using Clock = std::chrono::steady_clock;

// State shared with the curl callbacks of one request.
struct Transfer {
  CURL* curl = nullptr;
  Clock::time_point last_data;  // when the last byte (header or body) arrived, or the request started
  bool any_data = false;
  HttpResponse response;
  const HttpClient::Start* start = nullptr;
  const HttpClient::Sink* sink = nullptr;
  const HttpClient::Progress* progress = nullptr;
  std::uint64_t body_bytes = 0;
  bool got_status = false;
  bool started = false;
  bool sink_stopped = false;
};

std::string effective_url(CURL* curl, const std::string& fallback) {
  char* url = nullptr;
  curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &url);
  return url != nullptr ? std::string(url) : fallback;
}

void saw_data(Transfer& t) {
  t.last_data = Clock::now();
  t.any_data = true;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  saw_data(t);
  const std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response begins (after a redirect or a 100 Continue): only the final one's headers matter.
    t.response.headers.clear();
    t.got_status = true;
    return size * count;
  }
  const auto colon = line.find(':');
  if (colon != std::string_view::npos && colon > 0)
    t.response.headers.emplace_back(lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  saw_data(t);
  const size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300 && t.sink != nullptr) {
    if (!t.started) {
      t.started = true;
      t.response.status = status;
      t.response.url = effective_url(t.curl, {});
      if (t.start != nullptr && *t.start && !(*t.start)(t.response)) {
        t.sink_stopped = true;
        return 0;
      }
    }
    if (!(*t.sink)(data, n)) {
      t.sink_stopped = true;
      return 0;  // makes curl stop with CURLE_WRITE_ERROR
    }
    t.body_bytes += n;
    return n;
  }
  // An error page: keep its start for the message, drop the rest.
  const size_t room = kErrorBodyLimit - std::min(kErrorBodyLimit, t.response.body.size());
  t.response.body.append(data, std::min(room, n));
  return n;
}

int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto& t = *static_cast<Transfer*>(user);
  if (t.progress != nullptr && *t.progress)
    (*t.progress)(static_cast<std::uint64_t>(now),
                  static_cast<std::uint64_t>(std::max<curl_off_t>(total, 0)));
  return 0;
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

Slist make_headers(const std::vector<std::string>& headers) {
  Slist list;
  for (const auto& h : headers) {
    curl_slist* next = curl_slist_append(list.get(), h.c_str());
    if (next == nullptr) throw NetworkError("out of memory building HTTP headers");
    list.release();
    list.reset(next);
  }
  return list;
}

// Options every request shares; `errors` receives curl's detailed message.
void set_common(CURL* curl, const std::string& url, curl_slist* headers, Transfer& t,
                const HttpTimeouts& timeouts, char* errors) {
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  const std::string agent = user_agent();
  curl_easy_setopt(curl, CURLOPT_USERAGENT, agent.c_str());  // curl copies strings it is given
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);              // no SIGALRM from timeouts in threaded programs
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeouts.connect.count()));
  // The stall is watched by perform(): curl's low-speed limit averages over whole seconds and takes a 2 B/s
  // drip for progress.
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errors);
  errors[0] = '\0';
}

std::string describe(CURLcode code, const char* errors) {
  std::string detail = errors[0] != '\0' ? errors : curl_easy_strerror(code);
  if (code == CURLE_OPERATION_TIMEDOUT) return "timed out (" + detail + ")";
  return detail;
}

std::string seconds_text(Clock::duration d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f s", std::chrono::duration<double>(d).count());
  return text;
}

// The bounds perform() keeps a request within, and which one stopped it.
struct Watch {
  std::chrono::milliseconds stall;  // no byte for this long: stalled
  std::chrono::milliseconds first;  // the same before the first byte (connecting counts)
  std::optional<Clock::time_point> deadline;
  bool stalled = false, past_deadline = false;
  Clock::duration silent{}, limit{};  // how long no byte had come when it stopped, and the limit then

  std::string why() const {
    if (past_deadline) return "timed out: the deadline for this file passed";
    return "timed out: no data for " + seconds_text(silent) + " (the stall limit is " + seconds_text(limit) +
           ")";
  }
};

// Runs one request on `multi`, waking at least every 100 ms to stop it when it stalls or passes the deadline.
CURLcode perform(CURLM* multi, CURL* curl, Transfer& t, Watch& w) {
  t.last_data = Clock::now();
  if (curl_multi_add_handle(multi, curl) != CURLM_OK) return CURLE_FAILED_INIT;
  CURLcode result = CURLE_OK;
  while (true) {
    int running = 0;
    if (curl_multi_perform(multi, &running) != CURLM_OK) {
      result = CURLE_FAILED_INIT;
      break;
    }
    if (running == 0) {
      result = CURLE_GOT_NOTHING;
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi, &left))
        if (m->msg == CURLMSG_DONE && m->easy_handle == curl) result = m->data.result;
      break;
    }
    const auto now = Clock::now();
    const auto limit = t.any_data ? w.stall : w.first;
    if (now - t.last_data >= limit) {
      w.stalled = true;
      w.silent = now - t.last_data;
      w.limit = limit;
      result = CURLE_OPERATION_TIMEDOUT;
      break;
    }
    if (w.deadline && now >= *w.deadline) {
      w.past_deadline = true;
      result = CURLE_OPERATION_TIMEDOUT;
      break;
    }
    auto wait = std::min<Clock::duration>(std::chrono::milliseconds(100), limit - (now - t.last_data));
    if (w.deadline) wait = std::min<Clock::duration>(wait, *w.deadline - now);
    const auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait).count() + 1;
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(wait_ms), nullptr);
  }
  curl_multi_remove_handle(multi, curl);
  return result;
}

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using Url = std::unique_ptr<CURLU, UrlDeleter>;

std::string url_part(CURLU* u, CURLUPart part, unsigned flags = 0) {
  char* value = nullptr;
  if (curl_url_get(u, part, &value, flags) != CURLUE_OK || value == nullptr) return {};
  std::string out(value);
  curl_free(value);
  return out;
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  const std::string key = lower(name);
  for (auto it = headers.rbegin(); it != headers.rend(); ++it)
    if (it->first == key) return it->second;
  return std::nullopt;
}

HttpClient::HttpClient(HttpTimeouts timeouts) : curl_(nullptr), multi_(nullptr), timeouts_(timeouts) {
  global_init();
  curl_ = curl_easy_init();
  multi_ = curl_multi_init();
  if (curl_ == nullptr || multi_ == nullptr) {
    curl_easy_cleanup(static_cast<CURL*>(curl_));
    curl_multi_cleanup(static_cast<CURLM*>(multi_));
    throw NetworkError("libcurl could not create a transfer handle");
  }
}

HttpClient::~HttpClient() {
  curl_easy_cleanup(static_cast<CURL*>(curl_));
  curl_multi_cleanup(static_cast<CURLM*>(multi_));  // after the easy handle, which no longer uses it
}

HttpResponse HttpClient::head(const std::string& url, const std::vector<std::string>& headers) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);  // keeps the connection cache, forgets the previous request's options
  Transfer t;
  t.curl = curl;
  const Slist list = make_headers(headers);
  char errors[CURL_ERROR_SIZE];
  set_common(curl, url, list.get(), t, timeouts_, errors);
  curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  // A HEAD has no body to stream, so the whole exchange gets one bound: connecting plus one stall period.
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>((timeouts_.connect + timeouts_.stall).count()));
  Watch watch{timeouts_.stall, timeouts_.connect + timeouts_.stall, std::nullopt};
  const CURLcode code = perform(static_cast<CURLM*>(multi_), curl, t, watch);
  if (code != CURLE_OK)
    throw NetworkError("cannot reach " + url + ": " + (watch.stalled ? watch.why() : describe(code, errors)));
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t.response.status);
  t.response.url = url;
  return std::move(t.response);
}

GetResult HttpClient::get(const std::string& url, const std::vector<std::string>& headers, const Start& start,
                          const Sink& sink, const Progress& progress,
                          std::optional<std::chrono::steady_clock::time_point> deadline) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);
  Transfer t;
  t.curl = curl;
  t.start = &start;
  t.sink = &sink;
  t.progress = &progress;
  const Slist list = make_headers(headers);
  char errors[CURL_ERROR_SIZE];
  set_common(curl, url, list.get(), t, timeouts_, errors);
  curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  // LFS files live behind a redirect to a CDN. curl drops our Authorization header when the redirect leaves
  // the host, so the token never reaches a third party.
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  Watch watch{timeouts_.stall, timeouts_.connect + timeouts_.stall, deadline};
  const CURLcode code = perform(static_cast<CURLM*>(multi_), curl, t, watch);

  GetResult result;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t.response.status);
  t.response.url = effective_url(curl, url);
  result.body_bytes = t.body_bytes;
  result.connected = t.got_status;
  result.complete = code == CURLE_OK;
  result.stalled = watch.stalled;
  result.past_deadline = watch.past_deadline;
  if (!result.complete) {
    if (watch.stalled || watch.past_deadline)
      result.failure = "GET " + t.response.url + ": " + watch.why() + " after " +
                       std::to_string(t.body_bytes) + " bytes";
    else if (t.sink_stopped)
      result.failure = "GET " + t.response.url + ": stopped while writing the body";
    else if (code == CURLE_PARTIAL_FILE || code == CURLE_RECV_ERROR || code == CURLE_GOT_NOTHING)
      result.failure = "GET " + t.response.url + ": connection closed after " + std::to_string(t.body_bytes) +
                       " bytes (" + describe(code, errors) + ")";
    else
      result.failure = "GET " + t.response.url + ": " + describe(code, errors);
  }
  result.response = std::move(t.response);
  return result;
}

std::string url_quote(std::string_view text, std::string_view safe) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '~' ||
        safe.find(static_cast<char>(c)) != safe.npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool url_is_relative(std::string_view location) {
  if (location.rfind("//", 0) == 0) return false;  // network-path reference: names a host
  // A scheme is letters, digits, '+', '-', '.' before the first ':' and before any '/', '?' or '#'.
  const auto colon = location.find(':');
  if (colon == std::string_view::npos || colon == 0) return true;
  const std::string_view scheme = location.substr(0, colon);
  const bool is_scheme = std::isalpha(static_cast<unsigned char>(scheme.front())) &&
                         std::all_of(scheme.begin(), scheme.end(), [](unsigned char c) {
                           return std::isalnum(c) || c == '+' || c == '-' || c == '.';
                         });
  return !is_scheme;
}

std::string url_resolve(const std::string& base, const std::string& location) {
  global_init();
  Url u(curl_url());
  if (!u) throw NetworkError("out of memory parsing a URL");
  if (curl_url_set(u.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK)
    throw NetworkError("cannot parse URL '" + base + "'");
  // With a base already set, curl resolves a relative reference against it.
  if (curl_url_set(u.get(), CURLUPART_URL, location.c_str(), 0) != CURLUE_OK)
    throw NetworkError("cannot resolve redirect target '" + location + "' against " + base);
  return url_part(u.get(), CURLUPART_URL);
}

std::string url_origin(const std::string& url) {
  global_init();
  Url u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return url;
  return lower(url_part(u.get(), CURLUPART_SCHEME)) + "://" + lower(url_part(u.get(), CURLUPART_HOST)) + ":" +
         url_part(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
}

}  // namespace visbone::hub
