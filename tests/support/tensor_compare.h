// The one way tensor tests compare a result with a reference. Errors are stated relative to the reference's
// largest magnitude (max |ours - ref| / max |ref|), the figure transformers' parity is quoted in. A NaN or Inf
// on either side, or a shape mismatch, fails every comparison (std::max(d, NaN) would silently drop it).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>

#include "visbone/core/dtype.h"
#include "visbone/core/tensor.h"

namespace visbone::testing {

// The tolerances, justified by how the reference is stored. Our fp32 path lands ~3e-6 from transformers'
// float32 outputs; 1e-4 is the project's stated budget (README, "Tests that fail when the product is wrong").
inline constexpr double kF32Tolerance = 1e-4;
// A reference stored as float16 (11 significant bits, round to nearest) is off by at most 2^-11 of a value,
// so by at most 2^-11 of the largest one; bfloat16 (8 bits) by 2^-8. Plus the float32 budget.
inline constexpr double kF16Tolerance = kF32Tolerance + 0x1p-11;
inline constexpr double kBF16Tolerance = kF32Tolerance + 0x1p-8;

// The tolerance for a reference stored as `dtype`.
inline double tolerance_for(DType stored) {
  if (stored == DType::F16) return kF16Tolerance;
  if (stored == DType::BF16) return kBF16Tolerance;
  return kF32Tolerance;
}

struct Difference {
  bool same_shape = true;
  std::int64_t nonfinite = -1;  // the first index holding NaN/Inf on either side, -1 when none
  bool nonfinite_in_ours = false;
  double max_abs = 0.0;         // max |ours - ref|
  double scale = 0.0;           // max |ref|
  std::int64_t worst = -1;      // where max_abs is reached
  double max_rel() const { return scale > 0 ? max_abs / scale : max_abs; }
  bool finite() const { return same_shape && nonfinite < 0; }
};

inline Difference difference(const Tensor& ours, const Tensor& ref) {
  Difference d;
  if (ours.shape() != ref.shape()) {
    d.same_shape = false;
    return d;
  }
  for (std::int64_t i = 0; i < ref.numel(); ++i) {
    const double a = ours.data()[i], b = ref.data()[i];
    if (!std::isfinite(a) || !std::isfinite(b)) {
      d.nonfinite = i;
      d.nonfinite_in_ours = !std::isfinite(a);
      return d;
    }
    if (std::fabs(a - b) > d.max_abs || d.worst < 0) {
      d.max_abs = std::fabs(a - b);
      d.worst = i;
    }
    if (std::fabs(b) > d.scale) d.scale = std::fabs(b);
  }
  return d;
}

inline std::string describe(const Difference& d, const Tensor& ours, const Tensor& ref) {
  std::ostringstream s;
  if (!d.same_shape) {
    s << "shapes differ: ours " << shape_str(ours.shape()) << ", reference " << shape_str(ref.shape());
  } else if (d.nonfinite >= 0) {
    s << "non-finite value in " << (d.nonfinite_in_ours ? "ours" : "the reference") << " at index "
      << d.nonfinite << " (ours " << ours.data()[d.nonfinite] << ", reference " << ref.data()[d.nonfinite] << ")";
  } else {
    s << "max abs " << d.max_abs << ", max rel " << d.max_rel() << " (of max |ref| " << d.scale << ")";
    if (d.worst >= 0)
      s << ", worst at index " << d.worst << ": ours " << ours.data()[d.worst] << ", reference "
        << ref.data()[d.worst];
  }
  return s.str();
}

// Within `tolerance` (relative to max |ref|), same shape, all finite.
inline ::testing::AssertionResult near(const Tensor& ours, const Tensor& ref, double tolerance) {
  const Difference d = difference(ours, ref);
  if (d.finite() && d.max_rel() <= tolerance)
    return ::testing::AssertionSuccess() << describe(d, ours, ref);
  return ::testing::AssertionFailure() << describe(d, ours, ref) << "; tolerance " << tolerance;
}

// Further apart than `at_least` (relative), same shape, all finite: for tests proving two things differ.
inline ::testing::AssertionResult differs(const Tensor& ours, const Tensor& ref, double at_least) {
  const Difference d = difference(ours, ref);
  if (d.finite() && d.max_rel() > at_least) return ::testing::AssertionSuccess() << describe(d, ours, ref);
  return ::testing::AssertionFailure() << describe(d, ours, ref) << "; expected a difference over " << at_least;
}

// The cosine similarity of elements [first, first + count) of two tensors (all of them when count < 0), in
// double; NaN when either side holds one (every comparison with it fails).
inline double cosine(const Tensor& a, const Tensor& b, std::int64_t first = 0, std::int64_t count = -1) {
  if (count < 0) count = a.numel();
  double ab = 0, aa = 0, bb = 0;
  for (std::int64_t i = first; i < first + count; ++i) {
    ab += static_cast<double>(a.data()[i]) * b.data()[i];
    aa += static_cast<double>(a.data()[i]) * a.data()[i];
    bb += static_cast<double>(b.data()[i]) * b.data()[i];
  }
  if (std::isnan(ab) || std::isnan(aa) || std::isnan(bb)) return std::nan("");
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
}

// max |ours - ref| / std(ref) (the sample standard deviation): an error stated against the reference's
// spread, as for logits. NaN for a shape mismatch or a NaN/Inf on either side.
inline double error_over_std(const Tensor& ours, const Tensor& ref) {
  const Difference d = difference(ours, ref);
  if (!d.finite() || ref.numel() < 2) return std::nan("");
  double mean = 0, var = 0;
  for (std::int64_t i = 0; i < ref.numel(); ++i) mean += ref.data()[i];
  mean /= static_cast<double>(ref.numel());
  for (std::int64_t i = 0; i < ref.numel(); ++i) var += (ref.data()[i] - mean) * (ref.data()[i] - mean);
  return d.max_abs / std::sqrt(var / static_cast<double>(ref.numel() - 1));
}

// Same shape, all finite and the same bits in every element (NaN on both sides is not "identical").
inline ::testing::AssertionResult identical(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure() << "shapes " << shape_str(a.shape()) << " and " << shape_str(b.shape());
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    const float x = a.data()[i], y = b.data()[i];
    if (!std::isfinite(x) || !std::isfinite(y))
      return ::testing::AssertionFailure() << "non-finite value at index " << i << ": " << x << " vs " << y;
    if (std::memcmp(&x, &y, sizeof(float)) != 0)
      return ::testing::AssertionFailure() << "first difference at index " << i << ": " << x << " vs " << y;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace visbone::testing
