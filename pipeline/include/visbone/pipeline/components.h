// The pipeline's built-in sources (files, folder, glob, list, video) and sinks (jsonl, csv, safetensors,
// annotated_images, heatmap, contact_sheet): registered by register_builtins (api/) next to the backbones
// and heads, through the same registrar a plugin uses.
#pragma once

#include "visbone/registry/registry.h"

namespace visbone::pipeline {

void register_components(registry::ComponentRegistrar& registrar);

}  // namespace visbone::pipeline
