// Each filter on tiny images against values worked out from Pillow's definitions, so a mismatch points at
// the filter (weights, support, fixed-point rounding, pass order) and not at the pipeline around it.
#include "visbone/image/resample.h"

#include <gtest/gtest.h>

#include <vector>

#include "visbone/core/errors.h"

namespace visbone::image {
namespace {

using Rows = std::vector<std::vector<int>>;

Image gray(const Rows& rows) {
  Image img(static_cast<int>(rows[0].size()), static_cast<int>(rows.size()), 1);
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x)
      img.at(y, x, 0) =
          static_cast<std::uint8_t>(rows[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)]);
  return img;
}

Rows values(const Image& img, int c = 0) {
  Rows rows(static_cast<std::size_t>(img.height()), std::vector<int>(static_cast<std::size_t>(img.width())));
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x)
      rows[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)] = img.at(y, x, c);
  return rows;
}

const std::vector<int> kRow = {0, 100, 200, 250};

struct Case1D {
  Resample filter;
  std::vector<int> expected;
};

// 4 -> 2 pixels: scale 2, so every support doubles (antialiasing) and the weights below follow from
// w(x) = filter((x + xmin - center + 0.5) / 2), normalised to sum 1, in 22-bit fixed point, plus 2^21, >> 22.
//  box      support 1: centers 1 and 3 take {0,100} and {200,250} at 1/2 each       -> 50 (50.5 floors), 225
//  bilinear support 2: center 1 takes x=0,1,2 at 0.75,0.75,0.25 (/1.75 = 3/7,3/7,1/7) -> 500/7 = 71.4 -> 71;
//                      center 3 takes x=1,2,3 at 1/7,3/7,3/7                          -> 1450/7 = 207.1 ->
//                      207
//  hamming  support 2: weights 0.480141, 0.480141, 0.039718                           -> 56, 220
//  bicubic  support 4 (a = -0.5): 0.458678, 0.458678, 0.119835, -0.037190             -> 61, 218
//  lanczos  support 6: 0.464192, 0.464192, 0.140911, -0.069296                        -> 57, 223
const Case1D kDownscale[] = {
    {Resample::box, {50, 225}},     {Resample::bilinear, {71, 207}}, {Resample::hamming, {56, 220}},
    {Resample::bicubic, {61, 218}}, {Resample::lanczos, {57, 223}},
};

TEST(Resample, HorizontalDownscaleOfEachFilter) {
  for (const auto& c : kDownscale) {
    SCOPED_TRACE(std::string(resample_name(c.filter)));
    EXPECT_EQ(values(resize(gray({kRow}), 2, 1, c.filter)), (Rows{c.expected}));
  }
}

TEST(Resample, VerticalDownscaleMatchesHorizontal) {
  for (const auto& c : kDownscale) {
    SCOPED_TRACE(std::string(resample_name(c.filter)));
    const Image out = resize(gray({{kRow[0]}, {kRow[1]}, {kRow[2]}, {kRow[3]}}), 1, 2, c.filter);
    EXPECT_EQ(values(out), (Rows{{c.expected[0]}, {c.expected[1]}}));
  }
}

TEST(Resample, NearestUsesPillowsAccumulatedPositions) {
  // Positions start at step/2 and add step: 4 -> 2 samples 1.0 and 3.0; 2 -> 5 samples
  // 0.2, 0.6, 1.0, 1.4, 1.8 -> 0,0,1,1,1; 3 -> 7 samples 0.21.. -> 0,0,1,1,1,2,2.
  EXPECT_EQ(values(resize(gray({kRow}), 2, 1, Resample::nearest)), (Rows{{100, 250}}));
  EXPECT_EQ(values(resize(gray({{7, 9}}), 5, 1, Resample::nearest)), (Rows{{7, 7, 9, 9, 9}}));
  EXPECT_EQ(values(resize(gray({{1, 2, 3}}), 7, 1, Resample::nearest)), (Rows{{1, 1, 2, 2, 2, 3, 3}}));
  // 2 -> 1 column samples position 1.0, the second column.
  EXPECT_EQ(values(resize(gray({{1, 2}, {3, 4}}), 1, 5, Resample::nearest)), (Rows{{2}, {2}, {4}, {4}, {4}}));
}

TEST(Resample, TwoPassesRoundBetweenPasses) {
  // 4x4 -> 2x2 box. Horizontal pass per row: {50,225} {55,75} {128,128} {15,35} (127.5 rounds up to 128);
  // vertical: (50+55)/2 = 52.5 -> 53, (225+75)/2 = 150, (128+15)/2 = 71.5 -> 72, (128+35)/2 = 81.5 -> 82.
  // A single 2-D average would give 71 at the bottom left: (255+0+10+20)/4 = 71.25.
  const Rows img = {{0, 100, 200, 250}, {50, 60, 70, 80}, {255, 0, 255, 0}, {10, 20, 30, 40}};
  EXPECT_EQ(values(resize(gray(img), 2, 2, Resample::box)), (Rows{{53, 150}, {72, 82}}));
  // The same image through the other filters (each pass as in the 1-D cases above).
  EXPECT_EQ(values(resize(gray(img), 2, 2, Resample::bilinear)), (Rows{{76, 136}, {78, 71}}));
  EXPECT_EQ(values(resize(gray(img), 2, 2, Resample::hamming)), (Rows{{59, 146}, {74, 78}}));
  EXPECT_EQ(values(resize(gray(img), 2, 2, Resample::bicubic)), (Rows{{71, 145}, {80, 65}}));
  EXPECT_EQ(values(resize(gray(img), 2, 2, Resample::lanczos)), (Rows{{73, 150}, {82, 58}}));
}

TEST(Resample, UpscaleKeepsTheUnscaledSupport) {
  // 2x2 -> 5x3: scale 0.4 horizontally, 2/3 vertically; the support stays the filter's own (no widening).
  // Bilinear on row {0,200}: centers 0.2, 0.6, 1.0, 1.4, 1.8 reach pixels [0,1), [0,2), [0,2), [0,2), [1,2)
  // with weights {0.7}, {0.9,0.1}, {0.5,0.5}, {0.1,0.9}, {0.7}, renormalised -> 0, 20, 100, 180, 200.
  const Rows img = {{0, 200}, {100, 50}};
  EXPECT_EQ(values(resize(gray(img), 5, 3, Resample::bilinear)),
            (Rows{{0, 20, 100, 180, 200}, {50, 58, 88, 118, 125}, {100, 95, 75, 55, 50}}));
  // Bicubic overshoots (negative lobe) and is clipped to 0..255 after each pass.
  EXPECT_EQ(values(resize(gray(img), 5, 3, Resample::bicubic)),
            (Rows{{0, 7, 102, 196, 232}, {53, 55, 88, 120, 133}, {112, 103, 73, 44, 33}}));
  EXPECT_EQ(values(resize(gray(img), 5, 3, Resample::lanczos)),
            (Rows{{0, 7, 103, 199, 255}, {55, 57, 88, 119, 141}, {124, 106, 72, 38, 15}}));
  EXPECT_EQ(values(resize(gray(img), 5, 3, Resample::hamming)),
            (Rows{{0, 2, 100, 198, 200}, {50, 51, 88, 125, 125}, {100, 99, 75, 51, 50}}));
  EXPECT_EQ(values(resize(gray(img), 5, 3, Resample::box)),
            (Rows{{0, 0, 200, 200, 200}, {100, 100, 50, 50, 50}, {100, 100, 50, 50, 50}}));
  // Nearest rows: 2 -> 3 samples 1/3, 1, 5/3 -> rows 0, 1, 1.
  EXPECT_EQ(values(resize(gray(img), 5, 3, Resample::nearest)),
            (Rows{{0, 0, 200, 200, 200}, {100, 100, 50, 50, 50}, {100, 100, 50, 50, 50}}));
}

TEST(Resample, UnchangedAxisIsNotResampled) {
  // Only the width changes: Pillow skips the vertical pass, so rows do not mix even with a wide filter.
  const Rows img = {{0, 100, 200, 250}, {255, 255, 255, 255}, {0, 0, 0, 0}};
  EXPECT_EQ(values(resize(gray(img), 2, 3, Resample::bicubic)), (Rows{{61, 218}, {255, 255}, {0, 0}}));
  // Same size: a copy, whatever the filter.
  const Image same = resize(gray(img), 4, 3, Resample::lanczos);
  EXPECT_EQ(values(same), img);
}

TEST(Resample, ChannelsAreIndependent) {
  Image rgb(4, 1, 3);
  const std::vector<int> other = {255, 0, 255, 0};
  for (int x = 0; x < 4; ++x) {
    rgb.at(0, x, 0) = static_cast<std::uint8_t>(kRow[static_cast<std::size_t>(x)]);
    rgb.at(0, x, 1) = static_cast<std::uint8_t>(other[static_cast<std::size_t>(x)]);
    rgb.at(0, x, 2) = 17;
  }
  for (const auto& c : kDownscale) {
    SCOPED_TRACE(std::string(resample_name(c.filter)));
    const Image out = resize(rgb, 2, 1, c.filter);
    EXPECT_EQ(values(out, 0), (Rows{c.expected}));
    EXPECT_EQ(values(out, 1), values(resize(gray({other}), 2, 1, c.filter)));
    EXPECT_EQ(values(out, 2), (Rows{{17, 17}}));
  }
}

TEST(Resample, LargeImagesGiveTheSameRowsAsSmallOnes) {
  // Rows are computed in parallel chunks; each output row must not depend on how rows were split.
  // A tall image of identical rows must give identical output rows equal to the 1-row result.
  Image tall(4, 3000, 1);
  for (int y = 0; y < tall.height(); ++y)
    for (int x = 0; x < 4; ++x)
      tall.at(y, x, 0) = static_cast<std::uint8_t>(kRow[static_cast<std::size_t>(x)]);
  const Image out = resize(tall, 2, 1700, Resample::bicubic);
  for (int y = 0; y < out.height(); ++y) {
    ASSERT_EQ(out.at(y, 0, 0), 61) << "row " << y;
    ASSERT_EQ(out.at(y, 1, 0), 218) << "row " << y;
  }
}

TEST(Resample, RejectsBadSizesAndCodes) {
  EXPECT_THROW(resize(gray({kRow}), 0, 1, Resample::bilinear), ShapeError);
  EXPECT_THROW(resize(gray({kRow}), 2, -1, Resample::bilinear), ShapeError);
  EXPECT_THROW(resample_from_pil(6, "cfg"), ConfigError);
  EXPECT_THROW(resample_from_pil(-1, "cfg"), ConfigError);
  EXPECT_EQ(resample_from_pil(3, "cfg"), Resample::bicubic);
  EXPECT_EQ(resample_from_pil(1, "cfg"), Resample::lanczos);
}

}  // namespace
}  // namespace visbone::image
