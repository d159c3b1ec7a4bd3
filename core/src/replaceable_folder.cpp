#include "visbone/core/replaceable_folder.h"

#include <algorithm>

#include "visbone/core/errors.h"
#include "visbone/core/stale_temp_files.h"

namespace visbone {

namespace fs = std::filesystem;

void check_replaceable_folder(const fs::path& dest, const std::vector<std::string>& written,
                              const std::string& command) {
  std::error_code ec;
  if (!fs::exists(dest, ec)) return;
  if (!fs::is_directory(dest, ec)) throw ConfigError(dest.string() + ": exists and is not a folder");
  std::string others;
  for (const auto& e : fs::directory_iterator(dest)) {
    const std::string name = e.path().filename().string();
    if (std::find(written.begin(), written.end(), name) != written.end() || temp_file_owner(name)) continue;
    others += (others.empty() ? "" : ", ") + name;
  }
  if (!others.empty())
    throw ConfigError(dest.string() + " holds files " + command + " did not write (" + others + "); " +
                      command + " replaces the whole folder, so choose a new folder or one it wrote before");
}

}  // namespace visbone
