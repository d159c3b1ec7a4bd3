// The stem's zero padding and 3x3/2 max pooling over the blocked layout. The padding is zeros, never -inf:
// transformers pads with ConstantPad2d(0) (and DynamicPad2d(value=0)) and then pools, so a border window
// whose real values are all negative yields 0. Fusing the pad into a -inf padded pool would change results.
#pragma once

#include "visbone/bit/feature_map.h"
#include "visbone/bit/ws_conv.h"

namespace visbone::bit {

// Output of a max pool of `kernel`/`stride` over src padded with zeros by (h, w); throws ShapeError when
// the padded input is smaller than the window.
FeatureMap zero_pad_max_pool(const FeatureMap& src, Pad1d h, Pad1d w, int kernel, int stride);
// src with zero borders (used where a GroupNorm must see the padded zeros, as transformers computes it).
FeatureMap zero_pad(const FeatureMap& src, Pad1d h, Pad1d w);

}  // namespace visbone::bit
