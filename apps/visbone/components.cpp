#include "components.h"

#include "visbone/bit/bit_component.h"
#include "visbone/heads/components.h"
#include "visbone/hub/hub.h"
#include "visbone/registry/plugin_loader.h"

namespace visbone::app {

void register_builtin_components(registry::Registry& registry) {
  bit::register_components(registry, [](const std::string& model_id, const std::string& revision) {
    hub::ResolveOptions options;
    options.revision = revision;
    return hub::hub_model(model_id, options);
  });
  heads::register_components(registry);
}

void load_plugins(registry::Registry& registry, const std::vector<std::string>& plugins) {
  registry::load_plugins_from_env(registry);
  for (const auto& entry : plugins)
    for (const auto& file : registry::expand_plugin_path(entry, "--plugin"))
      registry::load_plugin(registry, file);
}

}  // namespace visbone::app
