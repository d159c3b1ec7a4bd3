#include "visbone/pipeline/staged_folder.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "visbone/core/errors.h"
#include "visbone/core/stale_temp_files.h"
#include "visbone/pipeline/atomic_file.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;

StagedFolder::StagedFolder(fs::path destination) : destination_(std::move(destination).lexically_normal()) {
  if (destination_.filename().empty()) destination_ = destination_.parent_path();
  std::error_code ec;
  fs::create_directories(folder_of(destination_), ec);
  if (ec)
    throw IoError(destination_.string() + ": cannot create folder " + folder_of(destination_).string() +
                  ": " + ec.message());
  remove_dead_temp_files(folder_of(destination_));
  staging_ = hidden_temp_path(destination_, "staging");
  if (!fs::create_directory(staging_, ec) || ec)
    throw IoError(destination_.string() + ": cannot create staging folder " + staging_.string() + ": " +
                  (ec ? ec.message() : "it exists"));
}

StagedFolder::~StagedFolder() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

void StagedFolder::commit() {
  sync_path(staging_);
  std::error_code ec;
  const bool replacing = fs::exists(fs::symlink_status(destination_, ec));
  fs::path old;  // where the old content ends up
  if (!replacing) {
    if (::rename(staging_.c_str(), destination_.c_str()) != 0)
      throw IoError(destination_.string() + ": cannot rename " + staging_.string() + " into place: " +
                    std::strerror(errno));
  } else if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, destination_.c_str(), RENAME_EXCHANGE) == 0) {
    old = staging_;  // the exchange left the old folder under the staging name
  } else if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
    // A file system without exchange: two renames. Between them the destination is briefly absent (never
    // mixed); the old folder stays under a hidden name until removed.
    old = hidden_temp_path(destination_, "old");
    if (::rename(destination_.c_str(), old.c_str()) != 0)
      throw IoError(destination_.string() + ": cannot move the old folder aside: " + std::strerror(errno));
    if (::rename(staging_.c_str(), destination_.c_str()) != 0) {
      const int err = errno;
      ::rename(old.c_str(), destination_.c_str());
      throw IoError(destination_.string() + ": cannot rename " + staging_.string() + " into place: " +
                    std::strerror(err));
    }
  } else {
    throw IoError(destination_.string() + ": cannot swap in " + staging_.string() + ": " + std::strerror(errno));
  }
  committed_ = true;
  sync_path(folder_of(destination_));
  if (!old.empty()) fs::remove_all(old, ec);  // a failure here leaves a hidden folder the next run removes
}

}  // namespace visbone::pipeline
