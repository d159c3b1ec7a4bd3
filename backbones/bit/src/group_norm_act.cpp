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

  // Pass 1: per-channel sums. Pass 2: per-channel squared deviations from the group mean.
  std::vector<double> sum(static_cast<std::size_t>(n * cb * kBlock), 0.0);
  std::vector<double> sq(sum.size(), 0.0);
  std::vector<double> mean(static_cast<std::size_t>(n * groups_), 0.0), rstd(mean.size(), 0.0);
  const float* x = src.data.data();

#pragma omp parallel for schedule(static)
  for (std::int64_t u = 0; u < units; ++u) {
    const float* base = x + u * hw * kBlock;
    double acc[kBlock] = {};
    for (std::int64_t p = 0; p < hw; ++p)
      for (int l = 0; l < kBlock; ++l) acc[l] += base[p * kBlock + l];
    for (int l = 0; l < kBlock; ++l) sum[static_cast<std::size_t>(u * kBlock + l)] = acc[l];
  }
  const double count = static_cast<double>(per_group * hw);
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t ch = 0; ch < c; ++ch)
      mean[static_cast<std::size_t>(b * groups_ + ch / per_group)] += sum[static_cast<std::size_t>(b * cb * kBlock + ch)];
  for (auto& m : mean) m /= count;

#pragma omp parallel for schedule(static)
  for (std::int64_t u = 0; u < units; ++u) {
    const std::int64_t b = u / cb, blk = u % cb;
    double mu[kBlock];
    for (int l = 0; l < kBlock; ++l) {
      const std::int64_t ch = std::min<std::int64_t>(blk * kBlock + l, c - 1);
      mu[l] = mean[static_cast<std::size_t>(b * groups_ + ch / per_group)];
    }
    const float* base = x + u * hw * kBlock;
    double acc[kBlock] = {};
    for (std::int64_t p = 0; p < hw; ++p)
      for (int l = 0; l < kBlock; ++l) {
        const double d = base[p * kBlock + l] - mu[l];
        acc[l] += d * d;
      }
    for (int l = 0; l < kBlock; ++l) sq[static_cast<std::size_t>(u * kBlock + l)] = acc[l];
  }
  for (std::int64_t b = 0; b < n; ++b) {
    for (std::int64_t ch = 0; ch < c; ++ch)
      rstd[static_cast<std::size_t>(b * groups_ + ch / per_group)] += sq[static_cast<std::size_t>(b * cb * kBlock + ch)];
  }
  for (auto& r : rstd) r = 1.0 / std::sqrt(r / count + eps_);

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
