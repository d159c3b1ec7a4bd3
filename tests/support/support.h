// Helpers every test suite shares: a temporary folder, reading files back, the message of a thrown error,
// and running the built `visbone` program. Linked into every test executable by visbone_add_test.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace visbone::testing {

// A fresh folder under the system temp dir (unique across processes: ctest runs tests in parallel), removed
// with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  // Writes `bytes` to path()/name, creating folders on the way; returns the full path.
  std::filesystem::path write(const std::string& name, std::string_view bytes) const;
  std::filesystem::path write(const std::string& name, std::span<const std::uint8_t> bytes) const;

 private:
  std::filesystem::path path_;
};

// The whole file; an empty string when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// The what() of the visbone::Error `f` throws, or "(no error)".
std::string message_of(const std::function<void()>& f);

struct RunResult {
  int status = -1;        // exit status (-1: did not exit normally)
  std::string out, err;   // stdout, stderr
  long peak_rss_kib = 0;  // the child's peak resident set (wait4's ru_maxrss: at least this process's peak)
  std::string all() const { return out + err; }
};

// Runs the built visbone program (no shell) with `args`; `env` sets variables (or, with nullopt, removes
// them) for the child only.
RunResult run_visbone(const std::vector<std::string>& args,
                      const std::map<std::string, std::optional<std::string>>& env = {});
// Starts the built visbone program with `args` (output to /dev/null) and returns its PID, for a test that
// kills it at some moment and waits for it itself.
int start_visbone(const std::vector<std::string>& args);
// The same with the arguments given as one line, split at spaces (test paths hold none).
RunResult run_visbone_line(const std::string& args,
                           const std::map<std::string, std::optional<std::string>>& env = {});

}  // namespace visbone::testing
