#include "visbone/heads/layout.h"

#include "visbone/core/errors.h"

namespace visbone::heads {

std::optional<Layout> parse_layout(const std::string& text) {
  if (text == "nchw") return Layout::Nchw;
  if (text == "nhwc") return Layout::Nhwc;
  return std::nullopt;
}

std::string to_string(Layout layout) { return layout == Layout::Nhwc ? "nhwc" : "nchw"; }

Tensor to_layout(const Tensor& nchw, Layout layout) {
  if (layout == Layout::Nchw) return nchw;
  if (nchw.rank() != 3 && nchw.rank() != 4)
    throw ShapeError("layout nhwc: map " + shape_str(nchw.shape()) + ", expected (N, C, H, W) or (C, H, W)");
  const bool batched = nchw.rank() == 4;
  const std::int64_t n = batched ? nchw.dim(0) : 1, c = nchw.dim(batched ? 1 : 0), h = nchw.dim(batched ? 2 : 1),
                     w = nchw.dim(batched ? 3 : 2), hw = h * w;
  Tensor out = Tensor::uninitialized(batched ? Shape{n, h, w, c} : Shape{h, w, c});
  const float* src = nchw.data();
  float* dst = out.data();
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t p = 0; p < hw; ++p)
      for (std::int64_t ch = 0; ch < c; ++ch) dst[(b * hw + p) * c + ch] = src[(b * c + ch) * hw + p];
  return out;
}

}  // namespace visbone::heads
