#include "visbone/bit/group_norm_act.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "visbone/bit/bf16.h"
#include "visbone/core/cpu_clones.h"
#include "visbone/core/errors.h"

namespace visbone::bit {

GroupNormAct::GroupNormAct(Tensor gamma, Tensor beta, int groups, Act act, float eps)
    : gamma_(std::move(gamma)), beta_(std::move(beta)), groups_(groups), act_(act), eps_(eps) {
  if (groups_ < 1 || gamma_.numel() % groups_ != 0)
    throw ShapeError("GroupNorm: " + std::to_string(gamma_.numel()) + " channels do not split into " +
                     std::to_string(groups_) + " groups");
}

namespace {

// The kernels below are VISBONE_CLONES (core/cpu_clones.h: AVX-512, so bf16 packing is vectorised too, AVX2
// and the baseline, picked by the CPU; measured 1.5-2x the baseline with bench_layers); the arithmetic is the
// same IEEE float operations in the same order whatever the vector width (this file is built with
// -ffp-contract=off, so none fuse into an FMA), and the results are bit-identical on every CPU.

constexpr std::int64_t kRun = 64;  // pixels summed in float before they are added in double
constexpr std::int64_t kItemBlocks = 4;  // the least width of a channels-last item, in blocks
constexpr std::int64_t kSplitValues = std::int64_t{1} << 15;  // smaller maps are not split across threads

// Adds to d1, d2 the sums per lane of (x - k) and (x - k)^2 over one run of `len` (at most kRun) pixels at x,
// summed in float.
VISBONE_CLONES void add_run_sums(const float* x, std::int64_t len, const float* k, double* d1, double* d2) {
  float a1[kBlock] = {}, a2[kBlock] = {};
  for (std::int64_t p = 0; p < len; ++p) {
#pragma omp simd
    for (int l = 0; l < kBlock; ++l) {
      const float d = x[p * kBlock + l] - k[l];
      a1[l] += d;
      a2[l] += d * d;
    }
  }
  for (int l = 0; l < kBlock; ++l) d1[l] += a1[l], d2[l] += a2[l];
}

// Applies act((x - mean) * scale + shift + res) for one block of `count` pixels x 16 lanes. Subtracting the
// mean first keeps the digits that x * scale + (shift - mean * scale) would cancel away when the mean is
// large against the spread; the mean is split into a float and its remainder (x - hi is exact when x is
// near the mean), so the subtraction is as good as one in double.
template <Act A>
[[gnu::always_inline]] inline void apply_block(const float* x, float* y, const float* res,
                                               const float* mean_hi, const float* mean_lo, const float* scale,
                                               const float* shift, std::int64_t count) {
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

VISBONE_CLONES void apply_run(Act a, const float* x, float* y, const float* res, const float* mean_hi,
                              const float* mean_lo, const float* scale, const float* shift,
                              std::int64_t count) {
  switch (a) {
    case Act::None: apply_block<Act::None>(x, y, res, mean_hi, mean_lo, scale, shift, count); break;
    case Act::Relu: apply_block<Act::Relu>(x, y, res, mean_hi, mean_lo, scale, shift, count); break;
    case Act::Gelu: apply_block<Act::Gelu>(x, y, res, mean_hi, mean_lo, scale, shift, count); break;
    case Act::GeluNew: apply_block<Act::GeluNew>(x, y, res, mean_hi, mean_lo, scale, shift, count); break;
    case Act::Selu: apply_block<Act::Selu>(x, y, res, mean_hi, mean_lo, scale, shift, count); break;
  }
}

// `pixels` pixels' 16 lanes, `stride` elements apart in a map, to or from 16 * pixels packed floats.
inline float as_float(float v) { return v; }
inline float as_float(bf16_t v) { return from_bf16(v); }
inline void put(float v, float& to) { to = v; }
inline void put(float v, bf16_t& to) { to = to_bf16(v); }

template <typename From, typename To>
[[gnu::always_inline]] inline void copy_lanes(const From* from, std::int64_t from_stride, To* to, std::int64_t to_stride,
                                              std::int64_t pixels) {
  for (std::int64_t p = 0; p < pixels; ++p)
#pragma omp simd
    for (int l = 0; l < kBlock; ++l) put(as_float(from[p * from_stride + l]), to[p * to_stride + l]);
}

VISBONE_CLONES void gather(const bf16_t* m, std::int64_t stride, std::int64_t pixels, float* f) {
  copy_lanes(m, stride, f, kBlock, pixels);
}
VISBONE_CLONES void gather(const float* m, std::int64_t stride, std::int64_t pixels, float* f) {
  copy_lanes(m, stride, f, kBlock, pixels);
}
VISBONE_CLONES void scatter(const float* f, std::int64_t stride, std::int64_t pixels, bf16_t* m) {
  copy_lanes(f, kBlock, m, stride, pixels);
}
VISBONE_CLONES void scatter(const float* f, std::int64_t stride, std::int64_t pixels, float* m) {
  copy_lanes(f, kBlock, m, stride, pixels);
}

// Whether a map's runs are computed on in its own memory: floats, 16 lanes per pixel back to back (blocked).
bool in_place(const FeatureMap& m) {
  return !m.is_bf16() && m.pixel_stride() == kBlock;
}

// The 16 lanes of `pixels` pixels of a map from element `at` as 16 * pixels packed floats: the map's own
// memory when in_place(), else gathered into `tmp` (all arithmetic is fp32; bf16 is only how maps are
// stored, and channels-last maps keep a pixel's blocks together).
const float* load(const FeatureMap& m, std::int64_t at, std::int64_t pixels, float* tmp) {
  if (in_place(m)) return m.data.data() + at;
  if (m.is_bf16())
    gather(m.bf16_data() + at, m.pixel_stride(), pixels, tmp);
  else
    gather(m.data.data() + at, m.pixel_stride(), pixels, tmp);
  return tmp;
}

// Where to compute a run of `m` from element `at`: in place, or in `tmp` (then store).
float* target(FeatureMap& m, std::int64_t at, float* tmp) {
  return in_place(m) ? m.data.data() + at : tmp;
}

void store(FeatureMap& m, std::int64_t at, std::int64_t pixels, const float* values) {
  if (in_place(m)) return;
  if (m.is_bf16())
    scatter(values, m.pixel_stride(), pixels, m.bf16_data() + at);
  else
    scatter(values, m.pixel_stride(), pixels, m.data.data() + at);
}

}  // namespace

void GroupNormAct::run(const FeatureMap& src, FeatureMap& dst, const FeatureMap* residual) const {
  if (src.c != channels())
    throw ShapeError("GroupNorm over " + std::to_string(channels()) + " channels got a map of " +
                     std::to_string(src.c) + " channels");
  const std::int64_t n = src.n, cb = src.blocks(), hw = src.h * src.w, c = src.c;
  const std::int64_t per_group = c / groups_;
  // Work items: runs of whole blocks that hold whole groups (one group's blocks when a group fills whole
  // blocks, one block when blocks hold whole groups, otherwise every block). Each item's statistics and
  // output are computed back to back, so the second read of its data comes from cache. In a channels-last map
  // an item's pixels are kItemBlocks blocks or more wide where the channels allow (one block alone would use
  // half of each cache line read), and they are read pixel run by pixel run.
  std::int64_t item_blocks = per_group % kBlock == 0 ? per_group / kBlock : kBlock % per_group == 0 ? 1 : cb;
  if (src.layout == Layout::ChannelsLast)
    while (item_blocks < kItemBlocks && cb % (2 * item_blocks) == 0) item_blocks *= 2;
  const std::int64_t items = n * (cb / item_blocks);
  const double pixels = static_cast<double>(hw), count = static_cast<double>(per_group * hw);
  // Small maps (stage 4 at batch 1: a few microseconds of work) run on the calling thread: splitting them
  // costs more in waking threads and the closing barrier than it saves. Each item is computed the same way
  // on any thread, so the results do not depend on this or on the thread count.
  const bool split = n * cb * hw * kBlock >= kSplitValues;

#pragma omp parallel if (split)
  {
    // Per lane of the item: the shift k, sums of (x - k) and (x - k)^2, then the output's coefficients.
    const auto lanes = static_cast<std::size_t>(item_blocks * kBlock);
    std::vector<double> s1(lanes), s2(lanes), k(lanes);
    std::vector<float> kf(lanes), hi(lanes), lo(lanes), scale(lanes), shift(lanes);
    // One run of pixels as packed floats, for maps not computed on in place.
    auto floats = [](const FeatureMap* m, std::int64_t pixels) {
      return std::vector<float>(m && !in_place(*m) ? static_cast<std::size_t>(pixels * kBlock) : 0);
    };
    std::vector<float> tx = floats(&src, kRun), tr = floats(residual, kRun), ty = floats(&dst, kRun);
#pragma omp for schedule(static)
    for (std::int64_t item = 0; item < items; ++item) {
      const std::int64_t first_block = item * item_blocks;  // counting blocks across the batch
      const std::int64_t image = first_block / cb, k0 = first_block % cb;
      const std::int64_t ch0 = k0 * kBlock;  // the item's first channel

      // Statistics in one read. Each lane is shifted by its first value (so the sums are of small numbers
      // even when the mean is large against the spread), summed in float over runs of kRun pixels and in
      // double across runs.
      std::fill(s1.begin(), s1.end(), 0.0);
      std::fill(s2.begin(), s2.end(), 0.0);
      for (std::int64_t b = 0; b < item_blocks && hw > 0; ++b) {
        const float* first = load(src, src.at(image, k0 + b, 0), 1, tx.data());
        for (int l = 0; l < kBlock; ++l) kf[static_cast<std::size_t>(b * kBlock + l)] = first[l];
      }
      for (std::int64_t p0 = 0; p0 < hw; p0 += kRun) {
        const std::int64_t len = std::min(hw - p0, kRun);
        for (std::int64_t b = 0; b < item_blocks; ++b) {
          const auto l0 = static_cast<std::size_t>(b * kBlock);
          add_run_sums(load(src, src.at(image, k0 + b, p0), len, tx.data()), len, kf.data() + l0,
                       s1.data() + l0, s2.data() + l0);
        }
      }
      for (std::size_t i = 0; i < lanes; ++i) k[i] = kf[i];
      // The groups' mean and variance, combined exactly in double:
      //   sum over the group of (x - m)^2 = sum_c [S2_c + 2 (k_c - m) S1_c + n (k_c - m)^2],
      // then per lane the mean split into a float and its remainder, the scale and the shift. Items start on
      // a group boundary, so the item's lanes [g * per_group, (g + 1) * per_group) are its group g; padding
      // lanes get zeros, so they stay act(0) = 0.
      const std::int64_t real = std::min<std::int64_t>(static_cast<std::int64_t>(lanes), c - ch0);
      for (std::int64_t i0 = 0; i0 < real; i0 += per_group) {
        const std::int64_t i1 = i0 + per_group;
        double sum = 0.0, squares = 0.0;
        for (std::int64_t i = i0; i < i1; ++i) sum += s1[i] + pixels * k[i];
        const double m = sum / count;
        for (std::int64_t i = i0; i < i1; ++i) {
          const double delta = k[i] - m;
          squares += s2[i] + 2.0 * delta * s1[i] + pixels * delta * delta;
        }
        const double rstd = 1.0 / std::sqrt(std::max(squares, 0.0) / count + eps_);
        const auto m_hi = static_cast<float>(m), m_lo = static_cast<float>(m - m_hi);
        for (std::int64_t i = i0; i < i1; ++i) {
          hi[i] = m_hi, lo[i] = m_lo;
          scale[i] = static_cast<float>(gamma_.data()[ch0 + i] * rstd);
          shift[i] = beta_.data()[ch0 + i];
        }
      }
      for (auto i = static_cast<std::size_t>(real); i < lanes; ++i)
        hi[i] = lo[i] = scale[i] = shift[i] = 0.0f;
      for (std::int64_t p0 = 0; p0 < hw; p0 += kRun) {
        for (std::int64_t b = 0; b < item_blocks; ++b) {
          const std::size_t l0 = static_cast<std::size_t>(b * kBlock);
          const float *mh = hi.data() + l0, *ml = lo.data() + l0, *sc = scale.data() + l0,
                      *sh = shift.data() + l0;
          const std::int64_t len = std::min(hw - p0, kRun), o = dst.at(image, k0 + b, p0);
          const float* xs = load(src, src.at(image, k0 + b, p0), len, tx.data());
          const float* rs =
              residual ? load(*residual, residual->at(image, k0 + b, p0), len, tr.data()) : nullptr;
          float* ys = target(dst, o, ty.data());
          apply_run(act_, xs, ys, rs, mh, ml, sc, sh, len);
          store(dst, o, len, ys);
        }
      }
    }
  }
}

}  // namespace visbone::bit
