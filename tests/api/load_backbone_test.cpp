#include <omp.h>

#include <gtest/gtest.h>

#include "api_test_support.h"
#include "support/winograd.h"
#include "visbone/visbone.h"

namespace visbone {
namespace {

using namespace api_test;

TEST(LoadBackbone, FolderWithTheConfigSelection) {
  auto bb = load_backbone(kTiny.string());
  EXPECT_EQ(bb->stage_names(), (std::vector<std::string>{"stem", "stage1", "stage2", "stage3", "stage4"}));
  EXPECT_EQ(bb->out_features(), std::vector<std::string>{"stage4"});
  EXPECT_EQ(bb->out_indices(), std::vector<int>{4});
  const auto maps = bb->forward(random_batch({2, 3, 64, 64}, 1));
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_EQ(maps.at("stage4").shape(), (Shape{2, 256, 2, 2}));
}

TEST(LoadBackbone, SelectedStagesHaveTheirShapesAndStrides) {
  BackboneOptions o;
  o.out_features = {"stage2", "stage3", "stage4"};
  auto bb = load_backbone(kTiny.string(), o);
  const auto shapes = bb->output_shape();
  const Tensor batch = random_batch({1, 3, 96, 64}, 2);
  const auto maps = bb->forward(batch);
  ASSERT_EQ(maps.size(), 3u);
  for (const auto& name : bb->out_features()) {
    const Tensor& m = maps.at(name);
    const StageShape s = shapes.at(name);
    EXPECT_EQ(m.shape(), (Shape{1, s.channels, 96 / s.stride, 64 / s.stride})) << name;
  }
  EXPECT_EQ(shapes.at("stage2"), (StageShape{64, 8}));
  EXPECT_EQ(shapes.at("stage4"), (StageShape{256, 32}));
  // feature_maps: the same maps in out_features order.
  const auto list = bb->feature_maps(batch);
  ASSERT_EQ(list.size(), 3u);
  for (std::size_t i = 0; i < list.size(); ++i)
    EXPECT_TRUE(identical(list[i], maps.at(bb->out_features()[i])));
}

TEST(LoadBackbone, OutIndicesAsTransformersTakesThem) {
  BackboneOptions o;
  o.out_indices = {-2, -1};
  auto bb = load_backbone(kTiny.string(), o);
  EXPECT_EQ(bb->out_features(), (std::vector<std::string>{"stage3", "stage4"}));
  EXPECT_EQ(bb->out_indices(), (std::vector<int>{-2, -1}));
}

TEST(LoadBackbone, ForwardMatchesTheBackboneContract) {
  BackboneOptions o;
  o.out_features = {"stem", "stage3"};
  auto bb = load_backbone(kTiny.string(), o);
  const Tensor batch = random_batch({1, 3, 64, 64}, 3);
  const auto maps = bb->forward(batch);
  auto direct = bit::BitBackbone::from_pretrained(kTiny);
  auto raw = direct->forward(batch, {{"stem", "stage3"}, false, false, false});
  EXPECT_TRUE(identical(maps.at("stem"), raw.stages.at("stem")));
  EXPECT_TRUE(identical(maps.at("stage3"), raw.stages.at("stage3")));
}

TEST(LoadBackbone, FinalNormGivesTheLastStageAfterTheFinalNorm) {
  BackboneOptions o;
  o.out_features = {"stage3", "stage4"};
  o.final_norm = true;
  auto normed = load_backbone(kTiny.string(), o);
  o.final_norm = false;
  auto raw = load_backbone(kTiny.string(), o);
  const Tensor batch = random_batch({2, 3, 64, 64}, 4);
  const auto a = normed->forward(batch);
  const auto b = raw->forward(batch);
  // Earlier stages are untouched; the last one is transformers' last_hidden_state, not the raw stage.
  EXPECT_TRUE(identical(a.at("stage3"), b.at("stage3")));
  EXPECT_FALSE(identical(a.at("stage4"), b.at("stage4")));
  const auto reference = raw->forward(batch, {{}, false, false, true});
  EXPECT_TRUE(identical(a.at("stage4"), reference.last_hidden_state));
  // The preactivation model's final norm ends in a ReLU.
  for (float v : a.at("stage4")) ASSERT_GE(v, 0.0f);
}

TEST(LoadBackbone, FinalNormNeedsTheLastStage) {
  BackboneOptions o;
  o.out_features = {"stage2"};
  o.final_norm = true;
  try {
    load_backbone(kTiny.string(), o);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'stage4', which is not selected"), std::string::npos) << e.what();
  }
}

TEST(LoadBackbone, InvalidSelectionIsAConfigError) {
  BackboneOptions o;
  o.out_features = {"stage9"};
  EXPECT_THROW(load_backbone(kTiny.string(), o), ConfigError);
  o.out_features.reset();
  o.out_indices = {7};
  EXPECT_THROW(load_backbone(kTiny.string(), o), ConfigError);
  o.out_indices.reset();
  o.threads = -1;
  EXPECT_THROW(load_backbone(kTiny.string(), o), ConfigError);
}

TEST(LoadBackbone, UnknownNamesAreNotFound) {
  for (const std::string name : {"", "no-such-model", "./missing/folder", "bit50"}) {
    try {
      load_backbone(name);
      FAIL() << "expected NotFoundError for '" << name << "'";
    } catch (const NotFoundError& e) {
      EXPECT_NE(std::string(e.what()).find("bit-50"), std::string::npos) << e.what();
    }
  }
}

TEST(LoadBackbone, BadInputIsAShapeError) {
  auto bb = load_backbone(kTiny.string());
  EXPECT_THROW(bb->forward(random_batch({1, 1, 64, 64}, 5)), ShapeError);
  EXPECT_THROW(bb->forward(random_batch({3, 64, 64}, 5)), ShapeError);
  EXPECT_THROW(bb->forward(Tensor()), ShapeError);
}

TEST(LoadBackbone, EveryErrorIsAVisboneError) {
  TempDir empty_cache;
  EXPECT_THROW(load_backbone("no/such-repo",
                             [&] {
                               BackboneOptions o;
                               o.hub.offline = true;
                               o.hub.cache_dir = empty_cache.path();
                               return o;
                             }()),
               Error);
}

TEST(LoadBackbone, HubIdFromTheCache) {
  TempDir cache;
  BackboneOptions o;
  o.hub = offline_cache(cache.path(), "someone/tiny-preact", kTiny);
  o.out_features = {"stage1"};
  auto bb = load_backbone("someone/tiny-preact", o);
  EXPECT_EQ(bb->forward(random_batch({1, 3, 32, 32}, 6)).at("stage1").shape(), (Shape{1, 32, 8, 8}));
}

// Winograd per backbone: the same stage4 within 1e-4 of the largest value (its error budget), with it on or
// off, whatever VISBONE_WINOGRAD says; through a preset (the registry's `winograd` parameter) as well.
TEST(LoadBackbone, WinogradIsAnOptionAndStaysExact) {
  TempDir cache;
  BackboneOptions o;
  o.hub = offline_cache(cache.path(), "google/bit-50", kBit50);
  o.out_features = {"stage4"};
  const Tensor batch = random_batch({1, 3, 96, 96}, 11);
  o.winograd = false;
  auto plain = load_backbone(kBit50.string(), o);
  const Tensor direct = plain->forward(batch).at("stage4");
  EXPECT_EQ(testing::winograd_primitives(plain->inner()), 0);
  for (const std::string& name : {kBit50.string(), std::string("bit-50")}) {
    o.winograd = true;
    auto backbone = load_backbone(name, o);
    const Tensor wino = backbone->forward(batch).at("stage4");
    EXPECT_TRUE(near(wino, direct, kF32Tolerance)) << name;
    // oneDNN falls back to direct silently; only a count of Winograd primitives shows it ran.
    if (testing::cpu_has_winograd()) {
      EXPECT_GT(testing::winograd_primitives(backbone->inner()), 0) << name;
    }
  }
  if (!testing::cpu_has_winograd()) GTEST_SKIP() << testing::kNoWinograd << " (exactness checked, not that it ran)";
}

TEST(LoadBackbone, PresetResolvesItsHubCheckpoint) {
  TempDir cache;
  BackboneOptions o;
  o.hub = offline_cache(cache.path(), "google/bit-50", kBit50);
  o.out_features = {"stage2", "stage3", "stage4"};
  auto bb = load_backbone("bit-50", o);
  const auto shapes = bb->output_shape();
  EXPECT_EQ(shapes.at("stage2"), (StageShape{512, 8}));
  EXPECT_EQ(shapes.at("stage3"), (StageShape{1024, 16}));
  EXPECT_EQ(shapes.at("stage4"), (StageShape{2048, 32}));
  EXPECT_EQ(bb->forward(random_batch({1, 3, 64, 64}, 7)).at("stage4").shape(), (Shape{1, 2048, 2, 2}));
  ASSERT_TRUE(bb->classifier());
  EXPECT_EQ(bb->classifier()->labels.size(), 1000u);
}

TEST(LoadBackbone, PresetChecksTheArchitecture) {
  TempDir cache;
  BackboneOptions o;
  o.hub = offline_cache(cache.path(), "google/bit-50", kTiny);  // not a bit-50 behind the preset's hub id
  try {
    load_backbone("bit-50", o);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("is not a bit-50 model"), std::string::npos) << e.what();
  }
}

TEST(LoadBackbone, PresetWithoutAHubCheckpoint) {
  try {
    load_backbone("R50x3");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("pass a timm folder, a BiT .npz file"), std::string::npos)
        << e.what();
  }
}

TEST(LoadBackbone, ThreadsApplyDuringACallAndAreRestored) {
  omp_set_num_threads(3);
  BackboneOptions o;
  o.threads = 1;
  auto one = load_backbone(kTiny.string(), o);
  EXPECT_EQ(omp_get_max_threads(), 3);
  const Tensor batch = random_batch({1, 3, 64, 64}, 8);
  const auto a = one->forward(batch);
  EXPECT_EQ(omp_get_max_threads(), 3);
  auto all = load_backbone(kTiny.string());
  const auto b = all->forward(batch);
  EXPECT_TRUE(near(a.at("stage4"), b.at("stage4"), kF32Tolerance));
  omp_set_num_threads(omp_get_num_procs());
}

}  // namespace
}  // namespace visbone
