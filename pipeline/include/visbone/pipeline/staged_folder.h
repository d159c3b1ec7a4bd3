// An output folder replaced as a set: its files are written into a hidden staging folder beside it, which is
// synced and then swapped with the old folder in one rename (renameat2 RENAME_EXCHANGE). A process killed at
// any moment leaves the old folder or the new one under the real name, never a mixture; the hidden staging
// or old folder it may leave is removed by the next writer there (see visbone/core/stale_temp_files.h).
#pragma once

#include <filesystem>

#include "visbone/core/sync_path.h"

namespace visbone::pipeline {

class StagedFolder {
 public:
  // Creates "<parent>/.<name>.staging.<pid>.<n>" beside `destination` (and its parent, when missing).
  // IoError naming the path on failure.
  explicit StagedFolder(std::filesystem::path destination);
  StagedFolder(const StagedFolder&) = delete;
  StagedFolder& operator=(const StagedFolder&) = delete;
  // Without commit(), the staging folder and what was written into it are removed.
  ~StagedFolder();

  // Where the files go until commit().
  const std::filesystem::path& path() const { return staging_; }
  // Syncs the staging folder, puts it in place of the destination (whose old content is then removed) and
  // syncs the parent folder. The files inside must already be synced (AtomicFile, write_safetensors do it).
  // IoError naming the path when a step fails; the destination is then unchanged.
  void commit();

 private:
  std::filesystem::path destination_, staging_;
  bool committed_ = false;
};

}  // namespace visbone::pipeline
