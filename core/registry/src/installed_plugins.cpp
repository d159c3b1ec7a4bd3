#include "visbone/registry/installed_plugins.h"

namespace fs = std::filesystem;

namespace visbone::registry {

fs::path installed_plugin_dir(const fs::path& executable) {
  // From the build: the relative path from CMAKE_INSTALL_BINDIR to the plugin folder, e.g. ../lib/visbone/plugins.
  return (executable.parent_path() / VISBONE_PLUGIN_DIR_FROM_BINDIR).lexically_normal();
}

std::optional<fs::path> installed_plugin_dir() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  fs::path dir = installed_plugin_dir(self);
  if (!fs::is_directory(dir, ec)) return std::nullopt;
  return dir;
}

}  // namespace visbone::registry
