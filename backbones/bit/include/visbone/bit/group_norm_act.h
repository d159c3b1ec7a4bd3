// GroupNorm + optional residual add + activation in one kernel over the blocked layout:
//   dst = act(group_norm(src) * gamma + beta [+ residual])
// Statistics take one read of the input and stay exact when the mean is large against the spread (see
// the kernel); the output takes one more read and one write.
#pragma once

#include "visbone/bit/activation.h"
#include "visbone/bit/feature_map.h"
#include "visbone/core/tensor.h"

namespace visbone::bit {

class GroupNormAct {
 public:
  GroupNormAct() = default;
  GroupNormAct(Tensor gamma, Tensor beta, int groups, Act act, float eps = 1e-5f);

  int channels() const { return static_cast<int>(gamma_.numel()); }
  // `dst` may be `src` (in place); `residual`, when given, has src's shape and is added before the activation.
  // Each map may hold floats or bf16 (FeatureMap::type); the arithmetic is fp32 either way.
  void run(const FeatureMap& src, FeatureMap& dst, const FeatureMap* residual = nullptr) const;

 private:
  Tensor gamma_, beta_;
  int groups_ = 1;
  Act act_ = Act::None;
  float eps_ = 1e-5f;
};

}  // namespace visbone::bit
