// The fp32 convolution algorithm: auto (the default: Winograd wherever oneDNN has it), direct and winograd
// all reproduce the references within the parity suite's 1e-4; Winograd runs one image at a time, so an
// image's bits do not depend on its batch or on the thread count.
#include <gtest/gtest.h>
#include <omp.h>

#include <random>

#include "fixtures.h"
#include "support/winograd.h"
#include "visbone/bit/bit_backbone.h"
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
  req.stages = {1, 2};
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

// Three different images at an odd, non-square size: each row of the batch equals the image run alone, bit for
// bit, at 1, 2 and 3 threads, with Winograd forced (the default's exactness across batches and threads).
TEST(ConvAlgorithm, WinogradIsTheSameForAnImageInAnyBatchAndAtAnyThreadCount) {
  if (!testing::cpu_has_winograd()) GTEST_SKIP() << testing::kNoWinograd;
  auto model = bit50(ConvAlgorithm::Winograd);
  Tensor batch({3, 3, 90, 122});
  std::mt19937 rng(7);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (float& v : batch) v = d(rng);
  const auto together = run(*model, batch, 2);
  EXPECT_GT(model->winograd_primitives(), 0);
  for (int threads : {1, 2, 3})
    for (std::int64_t i = 0; i < 3; ++i) {
      const auto alone = run(*model, batch.slice(i, i + 1), threads);
      const std::string what = "image " + std::to_string(i) + ", " + std::to_string(threads) + " threads";
      EXPECT_TRUE(testing::identical(alone.logits, together.logits.slice(i, i + 1))) << what;
      for (const int s : {1, 2})
        EXPECT_TRUE(testing::identical(alone.stages.at(s), together.stages.at(s).slice(i, i + 1))) << what << " stage " << s;
    }
}

}  // namespace
}  // namespace visbone
