// The BiT backbones as registry components: presets (architectures, parameter counts from the config alone),
// checkpoint folders, inline configs, hub ids through a resolver, ViT-hybrid checkpoints.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/support.h"
#include "support/vit_hybrid.h"
#include "support/tensor_compare.h"
#include <unistd.h>

#include <boost/json.hpp>
#include <cmath>
#include <fstream>

#include "visbone/bit/bit_backbone.h"
#include "visbone/bit/bit_component.h"
#include "visbone/bit/bit_presets.h"
#include "visbone/core/checkpoint.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/core/safetensors.h"
#include "visbone/registry/registry.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;
using registry::Params;
using ::testing::HasSubstr;

const fs::path kModels = fs::path(VISBONE_TEST_DATA) / "models";

using visbone::testing::message_of;

Params yaml(const std::string& text) {
  return Params::parse(text, "test.yaml");
}

Tensor ramp(const Shape& shape) {
  Tensor t(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = std::sin(0.37f * static_cast<float>(i));
  return t;
}

TEST(BitPresets, KnowTheFamilyByName) {
  std::vector<std::string> names;
  for (const auto& p : bit::bit_presets()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"bit-50", "R50x1", "R50x3", "R101x1", "R101x3", "R152x2",
                                             "R152x4", "vit-hybrid-bit"}));
  const auto& bit50 = bit::bit_preset("bit-50");
  EXPECT_EQ(bit50.model_id, "google/bit-50");
  EXPECT_EQ(bit::bit_preset("R101x3").config.depths, (std::vector<int>{3, 4, 23, 3}));
  EXPECT_EQ(bit::bit_preset("R101x3").config.width_factor, 3);
  EXPECT_EQ(bit::bit_preset("R101x3").config.stage_channels(4), 6144);
  EXPECT_EQ(bit::bit_preset("R152x4").config.depths, (std::vector<int>{3, 8, 36, 3}));
  EXPECT_EQ(bit::bit_preset("R152x4").config.embedding_size, 256);
  EXPECT_EQ(bit::bit_preset("R152x4").timm_name, "resnetv2_152x4_bit");
  const auto& hybrid = bit::bit_preset("vit-hybrid-bit").config;
  EXPECT_EQ(hybrid.layer_type, bit::LayerType::Bottleneck);
  EXPECT_EQ(hybrid.global_padding, bit::Padding::Same);
  EXPECT_EQ(hybrid.stage_names().size(), 4u);  // stem + 3 stages
  EXPECT_EQ(hybrid.out_features, std::vector<std::string>{"stage3"});
  EXPECT_THAT(message_of([] { bit::bit_preset("R50x2"); }), HasSubstr("no BiT preset named 'R50x2'"));
}

TEST(BitPresets, ParameterCountFromTheConfigAlone) {
  const auto& bit50 = bit::bit_preset("bit-50");
  EXPECT_EQ(bit::parameter_count(bit50.config, bit50.num_labels), 25'549'352);
  // The same figure as the fixture's weights (the google/bit-50 architecture with seeded weights).
  EXPECT_EQ(bit::parameter_count(bit50.config, 1000),
            static_cast<std::int64_t>(Checkpoint::open(kModels / "bit-50-random-fp16").parameter_count()));
  // The released R50x3 and R152x4 with their ImageNet-1k heads (timm: 217.3M and 936.5M).
  const auto millions = [](const std::string& preset) {
    return std::round(static_cast<double>(bit::parameter_count(bit::bit_preset(preset).config, 1000)) / 1e5) /
           10;
  };
  EXPECT_DOUBLE_EQ(millions("R50x3"), 217.3);
  EXPECT_DOUBLE_EQ(millions("R152x4"), 936.5);
  EXPECT_EQ(bit::parameter_count(bit::bit_preset("R50x1").config, 0) + 1000 * 2049,
            bit::parameter_count(bit::bit_preset("R50x1").config, 1000));
  EXPECT_THROW(bit::parameter_count(bit50.config, -1), ConfigError);
}

TEST(BitPresets, ParameterCountMatchesEveryFixtureCheckpoint) {
  for (const char* name : {"tiny-preact", "tiny-bottleneck-same-os8", "tiny-preact-same-os16",
                           "tiny-gray-dynstem", "bit-tiny-digits"}) {
    auto ckpt = Checkpoint::open(kModels / name);
    const auto config = bit::BitConfig::from_json(ckpt.config(), name);
    const int labels = ckpt.find("classifier.1.weight") ? config.num_labels() : 0;
    EXPECT_EQ(bit::parameter_count(config, labels), static_cast<std::int64_t>(ckpt.parameter_count()))
        << name;
  }
}

TEST(BitComponent, BuildsFromACheckpointFolderWithASelection) {
  registry::Registry r;
  bit::register_components(r);
  auto b = r.build_backbone(yaml("type: bit\ncheckpoint: " + (kModels / "bit-tiny-digits").string() +
                                 "\nout_features: [stage2, stage4]"));
  EXPECT_EQ(b->out_features(), (std::vector<std::string>{"stage2", "stage4"}));
  EXPECT_EQ(b->pooled_channels(), 256);
  ASSERT_TRUE(b->classifier().has_value());
  EXPECT_EQ(b->classifier()->labels.size(), 10u);
  EXPECT_EQ(b->classifier()->weight.shape(), (Shape{10, 256}));
}

TEST(BitComponent, RejectsAmbiguousOrMissingSources) {
  registry::Registry r;
  bit::register_components(r);
  EXPECT_THAT(message_of([&] { r.build_backbone(yaml("type: bit")); }),
              HasSubstr("give exactly one of checkpoint"));
  EXPECT_THAT(message_of([&] { r.build_backbone(yaml("type: bit\ncheckpoint: /no/such/folder")); }),
              HasSubstr("'/no/such/folder' does not exist"));
  EXPECT_THAT(message_of([&] { r.build_backbone(yaml("type: bit\ncheckpoint: google/bit-50")); }),
              HasSubstr("no hub client"));
  EXPECT_THAT(message_of([&] { r.build_backbone(yaml("type: bit-50")); }),
              HasSubstr("would fetch google/bit-50 from the hub"));
  EXPECT_THAT(
      message_of([&] { r.build_backbone(yaml("type: R50x3")); }),
      HasSubstr("preset R50x3 has no transformers BiT checkpoint on the hub (timm: resnetv2_50x3_bit)"));
}

TEST(BitComponent, PresetsResolveHubIdsAndCheckTheArchitecture) {
  registry::Registry r;
  std::vector<std::string> asked;
  bit::register_components(r, [&](const std::string& id, const std::string& revision) {
    asked.push_back(id + "@" + revision);
    return kModels / "bit-50-random-fp16";
  });
  auto b = r.build_backbone(yaml("type: bit-50\nrevision: v1"));
  EXPECT_EQ(asked, std::vector<std::string>{"google/bit-50@v1"});
  EXPECT_EQ(b->pooled_channels(), 2048);
  EXPECT_EQ(b->classifier()->labels.size(), 1000u);

  const auto msg = message_of([&] {
    r.build_backbone(yaml("type: R50x3\ncheckpoint: " + (kModels / "bit-50-random-fp16").string()));
  });
  EXPECT_THAT(msg, HasSubstr("is not a R50x3 model: embedding_size (stem width) 64 vs 192"));
  EXPECT_THAT(message_of([&] {
                r.build_backbone(yaml("type: bit-50\ncheckpoint: " + (kModels / "bit-tiny-digits").string()));
              }),
              HasSubstr("is not a bit-50 model"));
}

TEST(BitComponent, InlineConfigWithASafetensorsFile) {
  registry::Registry r;
  bit::register_components(r);
  const auto dir = kModels / "bit-tiny-digits";
  const auto config = read_text_file(dir / "config.json");
  // JSON is YAML: the checkpoint's own config.json, inline.
  auto inline_backbone = r.build_backbone(
      yaml("type: bit\nconfig: " + config + "\nweights: " + (dir / "model.safetensors").string()));
  auto folder_backbone = r.build_backbone(yaml("type: bit\ncheckpoint: " + dir.string()));
  const Tensor x = ramp({2, 3, 32, 32});
  ForwardRequest req;
  req.stages = {"stage3"};
  req.pooled = true;
  const auto a = inline_backbone->forward(x, req), b = folder_backbone->forward(x, req);
  EXPECT_TRUE(testing::identical(a.stages.at("stage3"), b.stages.at("stage3")));
  EXPECT_TRUE(testing::identical(a.pooled, b.pooled));
  EXPECT_THAT(message_of([&] { r.build_backbone(yaml("type: bit\nconfig: {depths: [1]}")); }),
              HasSubstr("weights: is required with config"));
  EXPECT_THAT(message_of([&] {
                r.build_backbone(yaml("type: bit\nconfig: {depths: [1, 2], hidden_sizes: [8]}\nweights: x"));
              }),
              HasSubstr("hidden_sizes"));
}

TEST(BitComponent, ReadsTheBitBackboneOfAVitHybridCheckpoint) {
  // A ViT-hybrid checkpoint as transformers saves one: the BiT backbone under the patch embedding, its
  // BitConfig as backbone_config, and ViT tensors beside it.
  const auto src = kModels / "tiny-bottleneck-same-os8";
  const testing::TempDir tmp;
  const fs::path dir = tmp.path();
  // As ViTHybridConfig writes it: BitConfig's hidden_sizes has one more entry than the three depths.
  testing::write_vit_hybrid_checkpoint(src, dir);

  registry::Registry r;
  bit::register_components(r);
  auto hybrid = r.build_backbone(yaml("type: bit\ncheckpoint: " + dir.string()));
  auto plain = r.build_backbone(yaml("type: bit\ncheckpoint: " + src.string()));
  EXPECT_FALSE(hybrid->classifier().has_value());
  const Tensor x = ramp({1, 3, 40, 48});
  ForwardRequest req;
  req.stages = {"stage3"};
  EXPECT_TRUE(testing::identical(hybrid->forward(x, req).stages.at("stage3"), plain->forward(x, req).stages.at("stage3")));
}

}  // namespace
}  // namespace visbone
