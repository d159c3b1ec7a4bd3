// Where a pipeline's preprocessing comes from when `preprocess:` does not say: the checkpoint folder's own
// files, else the defaults the backbone declares (Backbone::preprocessing_defaults, with a notice naming
// them), else an error asking for the settings; never BiT's for a backbone that is not BiT.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iostream>
#include <sstream>

#include "support/support.h"
#include "visbone/core/errors.h"
#include "visbone/pipeline/preprocessing.h"

namespace visbone::pipeline {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const PreprocessingDefaults kOwn{{{"size", {{"shortest_edge", 48}}},
                                  {"crop_size", {{"height", 40}, {"width", 40}}},
                                  {"image_mean", {0.5, 0.5, 0.5}},
                                  {"image_std", {0.25, 0.25, 0.25}}},
                                 "a plugin's defaults"};

// resolve_preprocessing with what it writes to std::cerr.
std::pair<image::ImageProcessorConfig, std::string> resolve(
    const PreprocessConfig& p, const std::optional<fs::path>& folder,
    const std::optional<PreprocessingDefaults>& defaults) {
  std::ostringstream err;
  std::streambuf* old = std::cerr.rdbuf(err.rdbuf());
  try {
    auto c = resolve_preprocessing(p, folder, defaults, "p.yaml");
    std::cerr.rdbuf(old);
    return {c, err.str()};
  } catch (...) {
    std::cerr.rdbuf(old);
    throw;
  }
}

TEST(PreprocessingDefaults, TheBackbonesOwnAreUsedWithANoticeNamingThem) {
  const auto [c, notice] = resolve({}, std::nullopt, kOwn);
  EXPECT_EQ(c.crop_height, 40);
  EXPECT_EQ(c.image_std, (std::vector<double>{0.25, 0.25, 0.25}));
  EXPECT_EQ(notice, "note: the model has no checkpoint folder; preprocessing with a plugin's defaults\n");
  // A folder without a processor file: the same, naming the folder.
  const testing::TempDir d;
  const auto [in_folder, folder_notice] = resolve({}, d.path(), kOwn);
  EXPECT_EQ(in_folder.crop_height, 40);
  EXPECT_EQ(folder_notice, "note: " + d.path().string() +
                               " has no preprocessor_config.json; preprocessing with a plugin's defaults\n");
}

TEST(PreprocessingDefaults, TheCheckpointsFileComesFirst) {
  const testing::TempDir d;
  d.write("preprocessor_config.json", R"({"crop_size": {"height": 24, "width": 24}})");
  const auto [c, notice] = resolve({}, d.path(), kOwn);
  EXPECT_EQ(c.crop_height, 24);
  EXPECT_EQ(notice, "");
}

TEST(PreprocessingDefaults, ABackboneWithoutDefaultsNeedsExplicitSettings) {
  EXPECT_THAT(
      testing::message_of([] { resolve({}, std::nullopt, std::nullopt); }),
      HasSubstr("the model has no checkpoint folder and the backbone declares no preprocessing defaults; "
                "give the settings inline"));
  EXPECT_THROW(resolve({}, std::nullopt, std::nullopt), ConfigError);
  // `from: defaults` still names transformers' BitImageProcessor defaults, whatever the backbone.
  PreprocessConfig named;
  named.from = "defaults";
  named.from_given = true;
  EXPECT_EQ(resolve(named, std::nullopt, std::nullopt).first.crop_height,
            image::ImageProcessorConfig{}.crop_height);
  // Asked for the checkpoint's explicitly, a backbone's defaults do not stand in.
  PreprocessConfig insist;
  insist.from_given = true;
  EXPECT_THAT(testing::message_of([&] { resolve(insist, std::nullopt, kOwn); }),
              HasSubstr("no checkpoint folder to read preprocessor_config.json from"));
}

}  // namespace
}  // namespace visbone::pipeline
