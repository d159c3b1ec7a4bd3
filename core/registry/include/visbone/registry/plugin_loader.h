// Loading plugins (shared libraries, with Boost.DLL) into a Registry: from paths given in YAML, on the
// command line, or in VISBONE_PLUGIN_PATH. Every library is checked before its code runs: that it is a shared
// library, that it exports the entry point, and that it was built for this ABI version.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "visbone/core/errors.h"
#include "visbone/registry/registry.h"

namespace visbone::registry {

// A library that cannot be used as a plugin: not a shared library, no entry point, another ABI version, or
// its registration failed. The message names the file and says what was expected.
class PluginError : public FormatError {
 public:
  using FormatError::FormatError;
};

// The environment variable naming plugins: entries separated by ':', each a library or a folder whose
// *.so files are all loaded (in name order).
inline constexpr std::string_view kPluginPathVariable = "VISBONE_PLUGIN_PATH";

// Loads one library and registers its components (all or none). Loading a file already loaded into this
// registry returns its info again without registering anything. NotFoundError for a missing file,
// PluginError otherwise, DuplicateComponentError when it registers a name that is taken.
PluginInfo load_plugin(Registry& registry, const std::filesystem::path& file);

// The libraries a search path names, in order ("a.so:dir:b.so"); `where` names the path's origin in
// errors (NotFoundError for an entry that does not exist). Empty entries are skipped.
std::vector<std::filesystem::path> expand_plugin_path(std::string_view search_path, const std::string& where);

// Loads the installed plugin folder (installed_plugins.h: <prefix>/lib/visbone/plugins beside an installed
// program; nothing in a build tree), then every library in $VISBONE_PLUGIN_PATH (nothing when unset).
std::vector<PluginInfo> load_plugins_from_env(Registry& registry);

}  // namespace visbone::registry
