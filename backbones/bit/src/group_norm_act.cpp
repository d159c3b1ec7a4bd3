#include "visbone/bit/group_norm_act.h"

#include <cmath>
#include <vector>

#include "visbone/core/errors.h"

namespace visbone::bit {

GroupNormAct::GroupNormAct(Tensor gamma, Tensor beta, int groups, Act act, float eps)
    : gamma_(std::move(gamma)), beta_(std::move(beta)), groups_(groups), act_(act), eps_(eps) {
  if (groups_ < 1 || gamma_.numel() % groups_ != 0)
    throw ShapeError("GroupNorm: " + std::to_string(gamma_.numel()) + " channels do not split into " +
                     std::to_string(groups_) + " groups");
}

namespace {

// Applies act((x - mean) * scale + shift + res) for one block of `count` pixels x 16 lanes. Subtracting the
// mean first keeps the digits that x * scale + (shift - mean * scale) would cancel away when the mean is
// large against the spread; the mean is split into a float and its remainder (x - hi is exact when x is
// near the mean), so the subtraction is as good as one in double.
template <Act A>
void apply_block(const float* x, float* y, const float* res, const float* mean_hi, const float* mean_lo,
                 const float* scale, const float* shift, std::int64_t count) {
  for (std::int64_t p = 0; p < count; ++p) {
    const float* xs = x + p * kBlock;
    float* ys = y + p * kBlock;
    const float* rs = res ? res + p * kBlock : nullptr;
#pragma omp simd
    for (int l = 0; l < kBlock; ++l) {
      float v = ((xs[l] - mean_hi[l]) - mean_lo[l]) * scale[l] + shift[l];
      if (rs) v += rs[l];
      ys[l] = apply_act(A, v);
    }
  }
}

}  // namespace

void GroupNormAct::run(const FeatureMap& src, FeatureMap& dst, const FeatureMap* residual) const {
  if (src.c != channels())
    throw ShapeError("GroupNorm over " + std::to_string(channels()) + " channels got a map of " +
                     std::to_string(src.c) + " channels");
  const std::int64_t n = src.n, cb = src.blocks(), hw = src.h * src.w, c = src.c;
  const std::int64_t per_group = c / groups_;
  const std::int64_t units = n * cb;

  // Statistics in one read. Each channel is shifted by its first value (so the sums are of small numbers
  // even when the mean is large against the spread), summed in float over short runs of pixels and in
  // double across runs; the groups are then combined exactly in double:
  //   sum over the group of (x - m)^2 = sum_c [S2_c + 2 (k_c - m) S1_c + n (k_c - m)^2],  x - k_c summed in S1_c.
  const std::size_t lanes = static_cast<std::size_t>(n * cb * kBlock);
  std::vector<double> s1(lanes, 0.0), s2(lanes, 0.0), shift0(lanes, 0.0);
  std::vector<double> mean(static_cast<std::size_t>(n * groups_), 0.0), rstd(mean.size(), 0.0);
  const float* x = src.data.data();
  constexpr std::int64_t kRun = 64;

#pragma omp parallel for schedule(static)
  for (std::int64_t u = 0; u < units; ++u) {
    const float* base = x + u * hw * kBlock;
    float k[kBlock];
    for (int l = 0; l < kBlock; ++l) k[l] = hw > 0 ? base[l] : 0.0f;
    double d1[kBlock] = {}, d2[kBlock] = {};
    for (std::int64_t p0 = 0; p0 < hw; p0 += kRun) {
      float a1[kBlock] = {}, a2[kBlock] = {};
      const std::int64_t p1 = std::min(hw, p0 + kRun);
      for (std::int64_t p = p0; p < p1; ++p) {
#pragma omp simd
        for (int l = 0; l < kBlock; ++l) {
          const float d = base[p * kBlock + l] - k[l];
          a1[l] += d;
          a2[l] += d * d;
        }
      }
      for (int l = 0; l < kBlock; ++l) d1[l] += a1[l], d2[l] += a2[l];
    }
    for (int l = 0; l < kBlock; ++l) {
      const auto i = static_cast<std::size_t>(u * kBlock + l);
      s1[i] = d1[l], s2[i] = d2[l], shift0[i] = k[l];
    }
  }
  const double count = static_cast<double>(per_group * hw), pixels = static_cast<double>(hw);
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t ch = 0; ch < c; ++ch) {
      const auto i = static_cast<std::size_t>(b * cb * kBlock + ch);
      mean[static_cast<std::size_t>(b * groups_ + ch / per_group)] += s1[i] + pixels * shift0[i];
    }
  for (auto& m : mean) m /= count;
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t ch = 0; ch < c; ++ch) {
      const auto i = static_cast<std::size_t>(b * cb * kBlock + ch);
      const auto g = static_cast<std::size_t>(b * groups_ + ch / per_group);
      const double delta = shift0[i] - mean[g];
      rstd[g] += s2[i] + 2.0 * delta * s1[i] + pixels * delta * delta;
    }
  for (auto& r : rstd) r = 1.0 / std::sqrt(std::max(r, 0.0) / count + eps_);

  // Pass 3: per-channel mean, scale and shift, then one fused sweep.
  std::vector<float> hi(static_cast<std::size_t>(n * cb * kBlock), 0.0f), lo(hi.size(), 0.0f),
      scale(hi.size(), 0.0f), shift(hi.size(), 0.0f);
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t ch = 0; ch < c; ++ch) {
      const auto g = static_cast<std::size_t>(b * groups_ + ch / per_group);
      const double s = gamma_.data()[ch] * rstd[g];
      const auto i = static_cast<std::size_t>(b * cb * kBlock + ch);
      hi[i] = static_cast<float>(mean[g]);
      lo[i] = static_cast<float>(mean[g] - hi[i]);
      scale[i] = static_cast<float>(s);
      shift[i] = beta_.data()[ch];
    }
  float* y = dst.data.data();
  const float* r = residual ? residual->data.data() : nullptr;
#pragma omp parallel for schedule(static)
  for (std::int64_t u = 0; u < units; ++u) {
    const std::int64_t off = u * hw * kBlock;
    const float* mh = hi.data() + u * kBlock;
    const float* ml = lo.data() + u * kBlock;
    const float* sc = scale.data() + u * kBlock;
    const float* sh = shift.data() + u * kBlock;
    const float* ru = r ? r + off : nullptr;
    switch (act_) {
      case Act::None: apply_block<Act::None>(x + off, y + off, ru, mh, ml, sc, sh, hw); break;
      case Act::Relu: apply_block<Act::Relu>(x + off, y + off, ru, mh, ml, sc, sh, hw); break;
      case Act::Gelu: apply_block<Act::Gelu>(x + off, y + off, ru, mh, ml, sc, sh, hw); break;
      case Act::GeluNew: apply_block<Act::GeluNew>(x + off, y + off, ru, mh, ml, sc, sh, hw); break;
      case Act::Selu: apply_block<Act::Selu>(x + off, y + off, ru, mh, ml, sc, sh, hw); break;
    }
  }
}

}  // namespace visbone::bit
