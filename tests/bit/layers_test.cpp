// The BiT layers in isolation, against their formulas and naive references.
#include <gtest/gtest.h>

#include <omp.h>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "visbone/bit/activation.h"
#include "visbone/bit/group_norm_act.h"
#include "visbone/bit/max_pool.h"
#include "visbone/bit/ws_conv.h"
#include "visbone/core/errors.h"

namespace visbone::bit {
namespace {

TEST(Activation, SeluFollowsItsFormula) {
  const double scale = 1.0507009873554805, alpha = 1.6732632423543772;
  for (double x : {-5.0, -1.0, -0.1, 0.0, 0.3, 2.0}) {
    const double expected = x > 0 ? scale * x : scale * alpha * (std::exp(x) - 1.0);
    EXPECT_NEAR(selu(static_cast<float>(x)), expected, 1e-6 * std::max(1.0, std::fabs(expected))) << x;
  }
}

TEST(Activation, GeluNewIsTheTanhApproximation) {
  for (double x : {-4.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0}) {
    const double expected = 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    EXPECT_NEAR(gelu_new(static_cast<float>(x)), expected, 1e-6) << x;
  }
  // It differs from the exact GELU, which is what transformers' "gelu" is.
  EXPECT_GT(std::fabs(gelu_new(-1.5f) - gelu(-1.5f)), 1e-5);
  EXPECT_NEAR(gelu(1.0f), 0.8413447460685429, 1e-6);
}

// Reads element (b, c, y, x) of a blocked map.
float& at(FeatureMap& m, std::int64_t b, std::int64_t c, std::int64_t y, std::int64_t x) {
  return m.data.data()[(((b * m.blocks() + c / kBlock) * m.h + y) * m.w + x) * kBlock + c % kBlock];
}

TEST(GroupNormAct, MatchesNaiveReferenceWithResidualAndLargeMean) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const std::int64_t n = 2, c = 24, h = 5, w = 3;
  const int groups = 4;
  auto x = FeatureMap::zeros(n, c, h, w), res = FeatureMap::zeros(n, c, h, w);
  Tensor gamma({c}), beta({c});
  for (std::int64_t i = 0; i < c; ++i) {
    gamma.data()[i] = 1.0f + 0.1f * dist(rng);
    beta.data()[i] = 0.1f * dist(rng);
  }
  // A mean of 1000 against a spread of 0.01: a one-pass E[x^2]-E[x]^2 in float would lose every digit.
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t ch = 0; ch < c; ++ch)
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t xx = 0; xx < w; ++xx) {
          at(x, b, ch, y, xx) = 1000.0f + 0.01f * dist(rng);
          at(res, b, ch, y, xx) = dist(rng);
        }
  GroupNormAct gn(gamma, beta, groups, Act::Relu);
  auto y = FeatureMap::zeros(n, c, h, w);
  gn.run(x, y, &res);

  const std::int64_t per = c / groups;
  for (std::int64_t b = 0; b < n; ++b)
    for (int g = 0; g < groups; ++g) {
      double mean = 0, var = 0;
      for (std::int64_t ch = g * per; ch < (g + 1) * per; ++ch)
        for (std::int64_t i = 0; i < h * w; ++i) mean += at(x, b, ch, i / w, i % w);
      mean /= static_cast<double>(per * h * w);
      for (std::int64_t ch = g * per; ch < (g + 1) * per; ++ch)
        for (std::int64_t i = 0; i < h * w; ++i) var += std::pow(at(x, b, ch, i / w, i % w) - mean, 2);
      var /= static_cast<double>(per * h * w);
      for (std::int64_t ch = g * per; ch < (g + 1) * per; ++ch)
        for (std::int64_t i = 0; i < h * w; ++i) {
          const double v = (at(x, b, ch, i / w, i % w) - mean) / std::sqrt(var + 1e-5) * gamma.data()[ch] +
                           beta.data()[ch] + at(res, b, ch, i / w, i % w);
          // Outputs of magnitude ~3 in float32: a few ulps (2.4e-7 each) of rounding, whatever the mean.
          EXPECT_NEAR(at(y, b, ch, i / w, i % w), std::max(v, 0.0), 2e-6) << b << " " << ch << " " << i;
        }
    }
  // The padding lanes (channels 24..31 of the second block) stay zero.
  for (std::int64_t i = 0; i < h * w; ++i) EXPECT_EQ(y.data.data()[((1 * h * w) + i) * kBlock + 15], 0.0f);
}

TEST(MaxPool, PadsWithZerosNotMinusInfinity) {
  auto x = FeatureMap::zeros(1, 1, 4, 4);
  for (std::int64_t i = 0; i < 16; ++i) at(x, 0, 0, i / 4, i % 4) = -1.0f - static_cast<float>(i);
  // ConstantPad2d(1, 0) then MaxPool(3, 2): every window touches the zero border except none here.
  auto y = zero_pad_max_pool(x, {1, 1}, {1, 1}, 3, 2);
  ASSERT_EQ(y.h, 2);
  ASSERT_EQ(y.w, 2);
  EXPECT_EQ(at(y, 0, 0, 0, 0), 0.0f);
  EXPECT_EQ(at(y, 0, 0, 1, 1), -1.0f - 5.0f);  // window rows 1..3, cols 1..3 of the padded map: all real
  // Without padding the maximum of real values wins.
  auto z = zero_pad_max_pool(x, {0, 0}, {0, 0}, 3, 2);
  ASSERT_EQ(z.h, 1);
  EXPECT_EQ(at(z, 0, 0, 0, 0), -1.0f);
  EXPECT_THROW(zero_pad_max_pool(x, {0, 0}, {0, 0}, 5, 2), Error);
  // Dynamic SAME padding puts the odd pixel after: windows reaching one pixel past the right or the bottom
  // edge see a zero, the others only real values.
  auto r = zero_pad_max_pool(x, {0, 1}, {0, 1}, 3, 2);
  ASSERT_EQ(r.h, 2);
  ASSERT_EQ(r.w, 2);
  EXPECT_EQ(at(r, 0, 0, 0, 0), -1.0f);
  EXPECT_EQ(at(r, 0, 0, 0, 1), 0.0f);
  EXPECT_EQ(at(r, 0, 0, 1, 0), 0.0f);
}

// A random map of the given layout and type, and its values as (N, C, H, W) floats.
FeatureMap random_map(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, DataType type,
                      Layout layout, const Tensor& values, dnnl::stream& s) {
  auto m = FeatureMap::zeros(n, c, h, w, type, layout);
  dnnl::memory from(nchw_desc(values.shape()), cpu_engine(), const_cast<float*>(values.data()));
  auto to = m.memory();
  dnnl::reorder(from, to).execute(s, from, to);
  s.wait();
  return m;
}

// Channels-last maps (the bf16 pass's on AMX) go through every layer to the very bits the blocked ones give,
// in fp32 and bf16, for channel counts that make items of one block, a group's blocks and several groups'
// blocks, and chunks of a pixel's channels, whole and partial (8448: more channels than a run's buffer
// holds floats). On 2 threads one image is split by runs of pixels (9 x 15: the last run partial), two by
// items.
TEST(Layouts, ChannelsLastGivesTheBlockedBitsInEveryLayer) {
  dnnl::stream s(cpu_engine());
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  struct Threads {
    int before = omp_get_max_threads();
    Threads() { omp_set_num_threads(2); }
    ~Threads() { omp_set_num_threads(before); }
  } two;
  for (const std::int64_t n : {1, 2})
    for (const std::int64_t c : {32, 64, 256, 1024, 1152, 8448})
      for (const DataType type : {DataType::f32, DataType::bf16}) {
        const std::int64_t h = 9, w = 15;
        Tensor x({n, c, h, w}), r({n, c, h, w}), gamma({c}), beta({c});
        for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = 3.0f + dist(rng), r.data()[i] = dist(rng);
        for (std::int64_t i = 0; i < c; ++i)
          gamma.data()[i] = 1.0f + 0.1f * dist(rng), beta.data()[i] = dist(rng);
        const GroupNormAct gn(gamma, beta, 32, Act::Relu);
        std::map<Layout, std::vector<Tensor>> outputs;
        for (const Layout layout : {Layout::Blocked, Layout::ChannelsLast}) {
          const auto mx = random_map(n, c, h, w, type, layout, x, s),
                     mr = random_map(n, c, h, w, type, layout, r, s);
          ASSERT_EQ(mx.layout, layout);
          auto y = FeatureMap::zeros(n, c, h, w, type, layout);
          gn.run(mx, y, &mr);
          auto& out = outputs[layout];
          out.push_back(to_nchw(y, s));
          out.push_back(to_nchw(zero_pad(y, {1, 2}, {0, 1}), s));
          out.push_back(to_nchw(zero_pad_max_pool(y, {0, 1}, {1, 1}, 3, 2), s));
        }
        for (std::size_t i = 0; i < outputs[Layout::Blocked].size(); ++i) {
          const Tensor &a = outputs[Layout::Blocked][i], &b = outputs[Layout::ChannelsLast][i];
          ASSERT_EQ(a.shape(), b.shape());
          EXPECT_EQ(std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.numel()) * sizeof(float)), 0)
              << "output " << i << " of " << n << " x " << c << " channels, "
              << (type == DataType::bf16 ? "bf16" : "f32");
        }
      }
  // Channels that do not fill whole blocks stay blocked.
  EXPECT_EQ(FeatureMap::zeros(1, 24, 2, 2, DataType::f32, Layout::ChannelsLast).layout, Layout::Blocked);
}

TEST(ConvPadding, FollowsTransformersGetPaddingValue) {
  // Default: ((stride - 1) + dilation * (k - 1)) // 2 on both sides.
  EXPECT_EQ(conv_padding(Padding::Default, 7, 2, 1, 224).before, 3);
  EXPECT_EQ(conv_padding(Padding::Default, 3, 2, 1, 56).after, 1);
  EXPECT_EQ(conv_padding(Padding::Default, 1, 2, 1, 56).before, 0);
  // SAME, static when stride 1 and the dilated kernel is odd.
  EXPECT_EQ(conv_padding(Padding::Same, 3, 1, 2, 9).before, 2);
  // SAME, dynamic: total = max((ceil(x / s) - 1) * s + (k - 1) * d + 1 - x, 0), split low half first.
  const Pad1d p = conv_padding(Padding::Same, 7, 2, 1, 70);  // (35 - 1) * 2 + 7 - 70 = 5
  EXPECT_EQ(p.before, 2);
  EXPECT_EQ(p.after, 3);
  EXPECT_EQ(conv_padding(Padding::Same, 1, 2, 1, 57).after, 0);
  EXPECT_EQ(conv_padding(Padding::Valid, 3, 1, 1, 9).before, 0);
  EXPECT_EQ(conv_out_size(70, p, 7, 2, 1), 35);
}

TEST(WeightStandardization, ZeroMeanUnitVariancePerOutputChannel) {
  Tensor w({2, 3, 1, 1});
  const float vals[] = {1, 2, 3, 10, 10, 13};
  std::copy(vals, vals + 6, w.data());
  const Tensor s = standardize_weight(w, 1e-8);
  for (int o = 0; o < 2; ++o) {
    double mean = 0, var = 0;
    for (int i = 0; i < 3; ++i) mean += s.data()[o * 3 + i];
    for (int i = 0; i < 3; ++i) var += std::pow(s.data()[o * 3 + i] - mean / 3, 2);
    EXPECT_NEAR(mean / 3, 0.0, 1e-6);
    EXPECT_NEAR(var / 3, 1.0, 1e-6);  // biased variance, as torch's batch_norm(training=True)
  }
  EXPECT_NEAR(s.data()[0], -1.0 / std::sqrt(2.0 / 3.0), 1e-6);
}

TEST(BufferPool, ReusesReturnedBuffersAndOutlivesItsOwner) {
  auto pool = std::make_shared<BufferPool>();
  float* first = nullptr;
  {
    Tensor t = pool->take({2, 3, 64});
    first = t.data();
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(first) % 64, 0u);
  }
  EXPECT_EQ(pool->free_bytes(), 2u * 3 * 64 * sizeof(float));
  Tensor again = pool->take({6, 64});  // same size: the same block
  EXPECT_EQ(again.data(), first);
  EXPECT_EQ(pool->free_bytes(), 0u);
  Tensor other = pool->take({5});
  EXPECT_NE(other.data(), first);
  pool.reset();  // the tensors keep the pool alive until they are gone
  again.data()[0] = 1.0f;
}

// A smaller request takes the smallest free buffer that fits and is less than twice its size (a batch of 12
// in a batch of 16's buffers), and returns it at its own size; a request under half a free buffer's size, or
// over it, gets a new one.
TEST(BufferPool, SmallerRequestsReuseBuffersOfUnderTwiceTheirSize) {
  auto pool = std::make_shared<BufferPool>();
  float *b16 = nullptr, *b40 = nullptr;
  {
    Tensor t16 = pool->take({16, 64}), t40 = pool->take({40, 64});
    b16 = t16.data();
    b40 = t40.data();
  }
  EXPECT_EQ(pool->free_bytes(), 56u * 64 * sizeof(float));
  {
    Tensor t12 = pool->take({12, 64});  // 16 and 40 fit; 16 is the smaller, under twice 12
    EXPECT_EQ(t12.data(), b16);
    EXPECT_EQ(t12.shape(), (Shape{12, 64}));
    EXPECT_EQ(pool->free_bytes(), 40u * 64 * sizeof(float));
    Tensor t7 = pool->take({7, 64});  // 40 is more than twice 7: a new buffer
    EXPECT_NE(t7.data(), b40);
    Tensor t41 = pool->take({41, 64});  // nothing fits
    EXPECT_NE(t41.data(), b40);
  }
  // Every buffer came back at its own size: 16 + 40 + 7 + 41.
  EXPECT_EQ(pool->free_bytes(), (16u + 40 + 7 + 41) * 64 * sizeof(float));
  Tensor t30 = pool->take({30, 64});  // 40 and 41 fit: the smaller
  EXPECT_EQ(t30.data(), b40);
}

}  // namespace
}  // namespace visbone::bit
