// The comparison helper every tensor test relies on: it must fail on what would hide a wrong result.
#include "support/tensor_compare.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace visbone {
namespace {

Tensor of(std::initializer_list<float> values, Shape shape = {}) {
  Tensor t(shape.empty() ? Shape{static_cast<std::int64_t>(values.size())} : shape);
  std::int64_t i = 0;
  for (float v : values) t.data()[i++] = v;
  return t;
}

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(TensorCompare, IdenticalNeedsTheSameBitsAndShape) {
  EXPECT_TRUE(testing::identical(of({1.0f, -2.5f, 0.0f}), of({1.0f, -2.5f, 0.0f})));
  EXPECT_FALSE(testing::identical(of({1.0f, -2.5f, 0.0f}), of({1.0f, -2.5f, std::nextafter(0.0f, 1.0f)})));
  EXPECT_FALSE(testing::identical(of({0.0f}), of({-0.0f})));  // equal as floats, not the same bits
  EXPECT_FALSE(testing::identical(of({1, 2, 3, 4}, {2, 2}), of({1, 2, 3, 4}, {4})));
}

// NaN on both sides has the same bits, and memcmp called it identical: a backbone emitting NaN everywhere
// matched itself at every batch size.
TEST(TensorCompare, NaNOrInfFailsEveryComparisonEvenOnBothSides) {
  for (float bad : {kNaN, -kNaN, kInf, -kInf}) {
    const Tensor x = of({1.0f, bad, 3.0f});
    EXPECT_FALSE(testing::identical(x, x)) << bad;
    EXPECT_FALSE(testing::identical(x, of({1.0f, 2.0f, 3.0f}))) << bad;
    EXPECT_FALSE(testing::identical(of({1.0f, 2.0f, 3.0f}), x)) << bad;
    EXPECT_FALSE(testing::near(x, x, 1.0)) << bad;
    EXPECT_FALSE(testing::near(x, of({1.0f, 2.0f, 3.0f}), 1.0)) << bad;
    EXPECT_FALSE(testing::differs(x, of({1.0f, 2.0f, 30.0f}), 0.0)) << bad;
    EXPECT_TRUE(std::isnan(testing::error_over_std(x, x))) << bad;
  }
}

TEST(TensorCompare, NearAndDiffersAreRelativeToTheLargestReferenceValue) {
  const Tensor ref = of({10.0f, -1.0f});
  EXPECT_TRUE(testing::near(of({10.0f, -1.0009f}), ref, testing::kF32Tolerance));  // 9e-4 / 10
  EXPECT_FALSE(testing::near(of({10.0f, -1.0011f}), ref, testing::kF32Tolerance));
  EXPECT_TRUE(testing::differs(of({10.0f, -1.0011f}), ref, testing::kF32Tolerance));
  EXPECT_FALSE(testing::differs(ref, ref, 0.0));
  EXPECT_FALSE(testing::near(of({10.0f, -1.0f}), of({10.0f, -1.0f, 0.0f}), 1.0));  // shapes differ
}

}  // namespace
}  // namespace visbone
