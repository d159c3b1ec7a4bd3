// Throughput of the checksums visbone computes over whole files: SHA-256 of a hub download (sha256_file_hex,
// the file read from disk in 1 MiB pieces) and the CRC-32 of .npz members (in memory).
//   build/bin/bench_hash_throughput [FILE]   FILE defaults to a 1 GiB file of pseudo-random bytes made in
//                                            /tmp and removed afterwards
// Each figure is the median of 3 runs, in MB/s (10^6 bytes per second) of process CPU time (so that other
// programs sharing the cores do not count), with wall-clock MB/s beside it; the file is read once before
// timing, so it comes from the page cache and the figure is the hash's, not the disk's.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "visbone/core/npz.h"
#include "visbone/hub/sha256.h"

namespace fs = std::filesystem;

namespace {

double cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

struct Rate {
  double cpu, wall;  // MB/s
};

template <typename F>
Rate median_mb_per_s(std::uint64_t bytes, F&& run) {
  std::vector<double> cpu, wall;
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_seconds();
    run();
    const double cpu_taken = cpu_seconds() - cpu_start;
    const double wall_taken = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    cpu.push_back(static_cast<double>(bytes) / cpu_taken / 1e6);
    wall.push_back(static_cast<double>(bytes) / wall_taken / 1e6);
  }
  std::sort(cpu.begin(), cpu.end());
  std::sort(wall.begin(), wall.end());
  return {cpu[1], wall[1]};
}

std::vector<char> random_bytes(std::size_t size, std::uint64_t seed) {
  std::vector<char> out(size);
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i + 8 <= size; i += 8) {
    const std::uint64_t v = rng();
    std::copy_n(reinterpret_cast<const char*>(&v), 8, out.data() + i);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path file;
  bool made = false;
  if (argc > 1) {
    file = argv[1];
  } else {
    file = fs::temp_directory_path() / ("visbone-hash-bench-" + std::to_string(::getpid()) + ".bin");
    std::ofstream out(file, std::ios::binary);
    const std::vector<char> block = random_bytes(std::size_t{64} << 20, 1);
    for (int i = 0; i < 16; ++i) out.write(block.data(), static_cast<std::streamsize>(block.size()));
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", file.c_str());
      return 1;
    }
    made = true;
  }
  const std::uint64_t size = fs::file_size(file);
  std::string digest = visbone::hub::sha256_file_hex(file);  // warms the page cache
  const Rate sha = median_mb_per_s(size, [&] { digest = visbone::hub::sha256_file_hex(file); });
  std::printf("sha256_file_hex  %s (%.2f GiB): %.0f MB/s CPU time (%.0f MB/s wall)  sha256 %s\n", file.c_str(),
              static_cast<double>(size) / (1 << 30), sha.cpu, sha.wall, digest.c_str());
  if (made) fs::remove(file);

  const std::vector<char> memory = random_bytes(std::size_t{256} << 20, 2);
  const auto span = std::as_bytes(std::span<const char>(memory));
  std::uint32_t crc = 0;
  const Rate crc_rate = median_mb_per_s(memory.size(), [&] { crc = visbone::crc32(span); });
  std::printf("crc32            256 MiB in memory: %.0f MB/s CPU time (%.0f MB/s wall)  crc %08x\n", crc_rate.cpu,
              crc_rate.wall, crc);
  return 0;
}
