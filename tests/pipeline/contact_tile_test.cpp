// The contact sheet's tiles are made on bounded copies (issue 16): detail::fit_rgb resizes while reading the
// decoded pixels, so a huge input costs a tile, not a full-size RGB copy; the tile's bytes are those of the
// former convert-then-resize.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "drawing.h"

namespace visbone::pipeline::detail {
namespace {

image::Image pattern(int width, int height, int channels) {
  image::Image img(width, height, channels);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < channels; ++c)
        img.at(y, x, c) = static_cast<std::uint8_t>((x * 7 + y * 13 + c * 61) ^ (x * y));
  return img;
}

// What the contact sheet did before: a full RGB copy (to_rgb), then the resize.
cv::Mat convert_then_resize(const image::Image& img, int tile) {
  const cv::Mat rgb = to_rgb(img);
  const double f = std::min(static_cast<double>(tile) / rgb.cols, static_cast<double>(tile) / rgb.rows);
  const int w = std::max(1, static_cast<int>(rgb.cols * f)), h = std::max(1, static_cast<int>(rgb.rows * f));
  cv::Mat fitted;
  cv::resize(rgb, fitted, cv::Size(w, h), 0, 0,
             f >= 2  ? cv::INTER_NEAREST
             : f < 1 ? cv::INTER_AREA
                     : cv::INTER_LINEAR);
  return fitted;
}

TEST(ContactTile, SameBytesAsConvertingFirst) {
  for (const int channels : {1, 3, 4})
    for (const auto& [w, h] : std::vector<std::pair<int, int>>{{8, 8}, {100, 60}, {333, 517}, {1000, 999}}) {
      const image::Image img = pattern(w, h, channels);
      const cv::Mat want = convert_then_resize(img, 128), got = fit_rgb(img, 128);
      ASSERT_EQ(got.type(), CV_8UC3);
      ASSERT_EQ(got.size(), want.size()) << channels << " " << w << "x" << h;
      EXPECT_EQ(cv::norm(got, want, cv::NORM_INF), 0.0) << channels << " channels, " << w << "x" << h;
    }
}

// In a child process (its own peak): the peak resident size a 6000x6000 RGB input (108 MB) adds while its
// tile is made stays far below the input's size; a full-size copy would add all of it.
TEST(ContactTile, AHugeImageCostsATileNotACopy) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    image::Image img(6000, 6000, 3);
    std::fill(img.data(), img.data() + img.stride() * 6000, std::uint8_t{90});  // resident
    rusage before{}, after{};
    getrusage(RUSAGE_SELF, &before);
    const cv::Mat tile = fit_rgb(img, 128);
    getrusage(RUSAGE_SELF, &after);
    const long added_kb = after.ru_maxrss - before.ru_maxrss;
    _exit(tile.cols == 128 && tile.at<cv::Vec3b>(5, 5)[0] == 90 && added_kb < 20 * 1024 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "making the tile added 20 MB or more to the peak (the input is 108 MB)";
}

}  // namespace
}  // namespace visbone::pipeline::detail
