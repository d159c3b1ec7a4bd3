// The feature cache keeps rows by content hash across instances and survives a damaged file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/support.h"
#include "visbone/transfer/feature_cache.h"

namespace visbone {
namespace {

TEST(FeatureCache, RowsComeBackFromTheFile) {
  testing::TempDir dir;
  {
    transfer::FeatureCache c(dir.path(), "key1");
    EXPECT_EQ(c.find("aa"), nullptr);
    c.add("aa", {1, 2, 3});
    c.add("bb", {4, 5, 6});
    c.save();
  }
  transfer::FeatureCache again(dir.path(), "key1");
  ASSERT_NE(again.find("bb"), nullptr);
  EXPECT_EQ(*again.find("bb"), (std::vector<float>{4, 5, 6}));
  EXPECT_EQ(again.size(), 2u);
  // Another model key is another file.
  EXPECT_EQ(transfer::FeatureCache(dir.path(), "key2").size(), 0u);
  EXPECT_THAT(testing::message_of([&] { again.add("cc", {1}); }), ::testing::HasSubstr("rows of 3 channels"));
}

TEST(FeatureCache, ADamagedFileIsIgnoredAndRewritten) {
  testing::TempDir dir;
  dir.write("k.safetensors", std::string("not a safetensors file"));
  transfer::FeatureCache c(dir.path(), "k");
  EXPECT_EQ(c.size(), 0u);
  EXPECT_THAT(c.problem(), ::testing::HasSubstr("k.safetensors: ignored"));
  c.add("aa", {1});
  c.save();
  EXPECT_EQ(transfer::FeatureCache(dir.path(), "k").size(), 1u);
}

}  // namespace
}  // namespace visbone
