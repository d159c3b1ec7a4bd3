#include "visbone/core/sync_path.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "visbone/core/errors.h"

namespace visbone {

void sync_path(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path.string() + ": cannot open to sync: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw IoError(path.string() + ": fsync failed: " + std::strerror(err));
}

std::filesystem::path folder_of(const std::filesystem::path& entry) {
  return entry.parent_path().empty() ? std::filesystem::path(".") : entry.parent_path();
}

}  // namespace visbone
