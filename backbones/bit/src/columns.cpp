#include "visbone/bit/columns.h"

#include <cstring>

#include "visbone/bit/feature_map.h"

namespace visbone::bit {

void gather_columns(const float* src, std::int64_t c, std::int64_t h, std::int64_t w, const Window& win,
                    std::int64_t oh, std::int64_t ow, float* cols) {
  const std::int64_t blocks = c / kBlock, taps = static_cast<std::int64_t>(win.kernel) * win.kernel;
  const std::size_t lane_bytes = kBlock * sizeof(float);
#pragma omp parallel for schedule(static)
  for (std::int64_t out_block = 0; out_block < taps * blocks; ++out_block) {
    const std::int64_t tap = out_block / blocks, block = out_block % blocks;
    const std::int64_t dy = (tap / win.kernel) * win.dilation - win.pad_h.before;
    const std::int64_t dx = (tap % win.kernel) * win.dilation - win.pad_w.before;
    const float* in = src + block * h * w * kBlock;
    float* out = cols + out_block * oh * ow * kBlock;
    for (std::int64_t y = 0; y < oh; ++y) {
      const std::int64_t iy = y * win.stride + dy;
      for (std::int64_t x = 0; x < ow; ++x, out += kBlock) {
        const std::int64_t ix = x * win.stride + dx;
        if (iy < 0 || iy >= h || ix < 0 || ix >= w)
          std::memset(out, 0, lane_bytes);
        else
          std::memcpy(out, in + (iy * w + ix) * kBlock, lane_bytes);
      }
    }
  }
}

void gather_columns_nhwc(const std::uint16_t* src, std::int64_t c, std::int64_t h, std::int64_t w,
                         const Window& win, std::int64_t oh, std::int64_t ow, std::uint16_t* cols) {
  const std::int64_t taps = static_cast<std::int64_t>(win.kernel) * win.kernel;
  const std::size_t bytes = static_cast<std::size_t>(c) * sizeof(std::uint16_t);
#pragma omp parallel for schedule(static)
  for (std::int64_t p = 0; p < oh * ow; ++p) {
    const std::int64_t y = p / ow, x = p % ow;
    std::uint16_t* out = cols + p * taps * c;
    for (std::int64_t tap = 0; tap < taps; ++tap, out += c) {
      const std::int64_t iy = y * win.stride + (tap / win.kernel) * win.dilation - win.pad_h.before;
      const std::int64_t ix = x * win.stride + (tap % win.kernel) * win.dilation - win.pad_w.before;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w)
        std::memset(out, 0, bytes);
      else
        std::memcpy(out, src + (iy * w + ix) * c, bytes);
    }
  }
}

void weights_to_columns(const float* oihw, std::int64_t o, std::int64_t i, int k, float* out) {
  const std::int64_t taps = static_cast<std::int64_t>(k) * k;
  for (std::int64_t a = 0; a < o; ++a)
    for (std::int64_t b = 0; b < i; ++b)
      for (std::int64_t t = 0; t < taps; ++t) out[(a * taps + t) * i + b] = oihw[(a * i + b) * taps + t];
}

}  // namespace visbone::bit
