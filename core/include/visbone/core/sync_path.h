// fsync(2) of a file or a folder. Atomic writers (write a hidden temporary, fsync it, rename it into place)
// sync the folder last, so that the rename itself survives a power loss.
#pragma once

#include <filesystem>

namespace visbone {

// Makes `path`'s data durable; for a folder, its entries (files created or renamed in it). IoError naming the
// path when it cannot be opened or synced.
void sync_path(const std::filesystem::path& path);
// The folder that holds `entry` ("." for a bare file name): where its temporary files go and what to sync
// after renaming into it.
std::filesystem::path folder_of(const std::filesystem::path& entry);

}  // namespace visbone
