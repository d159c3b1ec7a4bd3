// Output files that appear whole or not at all: bytes go to a hidden temporary file in the destination's
// folder, which is flushed to disk and renamed over the destination on commit(). A run that crashes or
// fails leaves at most a hidden temporary file, never a half-written output under the real name.
#pragma once

#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace visbone::pipeline {

class AtomicFile {
 public:
  // Creates the destination's folder if needed and the temporary file. IoError naming the path on failure.
  explicit AtomicFile(std::filesystem::path path);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  // Without commit(), the temporary file is removed.
  ~AtomicFile();

  void write(const void* data, std::size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  // Bytes written so far.
  std::uint64_t size() const { return size_; }
  // Flushes, syncs and renames into place. IoError naming the path when any step fails.
  void commit();

  const std::filesystem::path& path() const { return path_; }
  const std::filesystem::path& temp_path() const { return temp_; }

 private:
  std::filesystem::path path_, temp_;
  std::FILE* file_ = nullptr;
  std::uint64_t size_ = 0;
  bool committed_ = false;
};

// "<dir>/.<name>.<tag>.<pid>.<n>" beside `path`: hidden (so folder sources skip it), unique per process and
// call, and named so that remove_dead_temp_files (visbone/core/stale_temp_files.h) knows its owner.
std::filesystem::path hidden_temp_path(const std::filesystem::path& path, const char* tag);

// Writes a whole file atomically.
void write_file_atomic(const std::filesystem::path& path, std::span<const unsigned char> bytes);

// A hidden temporary file beside `near` that is removed when this object goes away: scratch space for
// outputs assembled from parts (a safetensors data section written before its header).
class ScratchFile {
 public:
  explicit ScratchFile(const std::filesystem::path& near);
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  ~ScratchFile();
  void write(const void* data, std::size_t n);
  std::uint64_t size() const { return size_; }
  // Appends the whole content to `out` (flushing first).
  void copy_to(AtomicFile& out);

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::uint64_t size_ = 0;
};

}  // namespace visbone::pipeline
