// Read-only views of whole files, memory-mapped (or owned bytes for tests and fuzzers), shared by the
// readers of binary formats (safetensors, npz).
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

namespace visbone {

struct MappedBytes {
  std::shared_ptr<const void> keepalive;  // the mapping or the owned string behind `bytes`
  std::span<const std::byte> bytes;
  bool mapped = false;  // a file mapping (its pages can be dropped and re-read), not owned bytes

  // Drops the resident pages that lie wholly inside `part` (a range of `bytes`) from this process: once a
  // reader has converted a tensor, its bytes need not count in the process's memory. They are read back
  // from the file if touched again. Does nothing for owned bytes.
  void release(std::span<const std::byte> part) const;
};

// Maps a regular file read-only. IoError naming the file when it cannot be opened, is not a regular file
// (`expected` says what it should be, e.g. "a safetensors file"), or cannot be mapped. An empty file
// gives an empty span.
MappedBytes map_file(const std::filesystem::path& path, const std::string& expected);
// Takes ownership of bytes held in memory.
MappedBytes own_bytes(std::string bytes);

}  // namespace visbone
