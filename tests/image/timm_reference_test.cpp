// timm checkpoints preprocess as timm does: every pretrained_cfg in tests/data/preprocess/timm (written by
// make_timm_reference.py with torchvision's transforms on PIL images), read from a config.json as timm
// writes it, must give the uint8 image torchvision gives, level for level.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>

#include "support/support.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/core/safetensors.h"
#include "visbone/image/decode.h"
#include "visbone/image/model_processor.h"
#include "visbone/image/timm_preprocessing.h"

namespace visbone::image {
namespace {

const std::string kDir = std::string(VISBONE_TEST_DATA) + "/preprocess";

// The share of uint8 levels equal to the reference's.
double exact_rate(const Image& ours, const Tensor& reference) {
  const std::int64_t c = reference.dim(0), h = reference.dim(1), w = reference.dim(2);
  if (ours.channels() != c || ours.height() != h || ours.width() != w) return 0.0;
  std::int64_t exact = 0;
  for (std::int64_t ch = 0; ch < c; ++ch)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        exact += ours.row(y)[x * c + ch] == static_cast<std::uint8_t>(reference.data()[(ch * h + y) * w + x]);
  return static_cast<double>(exact) / static_cast<double>(c * h * w);
}

TEST(TimmReference, PretrainedCfgPreprocessesAsTorchvision) {
  const auto refs = SafetensorsFile::open(kDir + "/timm/reference.safetensors");
  const auto index = read_json_file(kDir + "/timm/reference.json");
  int cases = 0, alignment_mattered = 0;
  double lowest = 1.0;
  for (const auto& entry : index.as_object()) {
    const std::string name(entry.key());
    testing::TempDir model;
    model.write("config.json",
                boost::json::serialize(boost::json::object{
                    {"architecture", "resnetv2"}, {"pretrained_cfg", entry.value().at("pretrained_cfg")}}));
    const auto settings = model_processor_settings(model.path());
    ASSERT_TRUE(settings) << name;
    const ImageProcessor processor(processor_config(*settings));
    ImageProcessorConfig floor_aligned = processor.config();
    floor_aligned.crop_align = CropAlign::transformers;
    const ImageProcessor transformers_crop(floor_aligned);
    for (const auto& image : entry.value().at("images").as_object()) {
      const std::string key = name + "/" + std::string(image.key());
      SCOPED_TRACE(key);
      const Image img =
          read_image(kDir + "/images/" + std::string(image.value().as_string()), processor.decode_options());
      const Tensor reference = refs.load(key);
      const double rate = exact_rate(processor.resize_and_crop(img), reference);
      std::printf("  %-45s exact %8.4f%%\n", key.c_str(), 100.0 * rate);
      EXPECT_EQ(rate, 1.0);  // exact today (the issue asks >= 99.9%); any drift is a regression
      lowest = std::min(lowest, rate);
      alignment_mattered += exact_rate(transformers_crop.resize_and_crop(img), reference) < 0.999;
      ++cases;
    }
  }
  std::printf("  %d cases, lowest exact-match rate %.4f%%; %d would fail with transformers' crop\n", cases,
              100.0 * lowest, alignment_mattered);
  EXPECT_EQ(cases, 46);
  EXPECT_GT(alignment_mattered, 0) << "no case tells torchvision's centre crop from transformers'";
}

ImageProcessorConfig from_cfg(const std::string& pretrained_cfg) {
  return processor_config(
      {timm_processor_settings(boost::json::parse(pretrained_cfg), "cfg"), CropAlign::torchvision, "cfg"});
}

TEST(TimmReference, ScaleAndCropFollowTimmsRule) {
  // floor(224 / 0.875) = 256 on the shorter side, then a 224 x 224 crop; squash scales both sides.
  const auto center =
      from_cfg(R"({"input_size": [3, 224, 224], "crop_pct": 0.875, "interpolation": "bilinear"})");
  EXPECT_EQ(center.size.shortest_edge, 256);
  EXPECT_EQ(center.crop_height, 224);
  EXPECT_EQ(center.resample, Resample::bilinear);
  const auto squash = from_cfg(R"({"input_size": [3, 448, 300], "crop_pct": 0.9, "crop_mode": "squash"})");
  EXPECT_EQ(squash.size.height, 497);  // floor(448 / 0.9) = floor(497.77)
  EXPECT_EQ(squash.size.width, 333);
  EXPECT_EQ(squash.crop_width, 300);
  EXPECT_EQ(squash.resample, Resample::bicubic);  // timm's default
  const auto defaults = from_cfg("{}");
  EXPECT_EQ(defaults.image_mean, (std::vector<double>{0.485, 0.456, 0.406}));
  EXPECT_EQ(defaults.size.shortest_edge, 256);
  EXPECT_NE(testing::message_of([] { from_cfg(R"({"crop_mode": "border"})"); }).find("'border'"),
            std::string::npos);
  EXPECT_NE(testing::message_of([] {
              from_cfg(R"({"interpolation": "random"})");
            }).find("cfg: pretrained_cfg.interpolation: expected nearest, lanczos, bilinear"),
            std::string::npos);
  EXPECT_THROW(from_cfg(R"({"crop_pct": 0})"), ConfigError);
  EXPECT_THROW(from_cfg(R"({"input_size": [3, 224]})"), ConfigError);
  EXPECT_THROW(from_cfg(R"({"input_size": [3, 224, 200]})"), ConfigError);  // ResizeKeepRatio
}

TEST(TimmReference, PreprocessorConfigWinsAndPlainConfigsHaveNone) {
  testing::TempDir d;
  d.write("timm/config.json", R"({"pretrained_cfg": {"input_size": [3, 64, 64]}})");
  d.write("timm/preprocessor_config.json", R"({"crop_size": 32})");
  d.write("hf/config.json", R"({"model_type": "bit"})");
  const auto both = model_processor_settings(d / "timm");
  ASSERT_TRUE(both);
  EXPECT_EQ(processor_config(*both).crop_height, 32);
  EXPECT_EQ(both->crop_align, CropAlign::transformers);
  EXPECT_FALSE(model_processor_settings(d / "hf"));
  EXPECT_FALSE(model_processor_settings(d / "nothing"));
}

}  // namespace
}  // namespace visbone::image
