#include "visbone/bit/max_pool.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "visbone/bit/bf16.h"
#include "visbone/core/errors.h"

namespace visbone::bit {

namespace {

float value(float v) { return v; }
float value(bf16_t v) { return from_bf16(v); }
void put(float v, float* p) { *p = v; }
void put(float v, bf16_t* p) { *p = to_bf16(v); }  // exact: v is one of the inputs or 0

template <typename T>
void pool(const T* x, T* y, const FeatureMap& src, const FeatureMap& dst, Pad1d ph, Pad1d pw, int kernel,
          int stride) {
  const std::int64_t units = src.n * src.blocks(), oh = dst.h, ow = dst.w;
  const std::int64_t in_step = src.pixel_stride(), out_step = dst.pixel_stride();
#pragma omp parallel for schedule(static)
  for (std::int64_t u = 0; u < units; ++u) {
    const T* in = x + src.at(u / src.blocks(), u % src.blocks(), 0);
    T* out = y + dst.at(u / dst.blocks(), u % dst.blocks(), 0);
    for (std::int64_t oy = 0; oy < oh; ++oy)
      for (std::int64_t ox = 0; ox < ow; ++ox) {
        float m[kBlock];
        const std::int64_t y0 = oy * stride - ph.before, x0 = ox * stride - pw.before;
        // A window that reaches into the padding sees zeros.
        const bool touches_pad = y0 < 0 || x0 < 0 || y0 + kernel > src.h || x0 + kernel > src.w;
        for (int l = 0; l < kBlock; ++l) m[l] = touches_pad ? 0.0f : -std::numeric_limits<float>::infinity();
        for (std::int64_t ky = std::max<std::int64_t>(y0, 0); ky < std::min<std::int64_t>(y0 + kernel, src.h); ++ky)
          for (std::int64_t kx = std::max<std::int64_t>(x0, 0); kx < std::min<std::int64_t>(x0 + kernel, src.w);
               ++kx) {
            const T* p = in + (ky * src.w + kx) * in_step;
#pragma omp simd
            for (int l = 0; l < kBlock; ++l) m[l] = std::max(m[l], value(p[l]));
          }
        T* o = out + (oy * ow + ox) * out_step;
        for (int l = 0; l < kBlock; ++l) put(m[l], o + l);
      }
  }
}

}  // namespace

FeatureMap zero_pad_max_pool(const FeatureMap& src, Pad1d ph, Pad1d pw, int kernel, int stride) {
  const std::int64_t oh = conv_out_size(src.h, ph, kernel, stride, 1);
  const std::int64_t ow = conv_out_size(src.w, pw, kernel, stride, 1);
  if (oh < 1 || ow < 1)
    throw ShapeError("max pool: a " + std::to_string(src.h) + "x" + std::to_string(src.w) +
                     " map is too small for a " + std::to_string(kernel) + "x" + std::to_string(kernel) + " window");
  auto dst = FeatureMap::for_output(src.n, src.c, oh, ow, src.type, src.layout);
  if (src.is_bf16())
    pool(src.bf16_data(), dst.bf16_data(), src, dst, ph, pw, kernel, stride);
  else
    pool(src.data.data(), dst.data.data(), src, dst, ph, pw, kernel, stride);
  return dst;
}

FeatureMap zero_pad(const FeatureMap& src, Pad1d ph, Pad1d pw) {
  auto dst = FeatureMap::zeros(src.n, src.c, src.h + ph.before + ph.after, src.w + pw.before + pw.after,
                               src.type, src.layout);
  const std::size_t bytes = src.is_bf16() ? sizeof(bf16_t) : sizeof(float);
  auto* to = reinterpret_cast<char*>(dst.data.data());
  const auto* from = reinterpret_cast<const char*>(src.data.data());
  // A row of a plane is contiguous: one block's row (blocked), or every channel's (channels-last, one plane
  // per image).
  const std::int64_t lanes = src.pixel_stride(), planes = src.n * src.blocks() * kBlock / lanes;
  for (std::int64_t u = 0; u < planes; ++u)
    for (std::int64_t yy = 0; yy < src.h; ++yy)
      std::memcpy(
          to + static_cast<std::size_t>(((u * dst.h + yy + ph.before) * dst.w + pw.before) * lanes) * bytes,
          from + static_cast<std::size_t>((u * src.h + yy) * src.w * lanes) * bytes,
          static_cast<std::size_t>(src.w * lanes) * bytes);
  return dst;
}

}  // namespace visbone::bit
