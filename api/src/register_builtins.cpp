#include "visbone/api/register_builtins.h"

#include "visbone/bit/bit_component.h"
#include "visbone/heads/components.h"
#include "visbone/pipeline/components.h"

namespace visbone {

void register_builtins(registry::ComponentRegistrar& registrar, const hub::ResolveOptions& hub) {
  // The hub half only: by the time a hub id reaches the resolver, the one model-name rule has ruled out a
  // local path (core/model_name.h).
  bit::register_components(registrar, [hub](const std::string& model_id, const std::string& revision) {
    auto options = hub;
    options.revision = revision;
    return hub::hub_model(model_id, options);
  });
  heads::register_components(registrar);
  pipeline::register_components(registrar);
}

void register_pipeline_builtins(registry::ComponentRegistrar& registrar) {
  hub::ResolveOptions hub;
  hub.with_processor_config = true;  // the pipeline preprocesses with the checkpoint's processor
  register_builtins(registrar, hub);
}

}  // namespace visbone
