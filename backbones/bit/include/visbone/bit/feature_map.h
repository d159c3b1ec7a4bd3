// A batch of feature maps in oneDNN's nChw16c layout (channels in blocks of 16, the padding lanes kept at
// zero), the layout every BiT layer reads and writes, and the shared oneDNN engine.
#pragma once

#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>

#include "visbone/core/tensor.h"

namespace visbone::bit {

constexpr std::int64_t kBlock = 16;

// The process-wide CPU engine.
const dnnl::engine& cpu_engine();

struct FeatureMap {
  std::int64_t n = 0, c = 0, h = 0, w = 0;
  Tensor data;  // n * blocks() * h * w * 16 floats

  // A zero-filled map of the given logical (N, C, H, W) size.
  static FeatureMap zeros(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w);
  // For outputs a kernel writes entirely: unset when C fills whole blocks, else zeroed (padding lanes).
  static FeatureMap for_output(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w);
  std::int64_t blocks() const { return (c + kBlock - 1) / kBlock; }
  Shape shape() const { return {n, c, h, w}; }
  dnnl::memory::desc desc() const;
  dnnl::memory memory() const;
};

dnnl::memory::desc nchw_desc(const Shape& shape);
// Plain (N, C, H, W) float tensor <-> blocked map.
FeatureMap to_blocked(const Tensor& nchw, dnnl::stream& stream);
Tensor to_nchw(const FeatureMap& map, dnnl::stream& stream);

}  // namespace visbone::bit
