// Registers the built-in heads: classification, feature_maps, embedding.
#pragma once

#include "visbone/registry/registry.h"

namespace visbone::heads {

void register_components(registry::ComponentRegistrar& registrar);

}  // namespace visbone::heads
