#include "visbone/core/dtype.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace visbone {
namespace {

TEST(DType, NamesRoundTrip) {
  for (const char* n : {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"}) {
    const auto d = dtype_from_name(n);
    ASSERT_TRUE(d.has_value()) << n;
    EXPECT_EQ(dtype_name(*d), n);
  }
  EXPECT_FALSE(dtype_from_name("F8_E4M3").has_value());
  EXPECT_EQ(dtype_size(DType::BF16), 2u);
}

TEST(DType, HalfKnownValues) {
  EXPECT_EQ(half_to_float(0x3c00), 1.0f);
  EXPECT_EQ(half_to_float(0xc000), -2.0f);
  EXPECT_EQ(half_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(half_to_float(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_TRUE(std::isinf(half_to_float(0x7c00)));
  EXPECT_TRUE(std::isnan(half_to_float(0x7e00)));
  EXPECT_TRUE(std::signbit(half_to_float(0x8000)));
}

// Every non-nan half pattern converts to float and back to the same bits: the conversion is exact.
TEST(DType, HalfRoundTripsEveryPattern) {
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const float f = half_to_float(static_cast<std::uint16_t>(b));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_half(f), b) << std::hex << b;
  }
}

TEST(DType, BFloat16RoundTripsEveryPattern) {
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const float f = bfloat16_to_float(static_cast<std::uint16_t>(b));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_bfloat16(f), b) << std::hex << b;
  }
}

TEST(DType, FloatToHalfRoundsToNearestEven) {
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie -> even
  EXPECT_EQ(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(float_to_half(70000.0f), 0x7c00);
}

TEST(DType, ConvertToF32AllTypes) {
  std::vector<float> out(3);
  const double d[] = {1.5, -2.25, 1e10};
  convert_to_f32(d, DType::F64, 3, out.data());
  EXPECT_EQ(out, (std::vector<float>{1.5f, -2.25f, 1e10f}));
  const std::int64_t i64[] = {-5, 0, 1LL << 40};
  convert_to_f32(i64, DType::I64, 3, out.data());
  EXPECT_EQ(out, (std::vector<float>{-5.f, 0.f, std::ldexp(1.0f, 40)}));
  const std::int32_t i32[] = {-7, 3, 100000};
  convert_to_f32(i32, DType::I32, 3, out.data());
  EXPECT_EQ(out, (std::vector<float>{-7.f, 3.f, 100000.f}));
  const std::int16_t i16[] = {-32768, 1, 32767};
  convert_to_f32(i16, DType::I16, 3, out.data());
  EXPECT_EQ(out, (std::vector<float>{-32768.f, 1.f, 32767.f}));
  const std::int8_t i8[] = {-128, 0, 127};
  convert_to_f32(i8, DType::I8, 3, out.data());
  EXPECT_EQ(out, (std::vector<float>{-128.f, 0.f, 127.f}));
  const std::uint8_t u8[] = {0, 128, 255};
  convert_to_f32(u8, DType::U8, 3, out.data());
  EXPECT_EQ(out, (std::vector<float>{0.f, 128.f, 255.f}));
  const std::uint16_t h[] = {0x3c00, 0xbc00, 0x3800};
  convert_to_f32(h, DType::F16, 3, out.data());
  EXPECT_EQ(out, (std::vector<float>{1.f, -1.f, 0.5f}));
  const std::uint16_t bf[] = {0x3f80, 0xc000, 0x3f00};
  convert_to_f32(bf, DType::BF16, 3, out.data());
  EXPECT_EQ(out, (std::vector<float>{1.f, -2.f, 0.5f}));
}

TEST(DType, ConvertHandlesMisalignedSource) {
  unsigned char buf[1 + 3 * 4];
  const float vals[] = {1.25f, -3.0f, 7.5f};
  std::memcpy(buf + 1, vals, sizeof(vals));
  std::vector<float> out(3);
  convert_to_f32(buf + 1, DType::F32, 3, out.data());
  EXPECT_EQ(out, (std::vector<float>{1.25f, -3.0f, 7.5f}));
}

}  // namespace
}  // namespace visbone
