// L2 normalisation as torch's F.normalize: v / max(|v|, 1e-12), the sum of squares in double, so rows of zeros
// stay zero. The one implementation: embedding and knn heads, the prototype fit and the fewshot plugin share it
// (header-only, so a plugin needs no library beyond the registry).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "visbone/core/tensor.h"

namespace visbone {

template <typename T>
void l2_normalize(T* v, std::int64_t n) {
  double ss = 0;
  for (std::int64_t j = 0; j < n; ++j) ss += static_cast<double>(v[j]) * v[j];
  const double norm = std::max(std::sqrt(ss), 1e-12);
  for (std::int64_t j = 0; j < n; ++j) v[j] = static_cast<T>(v[j] / norm);
}

// Each row of (N, C) (or (N, C, 1, 1)) scaled to unit length, in place.
inline void l2_normalize_rows(Tensor& rows) {
  const std::int64_t n = rows.dim(0), c = rows.numel() / std::max<std::int64_t>(n, 1);
  for (std::int64_t b = 0; b < n; ++b) l2_normalize(rows.data() + b * c, c);
}

}  // namespace visbone
