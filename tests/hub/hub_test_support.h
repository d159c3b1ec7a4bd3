// Helpers for the hub tests: temporary folders, scoped environment variables, and the fake hub server
// (tests/hub/fake_hub.py) run as a child process on 127.0.0.1 for the duration of one test.
#pragma once

#include "support/support.h"
#include "visbone/hub/hub.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace visbone::hub::test {

namespace fs = std::filesystem;

inline const fs::path kModels = VISBONE_FIXTURE_MODELS;
inline const fs::path kFakeHubScript = VISBONE_FAKE_HUB_SCRIPT;
inline const fs::path kPython3 = VISBONE_PYTHON3;
// The repository id the fake hub serves bit-tiny-digits under.
inline const std::string kDigits = "visbone-test/bit-tiny-digits";

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

inline std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_bytes(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// The exception of type E that `f` throws, or nullopt when it returns normally (other exceptions propagate
// and fail the test with their message).
template <class E, class F>
std::optional<E> thrown(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e;
  }
  return std::nullopt;
}

using visbone::testing::TempDir;

// Sets (or with nullopt unsets) an environment variable and restores the previous state on destruction.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    if (value)
      ::setenv(name_.c_str(), value->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_.c_str(), old_->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// One request the fake hub received, with the status and headers of its answer.
struct LogEntry {
  std::string method, path, file, range, auth;
  long status = 0;
  bool dropped = false;
  std::map<std::string, std::string> headers;
  double hung_up_ms = -1;  // control stall_ms: when the client hung up, by the server's clock; -1: it did not
};

class FakeHub {
 public:
  explicit FakeHub(const fs::path& root = kModels, const std::vector<std::string>& extra_args = {}) {
    fs::create_directories(state_.path());
    std::vector<std::string> argv_s = {
        kPython3.string(), kFakeHubScript.string(), "--root",     root.string(),
        "--state",         state_.path().string(),  "--lifetime", "120"};
    argv_s.insert(argv_s.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);

    // O_CLOEXEC: a server started later must not inherit this one's stdin, or its EOF would never come.
    int in_pipe[2], out_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    const int rc = ::posix_spawn(&pid_, kPython3.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    stdin_ = in_pipe[1];
    if (rc != 0) {
      ::close(out_pipe[0]);
      throw std::runtime_error("cannot start " + kPython3.string() + " " + kFakeHubScript.string());
    }
    // The first line of its stdout is the port; bounded so a broken server fails the test instead of hanging.
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_pipe[0], POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[64];
      const ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out_pipe[0]);
    port_ = std::atoi(line.c_str());
    if (port_ <= 0) {
      stop();
      throw std::runtime_error("the fake hub did not report its port (got '" + line + "')");
    }
  }

  ~FakeHub() { stop(); }
  FakeHub(const FakeHub&) = delete;
  FakeHub& operator=(const FakeHub&) = delete;

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Replaces the failure switches (see fake_hub.py), e.g. control(R"({"corrupt": true})").
  void control(const std::string& json) const {
    write_bytes(state_.path() / "control.json.tmp", json);
    fs::rename(state_.path() / "control.json.tmp", state_.path() / "control.json");
  }

  std::vector<LogEntry> log() const {
    std::vector<LogEntry> out;
    std::error_code ec;
    if (!fs::exists(state_.path() / "log.json", ec)) return out;
    const auto doc = boost::json::parse(read_bytes(state_.path() / "log.json"));
    for (const auto& v : doc.as_array()) {
      const auto& o = v.as_object();
      auto str = [&](const char* key) {
        const auto* f = o.if_contains(key);
        return f != nullptr && f->is_string() ? std::string(f->as_string()) : std::string();
      };
      LogEntry e{str("method"), str("path"), str("file"), str("range"), str("auth"), 0, false, {}, -1};
      if (const auto* s = o.if_contains("status"); s && s->is_int64())
        e.status = static_cast<long>(s->as_int64());
      if (const auto* d = o.if_contains("dropped"); d && d->is_bool()) e.dropped = d->as_bool();
      if (const auto* h = o.if_contains("hung_up_ms"); h && h->is_double()) e.hung_up_ms = h->as_double();
      if (const auto* h = o.if_contains("headers"); h && h->is_object())
        for (const auto& [k, val] : h->as_object())
          if (val.is_string()) e.headers[std::string(k)] = std::string(val.as_string());
      out.push_back(std::move(e));
    }
    return out;
  }

  // Requests with this method for the repository file `file` (CDN requests included: their URL names it).
  int count(std::string_view method, std::string_view file) const {
    int n = 0;
    for (const auto& e : log())
      if (e.method == method && e.file == file) ++n;
    return n;
  }

 private:
  void stop() {
    if (stdin_ >= 0) ::close(stdin_);  // the server exits when its stdin closes
    stdin_ = -1;
    if (pid_ <= 0) return;
    for (int i = 0; i < 40; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }

  TempDir state_;
  pid_t pid_ = -1;
  int stdin_ = -1;
  int port_ = 0;
};

// Every variable huggingface_hub reads, cleared for the test (HF_HOME pointed at `home`), restored after.
class HubEnvironment {
 public:
  explicit HubEnvironment(const fs::path& home) {
    for (const char* name :
         {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
          "HF_ENDPOINT", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME", "HF_HUB_ETAG_TIMEOUT",
          "HF_HUB_DOWNLOAD_TIMEOUT", "HF_HUB_DISABLE_PROGRESS_BARS"})
      vars_.emplace_back(std::make_unique<ScopedEnv>(name, std::nullopt));
    vars_.emplace_back(std::make_unique<ScopedEnv>("HF_HOME", home.string()));
    // The tests talk to 127.0.0.1 (and localhost for the fake CDN) directly, whatever proxy the machine has.
    vars_.emplace_back(std::make_unique<ScopedEnv>("NO_PROXY", "127.0.0.1,localhost"));
    vars_.emplace_back(std::make_unique<ScopedEnv>("no_proxy", "127.0.0.1,localhost"));
  }

 private:
  std::vector<std::unique_ptr<ScopedEnv>> vars_;
};

// Options that talk to `hub` with the cache in `cache_dir`: online, no progress bars, short timeouts.
inline ResolveOptions fake_hub_options(const FakeHub& hub, const fs::path& cache_dir) {
  ResolveOptions o;
  o.cache_dir = cache_dir;
  o.endpoint = hub.endpoint();
  o.offline = false;
  o.progress = ProgressMode::never;
  o.connect_timeout = std::chrono::seconds(5);
  o.stall_timeout = std::chrono::seconds(5);
  return o;
}

}  // namespace visbone::hub::test
