// Commands that replace an output folder as a whole (`visbone convert`'s DEST, `visbone fit`'s OUT_DIR)
// first check that it holds only files they write, so nobody's other files are lost with it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace visbone {

// Fine when `dest` does not exist, or is a folder holding only `written` names and temporary files of
// killed writers (stale_temp_files.h). ConfigError otherwise, naming the other files and `command`
// ("convert", "fit").
void check_replaceable_folder(const std::filesystem::path& dest, const std::vector<std::string>& written,
                              const std::string& command);

}  // namespace visbone
