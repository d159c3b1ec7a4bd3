// visbone as a library: everything a program needs to load a backbone, preprocess images, run heads and
// pipelines. Link the CMake target visbone::visbone (find_package(visbone CONFIG REQUIRED)) or use
// `pkg-config --cflags --libs visbone`.
//
//   #include <visbone/visbone.h>
//   auto backbone = visbone::load_backbone("google/bit-50", {.out_features = {{"stage3", "stage4"}}});
//   auto processor = visbone::ImageProcessor::from_pretrained("google/bit-50");
//   auto maps = backbone->forward(processor.process(cv::imread("cat.jpg")));   // stage name -> (N, C, H, W)
//
// What lives where:
//   visbone/api/load_backbone.h     load_backbone, BackboneOptions, LoadedBackbone (forward, output_shape)
//   visbone/api/image_processor.h   ImageProcessor (from_pretrained, process(cv::Mat | paths))
//   visbone/api/heads.h             make_head, run_head(s), default_registry (add your own heads)
//   visbone/api/register_builtins.h register_builtins: the built-in components into any registry
//   visbone/api/pipeline.h          load_pipeline / make_pipeline (YAML flow-graph pipelines)
//   visbone/core/tensor.h           Tensor (float32, NCHW, shared storage)
//   visbone/core/backbone.h         the Backbone contract (stage shapes, ForwardRequest / ForwardResult)
//   visbone/core/head.h             the Head contract (HeadNeeds, HeadResult)
//   visbone/core/errors.h           visbone::Error and its subclasses: everything visbone throws
//   visbone/heads/*.h               the built-in heads, usable directly
//   visbone/registry/*.h            named factories, Params, plugin loading and the plugin ABI
//   visbone/bit/*.h                 BiT itself: BitConfig, presets, BitModel, BitBackbone
//   visbone/hub/hub.h               the Hugging Face hub client and cache
#pragma once

#include "visbone/api/heads.h"
#include "visbone/api/image_processor.h"
#include "visbone/api/load_backbone.h"
#include "visbone/api/pipeline.h"
#include "visbone/api/register_builtins.h"
#include "visbone/bit/bit_backbone.h"
#include "visbone/bit/bit_presets.h"
#include "visbone/core/backbone.h"
#include "visbone/core/errors.h"
#include "visbone/core/head.h"
#include "visbone/core/tensor.h"
#include "visbone/heads/classification_head.h"
#include "visbone/heads/embedding_head.h"
#include "visbone/heads/feature_maps_head.h"
#include "visbone/hub/hub.h"
#include "visbone/registry/plugin_loader.h"
#include "visbone/registry/registry.h"
#include "visbone/version.h"
