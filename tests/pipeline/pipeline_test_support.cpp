#include "pipeline_test_support.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace visbone::pipeline::testing {

namespace fs = std::filesystem;

fs::path project_dir() {
  return fs::path(kData).parent_path().parent_path();
}

TempDir::TempDir() {
  static std::atomic<int> n{0};
  path_ = fs::temp_directory_path() /
          ("visbone-pipeline-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path TempDir::write(const std::string& name, const std::string& text) const {
  const fs::path p = path_ / name;
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string png_bytes(int width, int height, int seed, int channels) {
  cv::Mat m(height, width, CV_8UC(channels));
  std::mt19937 rng(static_cast<unsigned>(seed));
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width * channels; ++x)
      m.ptr<std::uint8_t>(y)[x] = static_cast<std::uint8_t>(rng() % 256);
  std::vector<unsigned char> buf;
  cv::imencode(".png", m, buf);
  return std::string(buf.begin(), buf.end());
}

namespace {

std::uint32_t crc32(const unsigned char* p, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

void put32(std::string& s, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
}

}  // namespace

std::string png_header_only(std::uint32_t width, std::uint32_t height) {
  const auto chunk = [](std::string& out, const std::string& type, const std::string& data) {
    put32(out, static_cast<std::uint32_t>(data.size()));
    const std::string body = type + data;
    out += body;
    put32(out, crc32(reinterpret_cast<const unsigned char*>(body.data()), body.size()));
  };
  std::string s = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  put32(ihdr, width);
  put32(ihdr, height);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB, no interlace
  chunk(s, "IHDR", ihdr);
  chunk(s, "IDAT", std::string("\x78\x9c\x03\x00\x00\x00\x00\x01", 8));  // a tiny zlib stream
  chunk(s, "IEND", "");
  return s;
}

RunResult run_visbone(const std::vector<std::string>& args) {
  TempDir io;
  const fs::path out = io.path() / "stdout", err = io.path() / "stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> argv_s = {VISBONE_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, VISBONE_BINARY, &actions, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cannot start " + std::string(VISBONE_BINARY));
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  RunResult r;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  r.peak_rss_kib = usage.ru_maxrss;
  return r;
}

}  // namespace visbone::pipeline::testing
