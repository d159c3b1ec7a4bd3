// The activations BitConfig.hidden_act can name, as scalar functions (inlined into the norm kernel).
#pragma once

#include <cmath>

#include "visbone/bit/bit_config.h"

namespace visbone::bit {

inline float relu(float x) { return x > 0.0f ? x : 0.0f; }
// Exact GELU: x * Phi(x), as torch's nn.GELU().
inline float gelu(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }
// transformers' NewGELUActivation (the tanh approximation).
inline float gelu_new(float x) {
  return 0.5f * x * (1.0f + std::tanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
}
// SELU with the standard constants (Klambauer et al.), as torch.nn.SELU.
inline float selu(float x) {
  constexpr float kScale = 1.0507009873554805f, kAlpha = 1.6732632423543772f;
  return x > 0.0f ? kScale * x : kScale * kAlpha * std::expm1(x);
}

// `Activation` plus "none" for the norms that transformers builds with apply_activation=False.
enum class Act { None, Relu, Gelu, GeluNew, Selu };

inline Act to_act(Activation a) {
  switch (a) {
    case Activation::Relu: return Act::Relu;
    case Activation::Gelu: return Act::Gelu;
    case Activation::GeluNew: return Act::GeluNew;
    case Activation::Selu: return Act::Selu;
  }
  return Act::None;
}

inline float apply_act(Act a, float x) {
  switch (a) {
    case Act::None: return x;
    case Act::Relu: return relu(x);
    case Act::Gelu: return gelu(x);
    case Act::GeluNew: return gelu_new(x);
    case Act::Selu: return selu(x);
  }
  return x;
}

}  // namespace visbone::bit
