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

// Applies act(x * scale + shift + res) for one block of `count` pixels x 16 lanes.
template <Act A>
void apply_block(const float* x, float* y, const float* res, const float* scale, const float* shift,
                 std::int64_t count) {
  for (std::int64_t p = 0; p < count; ++p) {
    const float* xs = x + p * kBlock;
    float* ys = y + p * kBlock;
    const float* rs = res ? res + p * kBlock : nullptr;
#pragma omp simd
    for (int l = 0; l < kBlock; ++l) {
      float v = xs[l] * scale[l] + shift[l];
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

  // Pass 3: per-channel scale and shift, then one fused sweep.
  std::vector<float> scale(static_cast<std::size_t>(n * cb * kBlock), 0.0f), shift(scale.size(), 0.0f);
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t ch = 0; ch < c; ++ch) {
      const auto g = static_cast<std::size_t>(b * groups_ + ch / per_group);
      const double s = gamma_.data()[ch] * rstd[g];
      scale[static_cast<std::size_t>(b * cb * kBlock + ch)] = static_cast<float>(s);
      shift[static_cast<std::size_t>(b * cb * kBlock + ch)] = static_cast<float>(beta_.data()[ch] - mean[g] * s);
    }
  float* y = dst.data.data();
  const float* r = residual ? residual->data.data() : nullptr;
#pragma omp parallel for schedule(static)
  for (std::int64_t u = 0; u < units; ++u) {
    const std::int64_t off = u * hw * kBlock;
    const float* sc = scale.data() + u * kBlock;
    const float* sh = shift.data() + u * kBlock;
    const float* ru = r ? r + off : nullptr;
    switch (act_) {
      case Act::None: apply_block<Act::None>(x + off, y + off, ru, sc, sh, hw); break;
      case Act::Relu: apply_block<Act::Relu>(x + off, y + off, ru, sc, sh, hw); break;
      case Act::Gelu: apply_block<Act::Gelu>(x + off, y + off, ru, sc, sh, hw); break;
      case Act::GeluNew: apply_block<Act::GeluNew>(x + off, y + off, ru, sc, sh, hw); break;
      case Act::Selu: apply_block<Act::Selu>(x + off, y + off, ru, sc, sh, hw); break;
    }
  }
}

}  // namespace visbone::bit
