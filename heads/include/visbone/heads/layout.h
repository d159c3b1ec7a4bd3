// The memory layout feature maps are handed out in: NCHW (PyTorch's, the default) or NHWC (channels last,
// timm's output_fmt='NHWC', what TensorFlow-style consumers and many detectors' necks read).
#pragma once

#include <optional>
#include <string>

#include "visbone/core/tensor.h"

namespace visbone::heads {

enum class Layout { Nchw, Nhwc };

// "nchw" or "nhwc" (lower case, as timm's output_fmt in YAML); nothing for any other text.
std::optional<Layout> parse_layout(const std::string& text);
std::string to_string(Layout layout);

// A (N, C, H, W) map in `layout`: itself for NCHW, a (N, H, W, C) copy for NHWC. (C, H, W) maps (one
// image) become (H, W, C).
Tensor to_layout(const Tensor& nchw, Layout layout);

}  // namespace visbone::heads
