// Pillow-exact resizing (Image.resize without reducing_gap), the resampling BiT checkpoints were trained
// with. It differs from OpenCV's resize: the filter support grows with the downscale factor (antialiasing),
// bicubic uses a = -0.5, coefficients are 22-bit fixed point, and each pass (horizontal, then vertical)
// rounds and clips to uint8. An axis whose size does not change is not resampled at all.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "visbone/image/image.h"

namespace visbone::image {

// Values are PIL.Image.Resampling's, the `resample` key of preprocessor_config.json.
enum class Resample : int { nearest = 0, lanczos = 1, bilinear = 2, bicubic = 3, box = 4, hamming = 5 };

std::string_view resample_name(Resample filter);
// Maps a PIL code to the filter; throws ConfigError naming `where` for any other value.
Resample resample_from_pil(std::int64_t code, const std::string& where);

// Resizes to width x height (both positive) like Pillow's Image.resize(size, resample). Rows are processed in
// parallel (oneTBB). Throws ShapeError for a non-positive size.
Image resize(const Image& src, int width, int height, Resample filter);

}  // namespace visbone::image
