// GroupNorm + optional residual add + activation in one kernel over either map layout:
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
  // Two ways to split the work, with the same arithmetic (so the same bits): by items of whole groups over
  // all pixels, or (channels-last maps, fewer images than threads) by runs of pixels over all channels.
  void run_by_items(const FeatureMap& src, FeatureMap& dst, const FeatureMap* residual) const;
  void run_by_runs(const FeatureMap& src, FeatureMap& dst, const FeatureMap* residual) const;
  // The per-lane coefficients of the output (mean as hi + lo, scale, shift) for `lanes` lanes from channel
  // ch0, a group boundary, from the lanes' sums s1, s2 of (x - k) over `pixels` pixels and their shifts k.
  void coefficients(const double* s1, const double* s2, const float* k, std::int64_t lanes, std::int64_t ch0,
                    double pixels, float* hi, float* lo, float* scale, float* shift) const;

  Tensor gamma_, beta_;
  int groups_ = 1;
  Act act_ = Act::None;
  float eps_ = 1e-5f;
};

}  // namespace visbone::bit
