// The built-in components, registered in one place: the BiT backbone (`bit` and its presets, hub ids fetched
// into the huggingface_hub cache with `hub`'s options) and the heads (classification, feature_maps,
// embedding) and the pipeline's sources and sinks (files, folder, glob, list, video; jsonl, csv,
// safetensors, annotated_images, heatmap, contact_sheet). The CLI, the C++ API (default_registry, load_backbone) and the pipeline all fill their
// registries with this call, so a component is built in everywhere or nowhere.
#pragma once

#include "visbone/hub/hub.h"
#include "visbone/registry/registry.h"

namespace visbone {

void register_builtins(registry::ComponentRegistrar& registrar, const hub::ResolveOptions& hub = {});
// register_builtins as a pipeline wants it (pipeline::Pipeline's `builtins`): hub ids are fetched with their
// preprocessor_config.json.
void register_pipeline_builtins(registry::ComponentRegistrar& registrar);

}  // namespace visbone
