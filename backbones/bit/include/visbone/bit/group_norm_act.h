// GroupNorm + optional residual add + activation in one kernel over the blocked layout:
//   dst = act(group_norm(src) * gamma + beta [+ residual])
// Statistics are exact two-pass (mean, then the mean squared deviation) in double, so a large mean
// against a small spread loses no digits.
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
  void run(const FeatureMap& src, FeatureMap& dst, const FeatureMap* residual = nullptr) const;

 private:
  Tensor gamma_, beta_;
  int groups_ = 1;
  Act act_ = Act::None;
  float eps_ = 1e-5f;
};

}  // namespace visbone::bit
