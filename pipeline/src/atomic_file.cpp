#include "visbone/pipeline/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "visbone/core/errors.h"
#include "visbone/core/stale_temp_files.h"
#include "visbone/core/sync_path.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;

namespace {

std::atomic<std::uint64_t> counter{0};

std::string errno_text(int e) {
  return std::strerror(e);
}

std::FILE* open_exclusive(const fs::path& temp, const fs::path& path) {
  if (!path.parent_path().empty()) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec)
      throw IoError(path.string() + ": cannot create folder " + path.parent_path().string() + ": " +
                    ec.message());
  }
  // Leftovers of killed runs in this folder go before this run adds its own.
  remove_dead_temp_files_once(path.parent_path());
  const int fd = ::open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    throw IoError(path.string() + ": cannot create temporary file " + temp.string() + ": " +
                  errno_text(errno));
  std::FILE* f = ::fdopen(fd, "w+b");
  if (!f) {
    const int e = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    throw IoError(path.string() + ": cannot open temporary file: " + errno_text(e));
  }
  return f;
}

}  // namespace

fs::path hidden_temp_path(const fs::path& path, const char* tag) {
  // Built piece by piece: g++ 12 warns (-Wrestrict) about "." + string.
  std::string name = ".";
  name += path.filename().string();
  name += '.';
  name += tag;
  name += '.';
  name += std::to_string(::getpid());
  name += '.';
  name += std::to_string(counter.fetch_add(1));
  return path.parent_path() / name;
}

AtomicFile::AtomicFile(fs::path path) : path_(std::move(path)), temp_(hidden_temp_path(path_, "tmp")) {
  file_ = open_exclusive(temp_, path_);
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFile::write(const void* data, std::size_t n) {
  if (!file_) throw IoError(path_.string() + ": write after commit");
  if (n && std::fwrite(data, 1, n, file_) != n)
    throw IoError(path_.string() + ": write failed: " + errno_text(errno));
  size_ += n;
}

void AtomicFile::commit() {
  if (!file_) throw IoError(path_.string() + ": committed twice");
  // The data must be on disk before the rename makes it visible under the real name.
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0)
    throw IoError(path_.string() + ": cannot flush to disk: " + errno_text(errno));
  const int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) throw IoError(path_.string() + ": close failed: " + errno_text(errno));
  if (::rename(temp_.c_str(), path_.c_str()) != 0)
    throw IoError(path_.string() + ": cannot rename " + temp_.string() + " into place: " + errno_text(errno));
  committed_ = true;
  // The rename itself is durable only once the folder's entry is on disk.
  sync_path(folder_of(path_));
}

void write_file_atomic(const fs::path& path, std::span<const unsigned char> bytes) {
  AtomicFile f(path);
  f.write(bytes.data(), bytes.size());
  f.commit();
}

ScratchFile::ScratchFile(const fs::path& near) : path_(hidden_temp_path(near, "part")) {
  file_ = open_exclusive(path_, near);
}

ScratchFile::~ScratchFile() {
  if (file_) std::fclose(file_);
  ::unlink(path_.c_str());
}

void ScratchFile::write(const void* data, std::size_t n) {
  if (n && std::fwrite(data, 1, n, file_) != n)
    throw IoError(path_.string() + ": write to temporary file failed: " + errno_text(errno));
  size_ += n;
}

void ScratchFile::copy_to(AtomicFile& out) {
  if (std::fflush(file_) != 0 || std::fseek(file_, 0, SEEK_SET) != 0)
    throw IoError(path_.string() + ": cannot rewind temporary file: " + errno_text(errno));
  std::vector<char> buf(1 << 20);
  std::uint64_t left = size_;
  while (left > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
    if (std::fread(buf.data(), 1, want, file_) != want)
      throw IoError(path_.string() + ": read from temporary file failed");
    out.write(buf.data(), want);
    left -= want;
  }
}

}  // namespace visbone::pipeline
