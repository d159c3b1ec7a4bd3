#include "visbone/bit/group_norm_act.h"

#include <omp.h>
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
// -ffp-contract=off, so none fuse into an FMA), and the results are bit-identical on every CPU. They work on
// runs of pixels packed `width` lanes to a pixel: one block (16) in a blocked map, a chunk of a pixel's
// channels in a channels-last one.

constexpr std::int64_t kRun = 64;  // pixels summed in float before they are added in double
constexpr std::int64_t kChunk = 128;     // lanes of a unit of run_by_runs
constexpr std::int64_t kItemBlocks = 4;  // the least width of a channels-last item of run_by_items, in blocks
constexpr std::int64_t kSplitValues = std::int64_t{1} << 15;  // smaller maps are not split across threads

// The sums per lane of (x - k) and (x - k)^2 over one run of `len` (at most kRun) pixels at x, in float. W is
// the width when the compiler knows it (then the sums stay in registers), else 0.
template <std::int64_t W>
[[gnu::always_inline]] inline void run_sums_of(const float* x, std::int64_t len, std::int64_t width,
                                               const float* k, float* a1, float* a2) {
  if constexpr (W > 0) width = W;
  float s1[W > 0 ? W : kChunk] = {}, s2[W > 0 ? W : kChunk] = {};
  for (std::int64_t p = 0; p < len; ++p) {
#pragma omp simd
    for (std::int64_t l = 0; l < width; ++l) {
      const float d = x[p * width + l] - k[l];
      s1[l] += d;
      s2[l] += d * d;
    }
  }
  std::copy_n(s1, width, a1);
  std::copy_n(s2, width, a2);
}

VISBONE_CLONES void run_sums(const float* x, std::int64_t len, std::int64_t width, const float* k, float* a1,
                             float* a2) {
  switch (width) {
    case kBlock:
      return run_sums_of<kBlock>(x, len, width, k, a1, a2);
    case kChunk:
      return run_sums_of<kChunk>(x, len, width, k, a1, a2);
    default:
      return run_sums_of<0>(x, len, width, k, a1, a2);  // at most kChunk
  }
}

// Applies act((x - mean) * scale + shift + res) to `count` pixels. Subtracting the mean first keeps the
// digits that x * scale + (shift - mean * scale) would cancel away when the mean is large against the spread;
// the mean is split into a float and its remainder (x - hi is exact when x is near the mean), so the
// subtraction is as good as one in double.
template <Act A, std::int64_t W>
[[gnu::always_inline]] inline void apply_pixels(const float* x, float* y, const float* res,
                                                const float* mean_hi, const float* mean_lo,
                                                const float* scale, const float* shift, std::int64_t count,
                                                std::int64_t width) {
  if constexpr (W > 0) width = W;
  for (std::int64_t p = 0; p < count; ++p) {
    const float* xs = x + p * width;
    float* ys = y + p * width;
    const float* rs = res ? res + p * width : nullptr;
#pragma omp simd
    for (std::int64_t l = 0; l < width; ++l) {
      float v = ((xs[l] - mean_hi[l]) - mean_lo[l]) * scale[l] + shift[l];
      if (rs) v += rs[l];
      ys[l] = apply_act(A, v);
    }
  }
}

template <std::int64_t W>
[[gnu::always_inline]] inline void apply_of(Act a, const float* x, float* y, const float* res,
                                            const float* mean_hi, const float* mean_lo, const float* scale,
                                            const float* shift, std::int64_t count, std::int64_t width) {
  switch (a) {
    case Act::None:
      return apply_pixels<Act::None, W>(x, y, res, mean_hi, mean_lo, scale, shift, count, width);
    case Act::Relu:
      return apply_pixels<Act::Relu, W>(x, y, res, mean_hi, mean_lo, scale, shift, count, width);
    case Act::Gelu:
      return apply_pixels<Act::Gelu, W>(x, y, res, mean_hi, mean_lo, scale, shift, count, width);
    case Act::GeluNew:
      return apply_pixels<Act::GeluNew, W>(x, y, res, mean_hi, mean_lo, scale, shift, count, width);
    case Act::Selu:
      return apply_pixels<Act::Selu, W>(x, y, res, mean_hi, mean_lo, scale, shift, count, width);
  }
}

// Applies act((x - mean) * scale + shift + res) to `count` pixels, `width` lanes each.
VISBONE_CLONES void apply_run(Act a, const float* x, float* y, const float* res, const float* mean_hi,
                              const float* mean_lo, const float* scale, const float* shift,
                              std::int64_t count, std::int64_t width) {
  if (width == kBlock)
    apply_of<kBlock>(a, x, y, res, mean_hi, mean_lo, scale, shift, count, width);
  else
    apply_of<0>(a, x, y, res, mean_hi, mean_lo, scale, shift, count, width);
}

// `pixels` pixels' `width` lanes, `stride` elements apart in a map, to or from `width` * pixels packed
// floats.
inline float as_float(float v) { return v; }
inline float as_float(bf16_t v) { return from_bf16(v); }
inline void put(float v, float& to) { to = v; }
inline void put(float v, bf16_t& to) { to = to_bf16(v); }

template <typename From, typename To>
[[gnu::always_inline]] inline void copy_lanes(const From* from, std::int64_t from_stride, To* to,
                                              std::int64_t to_stride, std::int64_t pixels,
                                              std::int64_t width) {
  for (std::int64_t p = 0; p < pixels; ++p)
#pragma omp simd
    for (std::int64_t l = 0; l < width; ++l) put(as_float(from[p * from_stride + l]), to[p * to_stride + l]);
}

// copy_lanes, with the width known to the compiler when it is one block (the inner loop is then one vector).
template <typename From, typename To>
[[gnu::always_inline]] inline void copy_run(const From* from, std::int64_t from_stride, To* to,
                                            std::int64_t to_stride, std::int64_t pixels, std::int64_t width) {
  if (width == kBlock)
    copy_lanes(from, from_stride, to, to_stride, pixels, kBlock);
  else
    copy_lanes(from, from_stride, to, to_stride, pixels, width);
}

// Copies `width` lanes of `pixels` pixels of map `m` from element `at` into `packed` floats, and back.
VISBONE_CLONES void to_packed(const FeatureMap& m, std::int64_t at, std::int64_t pixels, std::int64_t width,
                              float* packed) {
  if (m.is_bf16())
    copy_run(m.bf16_data() + at, m.pixel_stride(), packed, width, pixels, width);
  else
    copy_run(m.data.data() + at, m.pixel_stride(), packed, width, pixels, width);
}

VISBONE_CLONES void from_packed(const float* packed, std::int64_t pixels, std::int64_t width, FeatureMap& m,
                                std::int64_t at) {
  if (m.is_bf16())
    copy_run(packed, width, m.bf16_data() + at, m.pixel_stride(), pixels, width);
  else
    copy_run(packed, width, m.data.data() + at, m.pixel_stride(), pixels, width);
}

// Whether runs `width` lanes wide are computed on in a map's own memory: floats, packed (a blocked map's
// block, or every channel of a channels-last one).
bool in_place(const FeatureMap& m, std::int64_t width) {
  return !m.is_bf16() && m.pixel_stride() == width;
}

// `width` lanes of `pixels` pixels of a map from element `at` as packed floats: the map's own memory when
// in_place(), else gathered into `tmp` (all arithmetic is fp32; bf16 is only how maps are stored).
const float* load(const FeatureMap& m, std::int64_t at, std::int64_t pixels, std::int64_t width, float* tmp) {
  if (in_place(m, width)) return m.data.data() + at;
  to_packed(m, at, pixels, width, tmp);
  return tmp;
}

// Where to compute a run of `m` from element `at`: in place, or in `tmp` (then store).
float* target(FeatureMap& m, std::int64_t at, std::int64_t width, float* tmp) {
  return in_place(m, width) ? m.data.data() + at : tmp;
}

void store(FeatureMap& m, std::int64_t at, std::int64_t pixels, std::int64_t width, const float* values) {
  if (!in_place(m, width)) from_packed(values, pixels, width, m, at);
}

}  // namespace

void GroupNormAct::coefficients(const double* s1, const double* s2, const float* k, std::int64_t lanes,
                                std::int64_t ch0, double pixels, float* hi, float* lo, float* scale,
                                float* shift) const {
  // The groups' mean and variance, combined exactly in double:
  //   sum over the group of (x - m)^2 = sum_c [S2_c + 2 (k_c - m) S1_c + n (k_c - m)^2],
  // then per lane the mean split into a float and its remainder, the scale and the shift. The lanes start on
  // a group boundary, so lanes [g * per_group, (g + 1) * per_group) are a group; padding lanes get zeros, so
  // they stay act(0) = 0.
  const std::int64_t per_group = channels() / groups_;
  const double count = static_cast<double>(per_group) * pixels;
  const std::int64_t real = std::min<std::int64_t>(lanes, channels() - ch0);
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
  for (std::int64_t i = real; i < lanes; ++i) hi[i] = lo[i] = scale[i] = shift[i] = 0.0f;
}

void GroupNormAct::run(const FeatureMap& src, FeatureMap& dst, const FeatureMap* residual) const {
  if (src.c != channels())
    throw ShapeError("GroupNorm over " + std::to_string(channels()) + " channels got a map of " +
                     std::to_string(src.c) + " channels");
  // Channels-last maps of fewer images than threads (batch 1) are split by runs of pixels; everything else by
  // items of whole groups.
  const bool channels_last = src.layout == Layout::ChannelsLast && dst.layout == Layout::ChannelsLast &&
                             (!residual || residual->layout == Layout::ChannelsLast);
  if (channels_last && src.n < omp_get_max_threads() && src.n * src.c * src.h * src.w >= kSplitValues)
    run_by_runs(src, dst, residual);
  else
    run_by_items(src, dst, residual);
}

// Statistics: each lane is shifted by its first value (so the sums are of small numbers even when the mean is
// large against the spread), summed in float over runs of kRun pixels and in double across runs, the runs in
// order. Both layouts do exactly this, so they give the same bits.

void GroupNormAct::run_by_items(const FeatureMap& src, FeatureMap& dst, const FeatureMap* residual) const {
  const std::int64_t n = src.n, cb = src.blocks(), hw = src.h * src.w;
  const std::int64_t per_group = src.c / groups_;
  // Work items: runs of whole blocks that hold whole groups (one group's blocks when a group fills whole
  // blocks, one block when blocks hold whole groups, otherwise every block), read run of pixels by run. Each
  // item's statistics and output are computed back to back, so the second read of its data comes from cache.
  // In a channels-last map an item is kItemBlocks blocks or more wide where the channels allow (one block
  // alone would use half of each cache line read).
  std::int64_t item_blocks = per_group % kBlock == 0 ? per_group / kBlock : kBlock % per_group == 0 ? 1 : cb;
  if (src.layout == Layout::ChannelsLast)
    while (item_blocks < kItemBlocks && cb % (2 * item_blocks) == 0) item_blocks *= 2;
  const std::int64_t items = n * (cb / item_blocks);
  // Small maps (stage 4 at batch 1: a few microseconds of work) run on the calling thread: splitting them
  // costs more in waking threads and the closing barrier than it saves. Each item is computed the same way
  // on any thread, so the results do not depend on this or on the thread count.
  const bool split = n * cb * hw * kBlock >= kSplitValues;

#pragma omp parallel if (split)
  {
    // Per lane of the item: the shift k, sums of (x - k) and (x - k)^2, then the output's coefficients.
    const auto lanes = static_cast<std::size_t>(item_blocks * kBlock);
    std::vector<double> s1(lanes), s2(lanes);
    std::vector<float> kf(lanes), hi(lanes), lo(lanes), scale(lanes), shift(lanes);
    float a1[kBlock], a2[kBlock];
    // One run of pixels as packed floats, for maps not computed on in place.
    auto floats = [](const FeatureMap* m) {
      return std::vector<float>(m && !in_place(*m, kBlock) ? static_cast<std::size_t>(kRun * kBlock) : 0);
    };
    std::vector<float> tx = floats(&src), tr = floats(residual), ty = floats(&dst);
#pragma omp for schedule(static)
    for (std::int64_t item = 0; item < items; ++item) {
      const std::int64_t first_block = item * item_blocks;  // counting blocks across the batch
      const std::int64_t image = first_block / cb, k0 = first_block % cb;
      std::fill(s1.begin(), s1.end(), 0.0);
      std::fill(s2.begin(), s2.end(), 0.0);
      for (std::int64_t b = 0; b < item_blocks && hw > 0; ++b)
        std::copy_n(load(src, src.at(image, k0 + b, 0), 1, kBlock, tx.data()), kBlock,
                    kf.data() + b * kBlock);
      for (std::int64_t p0 = 0; p0 < hw; p0 += kRun) {
        for (std::int64_t b = 0; b < item_blocks; ++b) {
          const std::size_t l0 = static_cast<std::size_t>(b * kBlock);
          const std::int64_t len = std::min(hw - p0, kRun);
          run_sums(load(src, src.at(image, k0 + b, p0), len, kBlock, tx.data()), len, kBlock, kf.data() + l0,
                   a1, a2);
          for (std::size_t l = 0; l < kBlock; ++l) s1[l0 + l] += a1[l], s2[l0 + l] += a2[l];
        }
      }
      coefficients(s1.data(), s2.data(), kf.data(), static_cast<std::int64_t>(lanes), k0 * kBlock,
                   static_cast<double>(hw), hi.data(), lo.data(), scale.data(), shift.data());
      for (std::int64_t p0 = 0; p0 < hw; p0 += kRun) {
        for (std::int64_t b = 0; b < item_blocks; ++b) {
          const std::size_t l0 = static_cast<std::size_t>(b * kBlock);
          const std::int64_t len = std::min(hw - p0, kRun), o = dst.at(image, k0 + b, p0);
          const float* xs = load(src, src.at(image, k0 + b, p0), len, kBlock, tx.data());
          const float* rs =
              residual ? load(*residual, residual->at(image, k0 + b, p0), len, kBlock, tr.data()) : nullptr;
          float* ys = target(dst, o, kBlock, ty.data());
          apply_run(act_, xs, ys, rs, hi.data() + l0, lo.data() + l0, scale.data() + l0, shift.data() + l0,
                    len, kBlock);
          store(dst, o, len, kBlock, ys);
        }
      }
    }
  }
}

void GroupNormAct::run_by_runs(const FeatureMap& src, FeatureMap& dst, const FeatureMap* residual) const {
  // Channels-last maps keep a pixel's channels together, so fewer images than threads are split across the
  // threads by runs of pixels, each read whole (in chunks of kChunk lanes): the runs' float sums first
  // (stored per run), then per image their sums in double in run order and the coefficients, then the output
  // run by run.
  const std::int64_t n = src.n, c = src.c, hw = src.h * src.w, runs = (hw + kRun - 1) / kRun;
  const std::int64_t chunks = (c + kChunk - 1) / kChunk, per_image = runs * chunks;
  std::vector<float> kf(static_cast<std::size_t>(n * c)), sums(static_cast<std::size_t>(n * runs * 2 * c));
  std::vector<float> hi(kf.size()), lo(kf.size()), scale(kf.size()), shift(kf.size());
  // Unit u: image, run and chunk; its pixels [p0, p0 + len), lanes [l0, l0 + width).
  struct Unit {
    std::int64_t image, run, p0, len, l0, width;
  };
  auto unit = [&](std::int64_t u) {
    const std::int64_t image = u / per_image, run = u / chunks % runs, l0 = u % chunks * kChunk;
    return Unit{image, run, run * kRun, std::min(kRun, hw - run * kRun), l0, std::min(kChunk, c - l0)};
  };
  auto at = [](const FeatureMap& m, const Unit& w) { return m.at(w.image, w.l0 / kBlock, w.p0); };
  struct Buffers {  // a thread's runs (and an image's first pixel) as packed floats
    explicit Buffers(std::int64_t c) : x(static_cast<std::size_t>(std::max(kRun * kChunk, c))), r(x), y(x) {}
    std::vector<float> x, r, y;
  };
  auto first_pixel = [&](std::int64_t image, Buffers& t) {
    std::copy_n(load(src, src.at(image, 0, 0), 1, c, t.x.data()), c, kf.data() + image * c);
  };
  auto stats = [&](std::int64_t u, Buffers& t) {
    const Unit w = unit(u);
    float* a1 = sums.data() + (w.image * runs + w.run) * 2 * c + w.l0;
    run_sums(load(src, at(src, w), w.len, w.width, t.x.data()), w.len, w.width,
             kf.data() + w.image * c + w.l0, a1, a1 + c);
  };
  auto combine = [&](std::int64_t image) {
    std::vector<double> s1(static_cast<std::size_t>(c)), s2(s1.size());
    for (std::int64_t run = 0; run < runs; ++run) {
      const float* a1 = sums.data() + (image * runs + run) * 2 * c;
      for (std::int64_t l = 0; l < c; ++l) s1[l] += a1[l], s2[l] += a1[c + l];
    }
    const std::int64_t at0 = image * c;
    coefficients(s1.data(), s2.data(), kf.data() + image * c, c, 0, static_cast<double>(hw), hi.data() + at0,
                 lo.data() + at0, scale.data() + at0, shift.data() + at0);
  };
  auto apply = [&](std::int64_t u, Buffers& t) {
    const Unit w = unit(u);
    const std::int64_t o = at(dst, w), cf = w.image * c + w.l0;
    const float* xs = load(src, at(src, w), w.len, w.width, t.x.data());
    const float* rs = residual ? load(*residual, at(*residual, w), w.len, w.width, t.r.data()) : nullptr;
    float* ys = target(dst, o, w.width, t.y.data());
    apply_run(act_, xs, ys, rs, hi.data() + cf, lo.data() + cf, scale.data() + cf, shift.data() + cf, w.len,
              w.width);
    store(dst, o, w.len, w.width, ys);
  };

#pragma omp parallel
  {
    Buffers t(c);
#pragma omp for schedule(static)
    for (std::int64_t image = 0; image < n; ++image) first_pixel(image, t);
#pragma omp for schedule(static)
    for (std::int64_t u = 0; u < n * per_image; ++u) stats(u, t);
#pragma omp for schedule(static)
    for (std::int64_t image = 0; image < n; ++image) combine(image);
#pragma omp for schedule(static)
    for (std::int64_t u = 0; u < n * per_image; ++u) apply(u, t);
  }
}

}  // namespace visbone::bit
