#include "success_marker.h"

#include <system_error>

#include "visbone/core/errors.h"
#include "visbone/core/sync_path.h"
#include "visbone/pipeline/atomic_file.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;

void clear_success_marker(const fs::path& folder) {
  std::error_code ec;
  if (!fs::remove(folder / kSuccessMarker, ec)) {
    if (ec && ec != std::errc::no_such_file_or_directory)
      throw IoError((folder / kSuccessMarker).string() + ": cannot remove the previous run's marker: " +
                    ec.message());
    return;
  }
  sync_path(folder);
}

void write_success_marker(const fs::path& folder) {
  write_file_atomic(folder / kSuccessMarker, {});
}

}  // namespace visbone::pipeline
