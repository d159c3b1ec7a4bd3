// The fp32 convolution algorithm: auto (each 3x3 stride-1 shape timed once per process, the faster kept),
// direct and winograd all reproduce the references within the parity suite's 1e-4.
#include <gtest/gtest.h>

#include "fixtures.h"
#include "visbone/bit/bit_backbone.h"
#include "visbone/core/checkpoint.h"
#include "visbone/core/safetensors.h"

namespace visbone {
namespace {

using bit::ConvAlgorithm;
using testing::model_dir;

Tensor logits_with(const std::string& name, const Tensor& pixels, ConvAlgorithm a) {
  auto ckpt = Checkpoint::open(model_dir(name));
  bit::BitModel model(bit::BitConfig::from_json(ckpt.config(), name), ckpt);
  model.set_algorithm(a);
  bit::BitRequest req;
  req.logits = true;
  return model.forward(pixels, req).logits;
}

TEST(ConvAlgorithm, Names) {
  for (const auto a : {ConvAlgorithm::Auto, ConvAlgorithm::Direct, ConvAlgorithm::Winograd})
    EXPECT_EQ(bit::parse_conv_algorithm(bit::to_string(a)), a);
  EXPECT_FALSE(bit::parse_conv_algorithm("fft"));
}

TEST(ConvAlgorithm, EveryChoiceIsExactAndAutoTimesEachShapeOnce) {
  const auto ref = SafetensorsFile::open(model_dir("bit-50-random-fp16") / "reference.safetensors");
  const Tensor pixels = ref.load("chelsea.pixel_values"), expected = ref.load("chelsea.logits");
  for (const auto a : {ConvAlgorithm::Direct, ConvAlgorithm::Winograd, ConvAlgorithm::Auto})
    EXPECT_TRUE(testing::near(logits_with("bit-50-random-fp16", pixels, a), expected, testing::kF32Tolerance))
        << bit::to_string(a);
  // bit-50 at 224 has four 3x3 stride-1 shapes (one per stage): auto decided each, and a second model finds
  // them decided (nothing timed again).
  const auto choices = bit::conv_algorithm_choices();
  for (const std::string shape :
       {"64x64x3x3 s1 pad 1,1,1,1 src 1x64x56x56", "128x128x3x3 s1 pad 1,1,1,1 src 1x128x28x28",
        "256x256x3x3 s1 pad 1,1,1,1 src 1x256x14x14", "512x512x3x3 s1 pad 1,1,1,1 src 1x512x7x7"})
    EXPECT_TRUE(choices.count(shape)) << shape;
  logits_with("bit-50-random-fp16", pixels, ConvAlgorithm::Auto);
  EXPECT_EQ(bit::conv_algorithm_choices(), choices);
}

}  // namespace
}  // namespace visbone
