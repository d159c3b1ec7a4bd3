#include "visbone/core/linear.h"

namespace visbone {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const std::int64_t n = x.dim(0), k = weight.dim(0), ch = weight.dim(1);
  const std::int64_t whole = ch / kLinearLanes * kLinearLanes;
  Tensor out({n, k});
  // Output rows in parallel, each weight row read once for the whole batch: at batch 1 the weights (8 MB for
  // 2048 -> 1000) come from memory once per call, and two cores draw them faster than one.
#pragma omp parallel for schedule(static) if (k * ch >= (std::int64_t{1} << 16))
  for (std::int64_t j = 0; j < k; ++j) {
    const float* w = weight.data() + j * ch;
    for (std::int64_t b = 0; b < n; ++b) {
      const float* f = x.data() + b * ch;
      double lane[kLinearLanes] = {};
      for (std::int64_t c = 0; c < whole; c += kLinearLanes)
        for (int l = 0; l < kLinearLanes; ++l) lane[l] += static_cast<double>(w[c + l]) * f[c + l];
      for (std::int64_t c = whole; c < ch; ++c) lane[c - whole] += static_cast<double>(w[c]) * f[c];
      double acc = 0;
      for (const double v : lane) acc += v;
      if (!bias.empty()) acc += bias.data()[j];
      out.data()[b * k + j] = static_cast<float>(acc);
    }
  }
  return out;
}

}  // namespace visbone
