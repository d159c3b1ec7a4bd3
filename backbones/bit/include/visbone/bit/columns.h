// im2col for blocked (nChw16c, fp32) maps: a strided KxK convolution becomes a 1x1 convolution over the
// "columns" of its input, K*K*C channels at the output's size, which oneDNN's 1x1 kernel runs near the
// FLOP bound where its direct kernel for strided 3x3 shapes does not (WsConv, algorithm auto).
#pragma once

#include <cstdint>

#include "visbone/bit/ws_conv.h"

namespace visbone::bit {

// One image: `src` is (C/16, H, W, 16) floats; `cols` becomes (K*K*C/16, OH, OW, 16): its channel
// t*C + c holds input channel c under tap t = kh*K + kw (zeros where the tap falls in the padding), so a
// 1x1 convolution over it with weights w1[o][t*C + c] = w[o][c][kh][kw] is the KxK convolution.
// Parallel over the output's channel blocks (a copy, so the thread count changes nothing).
void gather_columns(const float* src, std::int64_t c, std::int64_t h, std::int64_t w, const Window& win,
                    std::int64_t oh, std::int64_t ow, float* cols);

// The same columns from one image's channels-last (H, W, C) map of 16-bit values (bf16), into a channels-last
// (OH, OW, K*K*C) map: each output pixel's K*K taps of C channels, in the same channel order.
void gather_columns_nhwc(const std::uint16_t* src, std::int64_t c, std::int64_t h, std::int64_t w,
                         const Window& win, std::int64_t oh, std::int64_t ow, std::uint16_t* cols);

// (O, I, K, K) plain weights -> (O, K*K*I) with the column channel order above.
void weights_to_columns(const float* oihw, std::int64_t o, std::int64_t i, int k, float* out);

}  // namespace visbone::bit
