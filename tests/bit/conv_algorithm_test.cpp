// The fp32 convolution algorithm: auto (the default: Winograd wherever oneDNN has it, columns for strided
// convolutions of 256 channels or more), direct and winograd all reproduce the references within the parity
// suite's 1e-4; Winograd and columns run one image at a time, so an image's bits do not depend on its batch
// or on the thread count.
#include <gtest/gtest.h>
#include <omp.h>

#include <random>

#include "fixtures.h"
#include "support/winograd.h"
#include "visbone/bit/bit_backbone.h"
#include "visbone/bit/feature_map.h"
#include "visbone/core/checkpoint.h"
#include "visbone/core/safetensors.h"

namespace visbone {
namespace {

using bit::ConvAlgorithm;
using testing::model_dir;

std::unique_ptr<bit::BitModel> bit50(ConvAlgorithm a) {
  auto ckpt = Checkpoint::open(model_dir("bit-50-random-fp16"));
  auto model = std::make_unique<bit::BitModel>(bit::BitConfig::from_json(ckpt.config(), "bit-50"), ckpt);
  model->set_algorithm(a);
  return model;
}

bit::BitResult run(bit::BitModel& model, const Tensor& pixels, int threads) {
  const int before = omp_get_max_threads();
  omp_set_num_threads(threads);
  bit::BitRequest req;
  req.stages = {1, 2, 3, 4};
  req.logits = true;
  auto r = model.forward(pixels, req);
  omp_set_num_threads(before);
  return r;
}

TEST(ConvAlgorithm, Names) {
  for (const auto a : {ConvAlgorithm::Auto, ConvAlgorithm::Direct, ConvAlgorithm::Winograd})
    EXPECT_EQ(bit::parse_conv_algorithm(bit::to_string(a)), a);
  EXPECT_FALSE(bit::parse_conv_algorithm("fft"));
}

TEST(ConvAlgorithm, EveryChoiceIsExact) {
  const auto ref = SafetensorsFile::open(model_dir("bit-50-random-fp16") / "reference.safetensors");
  const Tensor pixels = ref.load("chelsea.pixel_values"), expected = ref.load("chelsea.logits");
  for (const auto a : {ConvAlgorithm::Direct, ConvAlgorithm::Winograd, ConvAlgorithm::Auto})
    EXPECT_TRUE(testing::near(run(*bit50(a), pixels, 2).logits, expected, testing::kF32Tolerance)) << bit::to_string(a);
}

// R50 has 13 stride-1 3x3 convolutions (3 of 64 channels, 3 of 128, 5 of 256, 2 of 512), and oneDNN has
// Winograd for each on AVX-512: auto and winograd run it for all 13, direct for none.
TEST(ConvAlgorithm, WinogradReallyRunsWhereTheAlgorithmSaysSo) {
  if (!testing::cpu_has_winograd()) GTEST_SKIP() << testing::kNoWinograd;
  const Tensor pixels({1, 3, 224, 224});
  for (const auto& [a, expected] :
       {std::pair{ConvAlgorithm::Winograd, 13}, {ConvAlgorithm::Auto, 13}, {ConvAlgorithm::Direct, 0}}) {
    auto model = bit50(a);
    run(*model, pixels, 2);
    EXPECT_EQ(model->winograd_primitives(), expected) << bit::to_string(a);
  }
}

// R50's stride-2 3x3 convolutions of 256 and 512 channels (stages 3 and 4) run on columns under auto and
// winograd on AVX-512 (where the rule was measured); the 128-channel one (stage 2), everything under direct
// and everything below AVX-512 do not.
TEST(ConvAlgorithm, ColumnsRunWhereTheRuleSaysSo) {
  const Tensor pixels({1, 3, 224, 224});
  const int avx512 = testing::cpu_has_winograd() ? 1 : 0;
  for (const auto& [a, expected] :
       {std::pair{ConvAlgorithm::Auto, 2 * avx512}, {ConvAlgorithm::Winograd, 2 * avx512}, {ConvAlgorithm::Direct, 0}}) {
    auto model = bit50(a);
    run(*model, pixels, 2);
    EXPECT_EQ(model->column_primitives(), expected) << bit::to_string(a);
  }
}

// A batch holds one primitive per convolution, as one image does: a convolution that runs image by image
// (Winograd, columns) holds only its one-image primitive, and one whose shape has no Winograd on this CPU only
// its batch's (ctest runs this again under ONEDNN_MAX_CPU_ISA=AVX2, where oneDNN has no Winograd: the
// one-image probe used to stay in the cache beside it, taking half of its primitive_cache slots).
TEST(ConvAlgorithm, ABatchHoldsOnePrimitivePerConvolution) {
  auto one = bit50(ConvAlgorithm::Auto);
  run(*one, Tensor({1, 3, 96, 96}), 2);
  const int convolutions = one->primitives();
  auto model = bit50(ConvAlgorithm::Auto);
  run(*model, Tensor({3, 3, 96, 96}), 2);
  EXPECT_EQ(model->primitives(), convolutions);
  run(*model, Tensor({3, 3, 96, 96}), 2);  // and not on the next pass either
  EXPECT_EQ(model->primitives(), convolutions);
  EXPECT_EQ(model->winograd_primitives(), testing::cpu_has_winograd() ? one->winograd_primitives() : 0);
  // And none of them is oneDNN's reference kernel (below AVX-512 the maps are reordered to what its AVX2
  // kernels read; before, every convolution ran the reference kernel there, about 100x slower).
  EXPECT_EQ(model->reference_primitives(), 0);
  EXPECT_EQ(one->reference_primitives(), 0);
}

// Naive double-precision convolution of a (N, C, H, W) input, and per output the sum of |w * x| (what an fp32
// sum's rounding error scales with).
struct Reference {
  Tensor out, magnitude;
};
Reference naive_conv(const Tensor& x, const Tensor& w, int stride, int dilation, bit::Pad1d ph, bit::Pad1d pw,
                     std::int64_t oh, std::int64_t ow) {
  const auto n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3), o = w.dim(0), k = w.dim(2);
  Reference r{Tensor({n, o, oh, ow}), Tensor({n, o, oh, ow})};
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t m = 0; m < o; ++m)
      for (std::int64_t y = 0; y < oh; ++y)
        for (std::int64_t z = 0; z < ow; ++z) {
          double sum = 0, mag = 0;
          for (std::int64_t i = 0; i < c; ++i)
            for (std::int64_t ky = 0; ky < k; ++ky)
              for (std::int64_t kx = 0; kx < k; ++kx) {
                const auto iy = y * stride + ky * dilation - ph.before, ix = z * stride + kx * dilation - pw.before;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const double t = static_cast<double>(w.data()[((m * c + i) * k + ky) * k + kx]) *
                                 x.data()[((b * c + i) * h + iy) * wd + ix];
                sum += t;
                mag += std::abs(t);
              }
          r.out.data()[((b * o + m) * oh + y) * ow + z] = static_cast<float>(sum);
          r.magnitude.data()[((b * o + m) * oh + y) * ow + z] = static_cast<float>(mag);
        }
  return r;
}

// The columns algorithm is the convolution: strides 2 and 3, dilation 2, TF-SAME's asymmetric padding, an odd
// non-square input, the residual add (accumulate), a batch of 3: every output within fp32's rounding of a
// naive double-precision reference (1e-5 of the sum of |w * x|), and each image of the batch the same to the
// bit as the image alone.
TEST(ConvAlgorithm, ColumnsAreTheConvolution) {
  std::mt19937 rng(11);
  std::normal_distribution<float> d(0.0f, 1.0f);
  Tensor x({3, 256, 13, 10}), w({32, 256, 3, 3});
  for (float& v : x) v = d(rng);
  for (float& v : w) v = d(rng);
  dnnl::stream s(bit::cpu_engine());
  struct Case { int stride, dilation; bit::Padding padding; };
  for (const auto& [stride, dilation, padding] :
       {Case{2, 1, bit::Padding::Default}, Case{2, 1, bit::Padding::Same}, Case{3, 2, bit::Padding::Same},
        Case{2, 2, bit::Padding::Default}}) {
    const std::string what = "stride " + std::to_string(stride) + " dilation " + std::to_string(dilation) +
                             (padding == bit::Padding::Same ? " SAME" : "");
    bit::WsConv conv(w, stride, dilation, padding);
    conv.set_algorithm(ConvAlgorithm::Auto);
    const auto [oh, ow] = conv.out_size(13, 10, "conv");
    const auto ref = naive_conv(x, bit::standardize_weight(w, 1e-8), stride, dilation,
                                bit::conv_padding(padding, 3, stride, dilation, 13),
                                bit::conv_padding(padding, 3, stride, dilation, 10), oh, ow);
    const auto input = bit::to_blocked(x, s);
    for (const bool accumulate : {false, true}) {
      auto out = bit::FeatureMap::zeros(3, 32, oh, ow);
      if (accumulate) std::fill(out.data.begin(), out.data.end(), 1.0f);  // dst += conv
      conv.run(input.memory(), out, accumulate, s);
      const Tensor got = bit::to_nchw(out, s);
      for (std::int64_t i = 0; i < got.numel(); ++i) {
        const double err = std::abs(got.data()[i] - (ref.out.data()[i] + (accumulate ? 1.0 : 0.0)));
        if (!(err <= 1e-5 * (ref.magnitude.data()[i] + 1.0))) {
          ADD_FAILURE() << what << (accumulate ? " accumulate" : "") << ": output " << i << " is " << got.data()[i]
                        << ", the reference " << ref.out.data()[i];
          break;
        }
      }
      if (testing::cpu_has_winograd()) EXPECT_GT(conv.column_primitives(), 0) << what;  // AVX-512 (else direct)
      if (accumulate) continue;
      for (std::int64_t i = 0; i < 3; ++i) {
        auto alone = bit::FeatureMap::zeros(1, 32, oh, ow);
        conv.run(bit::to_blocked(x.slice(i, i + 1), s).memory(), alone, false, s);
        EXPECT_TRUE(testing::identical(bit::to_nchw(alone, s), got.slice(i, i + 1))) << what << " image " << i;
      }
    }
  }
}

// Three different images at an odd, non-square size: each row of the batch equals the image run alone, bit for
// bit, at 1, 2 and 3 threads, with Winograd forced (the default's exactness across batches and threads; with
// columns too). Below AVX-512, where oneDNN has neither, the same holds for the direct kernels and reorders.
TEST(ConvAlgorithm, WinogradIsTheSameForAnImageInAnyBatchAndAtAnyThreadCount) {
  const bool avx512 = testing::cpu_has_winograd();
  auto model = bit50(ConvAlgorithm::Winograd);
  Tensor batch({3, 3, 90, 122});
  std::mt19937 rng(7);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (float& v : batch) v = d(rng);
  const auto together = run(*model, batch, 2);
  EXPECT_EQ(model->winograd_primitives() > 0, avx512);
  EXPECT_EQ(model->column_primitives() > 0, avx512);
  for (int threads : {1, 2, 3})
    for (std::int64_t i = 0; i < 3; ++i) {
      const auto alone = run(*model, batch.slice(i, i + 1), threads);
      const std::string what = "image " + std::to_string(i) + ", " + std::to_string(threads) + " threads";
      EXPECT_TRUE(testing::identical(alone.logits, together.logits.slice(i, i + 1))) << what;
      for (const int s : {1, 2, 3, 4})
        EXPECT_TRUE(testing::identical(alone.stages.at(s), together.stages.at(s).slice(i, i + 1))) << what << " stage " << s;
    }
}

}  // namespace
}  // namespace visbone
