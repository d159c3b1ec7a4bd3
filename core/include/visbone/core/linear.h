// A linear layer's output, as classifiers compute logits: out[b][j] = bias[j] + sum_c weight[j][c] * x[b][c].
// Accumulated in double in one fixed order (kLinearLanes interleaved partial sums over the channels, added in
// lane order, then the bias), so a row's value depends neither on the batch it came in nor on threads, and the
// loop vectorises. The one implementation: the BiT model's logits and the classification head share it.
#pragma once

#include "visbone/core/tensor.h"

namespace visbone {

inline constexpr int kLinearLanes = 16;

// x: (N, C) or (N, C, 1, 1); weight: (K, C); bias: (K) or empty. Returns (N, K). The caller checks the shapes.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

}  // namespace visbone
