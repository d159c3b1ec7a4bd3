// timm's stem_conv tap is selectable with out_features on timm-origin models (first, with no index among
// transformers' stage_names), and nowhere else.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "bit/fixtures.h"
#include "support/support.h"
#include "visbone/bit/bit_backbone.h"
#include "visbone/core/errors.h"
#include "visbone/core/safetensors.h"

namespace visbone {
namespace {

using ::testing::HasSubstr;

TEST(StemConvSelection, SelectableByNameOnTimmModels) {
  bit::BitBackboneOptions o;
  o.out_features = std::vector<std::string>{"stem_conv", "stage2"};
  auto timm = bit::BitBackbone::from_pretrained(testing::model_dir("timm-tiny-w2") / "timm", o);
  EXPECT_EQ(timm->out_features(), (std::vector<std::string>{"stem_conv", "stage2"}));
  EXPECT_EQ(timm->out_indices(), (std::vector<int>{2}));
  const auto ref = SafetensorsFile::open(testing::model_dir("timm-tiny-w2") / "reference.safetensors");
  const auto maps = timm->feature_maps(ref.load("b.pixel_values"));
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_TRUE(testing::near(maps[0], ref.load("b.stem_conv"), testing::kF32Tolerance));

  o.out_features = std::vector<std::string>{"stem_conv"};  // alone
  EXPECT_EQ(bit::BitBackbone::from_pretrained(testing::model_dir("timm-tiny-w2") / "timm", o)->out_features(),
            (std::vector<std::string>{"stem_conv"}));
  o.out_features = std::vector<std::string>{"stage1", "stem_conv"};
  EXPECT_THAT(testing::message_of([&] { bit::BitBackbone::from_pretrained(testing::model_dir("timm-tiny-w2") / "timm", o); }),
              HasSubstr("with stem_conv first"));
  // A transformers checkpoint has no such tap.
  o.out_features = std::vector<std::string>{"stem_conv"};
  EXPECT_THROW(bit::BitBackbone::from_pretrained(testing::model_dir("timm-tiny-w2") / "hf", o), ConfigError);
}

}  // namespace
}  // namespace visbone
