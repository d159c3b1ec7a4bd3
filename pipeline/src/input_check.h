// The build-time check that the pipeline's preprocessing makes inputs the backbone takes, asked of the
// Backbone contract (input_channels, check_input), so built-in and plugin backbones get the same check.
#pragma once

#include <string>

#include "visbone/core/backbone.h"
#include "visbone/image/image_processor.h"

namespace visbone::pipeline {

// ConfigError starting with `where` when the preprocessing makes another channel count than the backbone
// takes, or (when every input comes out one size) a size the backbone cannot take.
void check_preprocessing_fits(const Backbone& backbone, const image::ImageProcessor& processor,
                              const std::string& where);

}  // namespace visbone::pipeline
