// The plugin folder of an installed visbone: <prefix>/lib/visbone/plugins, found from the running program's
// own path (<prefix>/bin/visbone), so an installed or moved tree loads the plugins it ships without
// VISBONE_PLUGIN_PATH. A build tree has no such folder beside build/bin, so nothing is loaded there.
#pragma once

#include <filesystem>
#include <optional>

namespace visbone::registry {

// The plugin folder that belongs to `executable` when both are installed under one prefix (whether or not
// it exists): its folder joined with the relative path from the install's bin/ to its plugin folder.
std::filesystem::path installed_plugin_dir(const std::filesystem::path& executable);

// installed_plugin_dir() of the running program (/proc/self/exe), when that folder exists.
std::optional<std::filesystem::path> installed_plugin_dir();

}  // namespace visbone::registry
