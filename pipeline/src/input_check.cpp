#include "input_check.h"

#include <utility>

#include "visbone/core/errors.h"

namespace visbone::pipeline {

void check_preprocessing_fits(const Backbone& backbone, const image::ImageProcessor& processor,
                              const std::string& where) {
  const int takes = backbone.input_channels();
  const auto& pc = processor.config();
  const int channels = static_cast<int>(pc.image_mean.size());
  if (channels != takes)
    throw ConfigError(where + ": image_mean has " + std::to_string(channels) + " entries but the model takes " +
                      std::to_string(takes) + "-channel inputs");
  if (pc.do_convert_rgb && takes != 3)
    throw ConfigError(where + ": do_convert_rgb makes 3-channel images but the model takes " +
                      std::to_string(takes));
  // When every input comes out one size, check now that the network can take it, not mid-stream.
  if (pc.do_center_crop || (pc.do_resize && pc.size.height)) {
    const auto [h, w] = pc.do_center_crop
                            ? std::pair<int, int>{static_cast<int>(pc.crop_height), static_cast<int>(pc.crop_width)}
                            : processor.resized_size(1, 1);
    try {
      backbone.check_input({1, takes, h, w});
    } catch (const ShapeError& e) {
      throw ConfigError(where + ": the model cannot take " + std::to_string(h) + "x" + std::to_string(w) +
                        " inputs: " + e.what());
    }
  }
}

}  // namespace visbone::pipeline
