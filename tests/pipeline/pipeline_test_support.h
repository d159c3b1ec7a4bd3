// Helpers for the pipeline tests: a temporary folder, small generated images, config files, and running the
// `visbone` program with its exit status, output and peak memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace visbone::pipeline::testing {

const std::string kData = VISBONE_TEST_DATA;
// The repository root (tests/data/../..).
std::filesystem::path project_dir();

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  // Writes `text` to path()/name (creating folders) and returns the full path.
  std::filesystem::path write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& p);
std::vector<std::string> read_lines(const std::filesystem::path& p);
// A PNG of a width x height gray image whose pixels follow `seed` (distinct seeds, distinct images).
std::string png_bytes(int width, int height, int seed, int channels = 1);
// A structurally complete PNG (IHDR, one tiny IDAT, IEND, correct CRCs) claiming width x height pixels: what
// a decompression bomb looks like to a header check.
std::string png_header_only(std::uint32_t width, std::uint32_t height);

struct RunResult {
  int status = -1;        // exit status (-1: did not exit normally)
  std::string out, err;   // stdout, stderr
  long peak_rss_kib = 0;  // the child's peak resident set size
};
// Runs the visbone binary with `args` (no shell), capturing both streams and the peak RSS.
RunResult run_visbone(const std::vector<std::string>& args);

}  // namespace visbone::pipeline::testing
