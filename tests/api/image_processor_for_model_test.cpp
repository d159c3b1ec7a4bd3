// ImageProcessor::for_model: the checkpoint's processor, or the model's defaults with a notice.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "visbone/api/image_processor.h"
#include "visbone/api/load_backbone.h"
#include "visbone/core/errors.h"

namespace visbone {
namespace {

using ::testing::HasSubstr;

const std::string kData = VISBONE_TEST_DATA;

TEST(ImageProcessorForModel, TheCheckpointsFileWhenItHasOne) {
  std::ostringstream notice;
  const auto p = ImageProcessor::for_model(kData + "/models/bit-tiny-digits", {}, &notice);
  EXPECT_EQ(p.config().crop_width, ImageProcessor::from_pretrained(kData + "/models/bit-tiny-digits").config().crop_width);
  EXPECT_NE(p.config().crop_width, ImageProcessorConfig{}.crop_width);
  EXPECT_EQ(notice.str(), "");
}

TEST(ImageProcessorForModel, TheModelsDefaultsWithANoticeOtherwise) {
  const std::string model = kData + "/models/bit-50-random-fp16";
  EXPECT_THROW(ImageProcessor::from_pretrained(model), NotFoundError);
  std::ostringstream notice;
  const auto p = ImageProcessor::for_model(model, {}, &notice);
  EXPECT_EQ(p.config().crop_width, 224);
  EXPECT_EQ(p.config().image_mean, ImageProcessorConfig{}.image_mean);
  EXPECT_THAT(notice.str(), HasSubstr("preprocessor_config.json does not exist"));
  EXPECT_THAT(notice.str(), HasSubstr("using BiT's defaults"));
  const std::string text = notice.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << "one line";
  // The same defaults the loaded backbone declares (Backbone::preprocessing_defaults), named in the notice.
  const auto defaults = load_backbone(model)->preprocessing_defaults();
  ASSERT_TRUE(defaults.has_value());
  EXPECT_THAT(notice.str(), HasSubstr("; using " + defaults->origin + "\n"));
  EXPECT_TRUE(defaults->keys.empty()) << "BitImageProcessor's defaults, every one";
  hub::ResolveOptions offline;
  offline.offline = true;
  EXPECT_THROW(ImageProcessor::for_model("no/such-dir-or-repo-here", offline, nullptr), NotFoundError);
}

TEST(ImageProcessorForModel, TimmCheckpointsGetTimmsEvalTransform) {
  // timm-tiny-os16: input_size 224, crop_pct 1.0, bilinear, mean/std 0.5, and no preprocessor_config.json.
  std::ostringstream notice;
  const auto p = ImageProcessor::for_model(kData + "/models/timm-tiny-os16/timm", {}, &notice);
  EXPECT_EQ(p.config().size.shortest_edge, 224);
  EXPECT_EQ(p.config().crop_height, 224);
  EXPECT_EQ(p.config().resample, image::Resample::bilinear);
  EXPECT_EQ(p.config().image_mean, (std::vector<double>{0.5, 0.5, 0.5}));
  EXPECT_EQ(p.config().crop_align, image::CropAlign::torchvision);
  EXPECT_THAT(notice.str(), HasSubstr("using timm's eval transform of its pretrained_cfg"));
  const std::string text = notice.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << "one line";
}

}  // namespace
}  // namespace visbone
