#include "visbone/core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

#include "visbone/core/errors.h"

namespace visbone {

MappedBytes map_file(const std::filesystem::path& path, const std::string& expected) {
  const std::string name = path.string();
  auto why = [](int err) { return std::system_category().message(err); };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(name + ": cannot open: " + why(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw IoError(name + ": cannot stat: " + why(errno));
  if (!S_ISREG(st.st_mode)) throw IoError(name + ": not a regular file, expected " + expected);
  MappedBytes m;
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size == 0) return m;  // mmap of 0 bytes fails; readers reject empty input themselves
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (addr == MAP_FAILED) throw IoError(name + ": cannot map the file: " + why(errno));
  m.keepalive = std::shared_ptr<const void>(addr, [size](const void* p) { ::munmap(const_cast<void*>(p), size); });
  m.bytes = std::span<const std::byte>(static_cast<const std::byte*>(addr), size);
  m.mapped = true;
  return m;
}

void MappedBytes::release(std::span<const std::byte> part) const {
  if (!mapped || part.empty()) return;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<std::uintptr_t>(part.data()) + page - 1) / page * page;
  const auto end = (reinterpret_cast<std::uintptr_t>(part.data()) + part.size()) / page * page;
  // A read-only private file mapping has no pages of its own, so dropping them loses nothing.
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

MappedBytes own_bytes(std::string bytes) {
  auto owned = std::make_shared<const std::string>(std::move(bytes));
  MappedBytes m;
  m.bytes = std::as_bytes(std::span<const char>(owned->data(), owned->size()));
  m.keepalive = std::move(owned);
  return m;
}

}  // namespace visbone
