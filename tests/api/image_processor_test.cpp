#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "api_test_support.h"
#include "visbone/image/decode.h"
#include "visbone/visbone.h"

namespace visbone {
namespace {

using namespace api_test;

TEST(ImageProcessorApi, DefaultsAreTransformers) {
  const ImageProcessor p;
  EXPECT_EQ(p.config().crop_height, 224);
  EXPECT_EQ(p.output_size(480, 640), (std::pair<int, int>{224, 224}));
}

TEST(ImageProcessorApi, MatAndFileGiveTheSamePixelValues) {
  const ImageProcessor p;
  const Tensor from_file = p.process(kChelsea);
  ASSERT_EQ(from_file.shape(), (Shape{1, 3, 224, 224}));
  const cv::Mat bgr = cv::imread(kChelsea.string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(bgr.empty());
  EXPECT_TRUE(identical(p.process(bgr), from_file));
  // The same image already in RGB order.
  cv::Mat rgb(bgr.rows, bgr.cols, CV_8UC3);
  cv::mixChannels(bgr, rgb, {0, 2, 1, 1, 2, 0});
  EXPECT_TRUE(identical(p.process(rgb, ChannelOrder::rgb), from_file));
  // And against the underlying processor on visbone's own decoder.
  const auto image = image::read_image(kChelsea, p.decode_options());
  EXPECT_TRUE(identical(p.processor().preprocess(image), from_file));
}

TEST(ImageProcessorApi, BatchesOfMatsAndFiles) {
  const ImageProcessor p;
  const cv::Mat bgr = cv::imread(kChelsea.string(), cv::IMREAD_COLOR);
  const std::vector<cv::Mat> mats{bgr, bgr(cv::Rect(10, 20, 200, 150))};  // a ROI: rows with a stride
  const Tensor batch = p.process(mats);
  ASSERT_EQ(batch.shape(), (Shape{2, 3, 224, 224}));
  EXPECT_TRUE(identical(batch.slice(0, 1), p.process(bgr)));
  EXPECT_TRUE(identical(batch.slice(1, 2), p.process(bgr(cv::Rect(10, 20, 200, 150)).clone())));
  const Tensor files = p.process({kChelsea, kChelsea});
  ASSERT_EQ(files.shape(), (Shape{2, 3, 224, 224}));
  EXPECT_TRUE(identical(files.slice(1, 2), p.process(kChelsea)));
}

TEST(ImageProcessorApi, GrayAndAlphaMatsAreConvertedToRgb) {
  const ImageProcessor p;
  cv::Mat gray(40, 30, CV_8UC1, cv::Scalar(90));
  cv::Mat bgr(40, 30, CV_8UC3, cv::Scalar(90, 90, 90));
  EXPECT_TRUE(identical(p.process(gray), p.process(bgr)));
  cv::Mat bgra(40, 30, CV_8UC4, cv::Scalar(10, 20, 30, 0));  // alpha dropped, not composited
  cv::Mat opaque(40, 30, CV_8UC3, cv::Scalar(10, 20, 30));
  EXPECT_TRUE(identical(p.process(bgra), p.process(opaque)));
}

TEST(ImageProcessorApi, MatsItCannotTake) {
  const ImageProcessor p;
  EXPECT_THROW(p.process(cv::Mat()), ShapeError);
  EXPECT_THROW(p.process(cv::Mat(8, 8, CV_32FC3, cv::Scalar(0.5, 0.5, 0.5))), FormatError);
  EXPECT_THROW(p.process(cv::Mat(8, 8, CV_16UC1, cv::Scalar(1))), FormatError);
  EXPECT_THROW(p.process(std::vector<cv::Mat>{}), ShapeError);
  EXPECT_THROW(p.process(std::vector<fs::path>{}), ShapeError);
  EXPECT_THROW(p.process(kData / "no-such-image.png"), IoError);
}

TEST(ImageProcessorApi, FromPretrained) {
  const fs::path digits = kModels / "bit-tiny-digits";
  const auto p = ImageProcessor::from_pretrained(digits.string());
  EXPECT_EQ(p.config().crop_height, 32);
  EXPECT_EQ(p.process(kChelsea).shape(), (Shape{1, 3, 32, 32}));
  const auto same = ImageProcessor::from_pretrained((digits / "preprocessor_config.json").string());
  EXPECT_TRUE(identical(same.process(kChelsea), p.process(kChelsea)));
  // A checkpoint saved without one.
  EXPECT_THROW(ImageProcessor::from_pretrained(kTiny.string()), NotFoundError);
  EXPECT_THROW(ImageProcessor::from_pretrained("not-a-model"), NotFoundError);
  // Through the hub cache.
  TempDir cache;
  const auto hub = offline_cache(cache.path(), "someone/digits", digits);
  EXPECT_EQ(ImageProcessor::from_pretrained("someone/digits", hub).config().crop_width, 32);
}

TEST(ImageProcessorApi, PixelLimit) {
  ImageProcessor p;
  p.set_max_pixels(100);
  EXPECT_THROW(p.process(kChelsea), FormatError);
  EXPECT_THROW(p.set_max_pixels(0), ConfigError);
}

}  // namespace
}  // namespace visbone
