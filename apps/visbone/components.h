// The registry the `visbone` program builds its components from: the built-in backbones (BiT, its presets,
// hub ids through the shared cache) and heads, plus plugins from $VISBONE_PLUGIN_PATH and the command line.
#pragma once

#include <string>
#include <vector>

#include "visbone/registry/registry.h"

namespace visbone::app {

void register_builtin_components(registry::Registry& registry);
// Loads $VISBONE_PLUGIN_PATH, then each of `plugins` (files or folders, as VISBONE_PLUGIN_PATH entries).
void load_plugins(registry::Registry& registry, const std::vector<std::string>& plugins);

}  // namespace visbone::app
