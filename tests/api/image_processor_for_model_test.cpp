// ImageProcessor::for_model: the checkpoint's processor, or the model's defaults with a notice.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "visbone/api/image_processor.h"
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
  hub::ResolveOptions offline;
  offline.offline = true;
  EXPECT_THROW(ImageProcessor::for_model("no/such-dir-or-repo-here", offline, nullptr), NotFoundError);
}

}  // namespace
}  // namespace visbone
