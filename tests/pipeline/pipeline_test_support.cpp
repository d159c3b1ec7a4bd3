#include "pipeline_test_support.h"

#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <stdexcept>

#include "visbone/pipeline/components.h"
#include "visbone/registry/registry.h"

namespace visbone::pipeline {

std::unique_ptr<Source> make_source(const YAML::Node& spec, std::int64_t max_pixels) {
  static const registry::Registry& sources = []() -> const registry::Registry& {
    static registry::Registry r;
    register_components(r);
    return r;
  }();
  SourceContext context;
  context.max_pixels = max_pixels;
  return sources.build_source(registry::Params(YAML::Clone(spec), "p.yaml"), context);
}

}  // namespace visbone::pipeline

namespace visbone::pipeline::testing {

namespace fs = std::filesystem;

fs::path project_dir() {
  return fs::path(kData).parent_path().parent_path();
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

}  // namespace visbone::pipeline::testing
