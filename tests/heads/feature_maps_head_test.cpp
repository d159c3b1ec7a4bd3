// The feature_maps head: selected stages as transformers' BitBackbone returns them, the last one after the
// final norm with norm: true (transformers' last_hidden_state, timm's norm=True), needs checked when built.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "heads_support.h"
#include "visbone/core/safetensors.h"
#include "visbone/heads/feature_maps_head.h"

namespace visbone {
namespace {

using testing::builtin_registry;
using ::testing::HasSubstr;
using testing::message_of;
using testing::model_dir;
using testing::differs;
using testing::kF32Tolerance;
using testing::near;
using testing::yaml;

struct Built {
  std::unique_ptr<Backbone> backbone;
  std::unique_ptr<Head> head;
};

Built build(const std::string& model, const std::string& head_yaml) {
  Built b{testing::bit_backbone(model), nullptr};
  HeadContext ctx{*b.backbone, {}};
  b.head = builtin_registry().build_head(yaml(head_yaml), ctx);
  return b;
}

TEST(FeatureMapsHead, StagesAndNormedLastStageMatchTransformers) {
  const auto ref = SafetensorsFile::open(model_dir("tiny-preact") / "reference.safetensors");
  auto b = build("tiny-preact", "type: feature_maps\nout_features: [stage2, stage4]\nnorm: true");
  const auto needs = b.head->needs();
  ASSERT_EQ(needs.stages.size(), 1u);
  EXPECT_EQ(needs.stages[0].stage, "stage2");
  EXPECT_TRUE(needs.last_hidden_state);
  for (const char* input : {"a", "b"}) {
    const std::string x = input;
    const auto f = b.backbone->forward(ref.load(x + ".pixel_values"), needs.request());
    const auto maps = static_cast<const heads::FeatureMapsHead&>(*b.head).feature_maps(f);
    ASSERT_EQ(maps.size(), 2u);
    EXPECT_TRUE(near(maps[0], ref.load(x + ".hidden_states.2"), kF32Tolerance)) << x;
    EXPECT_TRUE(near(maps[1], ref.load(x + ".last_hidden_state"), kF32Tolerance)) << x;
    // Without the norm, the raw stage (transformers' BitBackbone feature map) differs from it.
    EXPECT_TRUE(differs(maps[1], ref.load(x + ".backbone.feature_maps.4"), 1e-2)) << x;
  }
  auto raw = build("tiny-preact", "type: feature_maps\nout_indices: [-1]");
  const Tensor pixels = ref.load("a.pixel_values");
  const auto f = raw.backbone->forward(pixels, raw.head->needs().request());
  const auto maps = static_cast<const heads::FeatureMapsHead&>(*raw.head).feature_maps(f);
  EXPECT_EQ(static_cast<const heads::FeatureMapsHead&>(*raw.head).stages(),
            std::vector<std::string>{"stage4"});
  EXPECT_TRUE(near(maps[0], ref.load("a.backbone.feature_maps.4"), kF32Tolerance));
}

TEST(FeatureMapsHead, RunGivesPerInputMapsWithoutTheBatchDimension) {
  auto b = build("tiny-preact", "type: feature_maps\nout_features: [stem, stage3]");
  Tensor x({2, 3, 64, 64});
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<float>(i % 97) / 50.0f - 1.0f;
  const auto f = b.backbone->forward(x, b.head->needs().request());
  const auto out = b.head->run(f);
  ASSERT_EQ(out.size(), 2u);
  ASSERT_EQ(out[1].tensors.size(), 2u);
  EXPECT_EQ(out[1].tensors[0].first, "stem");
  const Tensor& stage3 = out[1].tensors[1].second;
  const Tensor& batch3 = f.stages.at("stage3");
  EXPECT_EQ(stage3.shape(), (Shape{batch3.dim(1), batch3.dim(2), batch3.dim(3)}));
  EXPECT_EQ(stage3.data(), batch3.data() + batch3.numel() / 2);  // a view of the second input
  EXPECT_EQ(boost::json::serialize(out[0].record.at("feature_maps").at("stage3")),
            "[" + std::to_string(batch3.dim(1)) + "," + std::to_string(batch3.dim(2)) + "," +
                std::to_string(batch3.dim(3)) + "]");
}

// layout: nhwc (timm's output_fmt): each input's map as (H, W, C), the NCHW values transposed.
TEST(FeatureMapsHead, NhwcLayoutGivesTheMapsTransposed) {
  auto b = build("tiny-preact", "type: feature_maps\nout_features: [stem, stage3]\nlayout: nhwc");
  Tensor x({2, 3, 48, 80});
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<float>(i % 89) / 40.0f - 1.0f;
  const auto f = b.backbone->forward(x, b.head->needs().request());
  const auto out = b.head->run(f);
  for (std::size_t s = 0; s < 2; ++s) {
    const Tensor& m = f.stages.at(s == 0 ? "stem" : "stage3");
    const std::int64_t c = m.dim(1), h = m.dim(2), w = m.dim(3);
    for (std::int64_t n = 0; n < 2; ++n) {
      const Tensor& t = out[static_cast<std::size_t>(n)].tensors[s].second;
      ASSERT_EQ(t.shape(), (Shape{h, w, c}));
      bool same = true;
      for (std::int64_t ch = 0; ch < c; ++ch)
        for (std::int64_t p = 0; p < h * w; ++p) same = same && t.data()[p * c + ch] == m.data()[(n * c + ch) * h * w + p];
      EXPECT_TRUE(same) << s << " " << n;
    }
    EXPECT_EQ(boost::json::serialize(out[0].record.at("feature_maps").at(s == 0 ? "stem" : "stage3")),
              "[" + std::to_string(h) + "," + std::to_string(w) + "," + std::to_string(c) + "]");
  }
  EXPECT_THAT(message_of([&] { build("tiny-preact", "type: feature_maps\nlayout: NHWC-ish"); }),
              HasSubstr("expected nchw or nhwc"));
}

TEST(FeatureMapsHead, DefaultsToTheBackbonesOutFeatures) {
  auto b = build("tiny-preact", "type: feature_maps");
  EXPECT_EQ(static_cast<const heads::FeatureMapsHead&>(*b.head).stages(), b.backbone->out_features());
  auto chosen = testing::bit_backbone("tiny-preact", "out_features: [stage1, stage3]");
  HeadContext ctx{*chosen, {}};
  auto head = builtin_registry().build_head(yaml("type: feature_maps"), ctx);
  EXPECT_EQ(static_cast<const heads::FeatureMapsHead&>(*head).stages(),
            (std::vector<std::string>{"stage1", "stage3"}));
}

TEST(FeatureMapsHead, WithoutAFinalNormTheNormedStageIsTheRawOne) {
  // Bottleneck models (ViT-hybrid's BiT) have no final norm: last_hidden_state is the last stage itself.
  auto b = build("tiny-bottleneck-same-os8", "type: feature_maps\nout_features: [stage3]\nnorm: true");
  const auto ref = SafetensorsFile::open(model_dir("tiny-bottleneck-same-os8") / "reference.safetensors");
  const auto f = b.backbone->forward(ref.load("a.pixel_values"), b.head->needs().request());
  const auto maps = static_cast<const heads::FeatureMapsHead&>(*b.head).feature_maps(f);
  EXPECT_TRUE(near(maps[0], ref.load("a.hidden_states.3"), testing::tolerance_for(ref.find("a.hidden_states.3")->dtype)));
}

TEST(FeatureMapsHead, NeedsTheBackboneCannotMeetAreRejectedWithBothShapes) {
  auto backbone = testing::bit_backbone("tiny-bottleneck-same-os8");
  HeadContext ctx{*backbone, {}};
  const auto unknown = message_of([&] {
    builtin_registry().build_head(yaml("type: feature_maps\nout_features: [stage3, stage4]"), ctx);
  });
  EXPECT_THAT(unknown, HasSubstr("it needs stage 'stage4', which the backbone does not have"));
  EXPECT_THAT(unknown, HasSubstr("The head needs stage3 (128 channels), stage4 (any channels)"));
  EXPECT_THAT(unknown, HasSubstr("the backbone gives stem (16 channels, stride 4)"));
  EXPECT_THAT(unknown, HasSubstr("stage3 (128 channels, stride 8)"));
  EXPECT_THROW(builtin_registry().build_head(yaml("type: feature_maps\nout_features: [stage4]"), ctx),
               ConfigError);

  const auto channels = message_of([&] {
    builtin_registry().build_head(
        yaml("type: feature_maps\nout_features: [stage2, stage3]\nchannels: [64, 256]"), ctx);
  });
  EXPECT_THAT(channels, HasSubstr("stage 'stage3' has 128 channels, the head expects 256"));
  EXPECT_NO_THROW(builtin_registry().build_head(
      yaml("type: feature_maps\nout_features: [stage2, stage3]\nchannels: [64, 128]"), ctx));

  EXPECT_THAT(
      message_of([&] { builtin_registry().build_head(yaml("type: feature_maps\nout_indices: [7]"), ctx); }),
      HasSubstr("the backbone gives stem"));
  EXPECT_THAT(
      message_of([&] {
        builtin_registry().build_head(yaml("type: feature_maps\nout_features: [stage2]\nnorm: true"), ctx);
      }),
      HasSubstr("norm: applies the final norm to the backbone's last stage 'stage3', which is not selected"));
  EXPECT_THAT(message_of([&] {
                builtin_registry().build_head(
                    yaml("type: feature_maps\nout_features: [stage2]\nchannels: [1, 2]"), ctx);
              }),
              HasSubstr("channels: has 2 counts for the 1 stages"));
}

TEST(FeatureMapsHead, MissingMapInTheForwardResultIsAnError) {
  heads::FeatureMapsHead head({"stage1"}, {});
  ForwardResult empty;
  EXPECT_THAT(message_of([&] { head.run(empty); }), HasSubstr("has no stage 'stage1' map"));
}

}  // namespace
}  // namespace visbone
