#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api_test_support.h"
#include "visbone/visbone.h"

namespace visbone {
namespace {

using namespace api_test;

TEST(MakeHead, ClassificationFromASpec) {
  auto bb = load_backbone(kTiny.string());
  auto head = make_head("{type: classification, top_k: 3}", *bb);
  const auto results = run_head(*bb, *head, random_batch({2, 3, 64, 64}, 1));
  ASSERT_EQ(results.size(), 2u);
  const auto& predictions = results[0].record.at("predictions").as_array();
  ASSERT_EQ(predictions.size(), 3u);
  // Scores sorted, labels from the checkpoint's id2label.
  const auto labels = bb->classifier()->labels;
  double previous = 2;
  for (const auto& p : predictions) {
    const double score = p.at("score").to_number<double>();
    EXPECT_LE(score, previous);
    previous = score;
    const auto index = p.at("index").to_number<std::size_t>();
    EXPECT_EQ(p.at("label").as_string(), labels.at(index));
  }
}

TEST(MakeHead, ATypeNameAlone) {
  auto bb = load_backbone(kTiny.string());
  auto head = make_head("embedding", *bb);
  const auto results = run_head(*bb, *head, random_batch({1, 3, 64, 64}, 2));
  ASSERT_EQ(results.size(), 1u);
  ASSERT_EQ(results[0].tensors.size(), 1u);
  EXPECT_EQ(results[0].tensors[0].second.shape(), (Shape{256}));
}

TEST(MakeHead, Errors) {
  auto bb = load_backbone(kTiny.string());
  EXPECT_THROW(make_head("{type: no_such_head}", *bb), NotFoundError);
  EXPECT_THROW(make_head("{type: classification, top_kk: 3}", *bb), ConfigError);
  EXPECT_THROW(make_head("{type: [", *bb), ConfigError);
  EXPECT_THROW(make_head("[1, 2]", *bb), ConfigError);
  EXPECT_THROW(make_head("{top_k: 3}", *bb), ConfigError);
  // The backbone cannot feed it: the check happens when the head is made.
  EXPECT_THROW(make_head("{type: embedding, channels: 7}", *bb), ShapeError);
  EXPECT_THROW(make_head("{type: feature_maps, out_features: [stage9]}", *bb), Error);
}

TEST(MakeHead, RelativePathsResolveAgainstBaseDir) {
  auto bb = load_backbone(kTiny.string());
  HeadOptions o;
  o.base_dir = kModels;
  auto head = make_head("{type: classification, weights: tiny-preact, top_k: 1}", *bb, o);
  EXPECT_EQ(run_head(*bb, *head, random_batch({1, 3, 64, 64}, 3)).size(), 1u);
  EXPECT_THROW(make_head("{type: classification, weights: tiny-preact}", *bb), Error);
}

// A head of the program's own, registered in-process.
class MeanHead final : public Head {
 public:
  explicit MeanHead(std::string stage) : stage_(std::move(stage)) {}
  HeadNeeds needs() const override {
    HeadNeeds n;
    n.stages.push_back({stage_, 0});
    return n;
  }
  std::vector<HeadResult> run(const ForwardResult& features) const override {
    const Tensor& m = features.stages.at(stage_);
    std::vector<HeadResult> out(static_cast<std::size_t>(m.dim(0)));
    const std::int64_t per = m.numel() / m.dim(0);
    for (std::int64_t i = 0; i < m.dim(0); ++i) {
      double sum = 0;
      for (std::int64_t j = 0; j < per; ++j) sum += m.data()[i * per + j];
      out[static_cast<std::size_t>(i)].record["mean"] = sum / static_cast<double>(per);
    }
    return out;
  }

 private:
  std::string stage_;
};

TEST(MakeHead, CustomHeadRegisteredInProcess) {
  auto& registry = default_registry();
  if (!registry.contains(registry::ComponentKind::head, "api_test_mean"))
    registry.add_head("api_test_mean", "mean of one stage",
                      [](const registry::Params& p, HeadContext&) -> std::unique_ptr<Head> {
                        return std::make_unique<MeanHead>(p.get<std::string>("stage"));
                      });
  EXPECT_EQ(registry.info(registry::ComponentKind::head, "api_test_mean").origin, registry::kBuiltin);
  auto bb = load_backbone(kTiny.string());
  auto head = make_head("{type: api_test_mean, stage: stage2}", *bb);
  const Tensor batch = random_batch({2, 3, 64, 64}, 4);
  const auto results = run_head(*bb, *head, batch);
  ASSERT_EQ(results.size(), 2u);
  // Against the stage computed directly.
  const Tensor stage2 = bb->forward(batch, {{"stage2"}, false, false, false}).stages.at("stage2");
  double sum = 0;
  for (std::int64_t j = 0; j < stage2.numel() / 2; ++j) sum += stage2.data()[j];
  EXPECT_DOUBLE_EQ(results[0].record.at("mean").as_double(), sum / static_cast<double>(stage2.numel() / 2));
  // Its unknown parameters are reported like a built-in head's.
  EXPECT_THROW(make_head("{type: api_test_mean, stage: stage2, stag: 1}", *bb), ConfigError);
}

TEST(MakeHead, RunHeadsFeedsAllFromOnePass) {
  auto bb = load_backbone(kTiny.string());
  std::vector<std::unique_ptr<Head>> heads;
  heads.push_back(make_head("{type: classification, top_k: 2}", *bb));
  heads.push_back(make_head("{type: feature_maps, out_features: [stage1, stage4], norm: true}", *bb));
  const Tensor batch = random_batch({2, 3, 64, 64}, 5);
  const auto all = run_heads(*bb, heads, batch);
  ASSERT_EQ(all.size(), 2u);
  for (std::size_t h = 0; h < heads.size(); ++h) {
    const auto alone = run_head(*bb, *heads[h], batch);
    ASSERT_EQ(all[h].size(), alone.size());
    for (std::size_t i = 0; i < alone.size(); ++i) {
      EXPECT_EQ(all[h][i].record, alone[i].record);
      ASSERT_EQ(all[h][i].tensors.size(), alone[i].tensors.size());
      for (std::size_t k = 0; k < alone[i].tensors.size(); ++k)
        EXPECT_TRUE(identical(all[h][i].tensors[k].second, alone[i].tensors[k].second));
    }
  }
}

}  // namespace
}  // namespace visbone
