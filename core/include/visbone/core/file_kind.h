// Which files are safe to open for reading: opening a FIFO blocks until a writer appears (forever, for an
// input list), and a device or socket is no image. Readers check the kind first and report these instead.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace visbone {

// "a FIFO", "a character device", "a block device", "a socket" (or "of an unknown kind") for a path that
// exists (following symbolic links) and is neither a regular file nor a folder; nullopt otherwise, so a
// missing file or a folder is left to the reader's own message. Only stat(2) is used: nothing is opened.
inline std::optional<std::string> special_file_kind(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  switch (st.type()) {
    case fs::file_type::regular:
    case fs::file_type::directory:
    case fs::file_type::not_found:
    case fs::file_type::none:
      return std::nullopt;
    case fs::file_type::fifo:
      return "a FIFO";
    case fs::file_type::character:
      return "a character device";
    case fs::file_type::block:
      return "a block device";
    case fs::file_type::socket:
      return "a socket";
    default:
      return ec ? std::nullopt : std::optional<std::string>("of an unknown kind");
  }
}

// The message for such a path: "PATH: is a FIFO, not a regular file; skipped without opening it".
inline std::string special_file_message(const std::filesystem::path& path, const std::string& kind) {
  return path.string() + ": is " + kind + ", not a regular file; skipped without opening it";
}

}  // namespace visbone
