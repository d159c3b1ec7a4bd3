#include "components.h"

#include "visbone/api/register_builtins.h"
#include "visbone/registry/plugin_loader.h"

namespace visbone::app {

void register_builtin_components(registry::Registry& registry) {
  register_builtins(registry);
}

void load_plugins(registry::Registry& registry, const std::vector<std::string>& plugins) {
  registry::load_plugins_from_env(registry);
  for (const auto& entry : plugins)
    for (const auto& file : registry::expand_plugin_path(entry, "--plugin"))
      registry::load_plugin(registry, file);
}

}  // namespace visbone::app
