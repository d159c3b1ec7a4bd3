// The classification head: logits from pooled features with its own weights reproduce transformers'
// BitForImageClassification on bit-50-random-fp16 (the cat picture), with the same top-5 names; weights and
// labels from files; needs checked against the backbone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <numeric>

#include "heads_support.h"
#include "visbone/core/json.h"
#include "visbone/core/safetensors.h"
#include "visbone/heads/classification_head.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;
using heads::ClassificationHead;
using testing::builtin_registry;
using ::testing::HasSubstr;
using testing::message_of;
using testing::model_dir;
using testing::yaml;

// The k best indices of a row, ties to the lower index.
std::vector<int> top_indices(const float* row, int n, int k) {
  std::vector<int> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return row[a] > row[b]; });
  order.resize(static_cast<std::size_t>(k));
  return order;
}

TEST(ClassificationHead, ReproducesBit50LogitsAndTop5Names) {
  const auto dir = model_dir("bit-50-random-fp16");
  const auto ref = SafetensorsFile::open(dir / "reference.safetensors");
  const Tensor pixels = ref.load("chelsea.pixel_values");
  const Tensor want = ref.load("chelsea.logits");
  const auto id2label = read_json_file(dir / "config.json").as_object().at("id2label").as_object();

  auto backbone = testing::bit_backbone("bit-50-random-fp16");
  HeadContext ctx{*backbone, {}};
  auto head = builtin_registry().build_head(yaml("type: classification\ntop_k: 5"), ctx);
  const auto features = backbone->forward(pixels, head->needs().request());
  EXPECT_TRUE(features.logits.empty());  // the head computes them, not the model
  const auto results = head->run(features);
  ASSERT_EQ(results.size(), 1u);
  const Tensor& logits = results[0].tensors.at(0).second;
  ASSERT_EQ(results[0].tensors.at(0).first, "logits");
  ASSERT_EQ(logits.numel(), 1000);
  const Tensor want_row = want.view({1000});  // the head's tensors have no batch dimension
  EXPECT_TRUE(testing::near(logits, want_row, testing::kF32Tolerance));
  const double err = testing::difference(logits, want_row).max_rel();

  const auto want_top = top_indices(want.data(), 1000, 5);
  const auto& preds = results[0].record.at("predictions").as_array();
  ASSERT_EQ(preds.size(), 5u);
  std::string names;
  for (std::size_t i = 0; i < 5; ++i) {
    const auto& p = preds[i].as_object();
    const std::string expected = std::string(id2label.at(std::to_string(want_top[i])).as_string());
    EXPECT_EQ(p.at("index").as_int64(), want_top[i]);
    EXPECT_EQ(p.at("label").as_string(), expected);
    names += (i ? ", " : "") + expected;
  }
  // Softmax scores: positive, best first, and the full distribution sums to 1.
  const Tensor& scores = results[0].tensors.at(1).second;
  EXPECT_NEAR(std::accumulate(scores.begin(), scores.end(), 0.0), 1.0, 1e-5);
  EXPECT_GE(preds[0].as_object().at("score").as_double(), preds[4].as_object().at("score").as_double());
  std::cout << "[ bit-50 ] logits relative error " << err << "; top-5: " << names << "\n";
}

TEST(ClassificationHead, WeightsAndLabelsFromFiles) {
  const testing::TempDir tmp;
  const auto& d = tmp.path();
  // A linear probe over the digits model's 256 pooled channels: the checkpoint's own classifier, saved
  // under timm's 1x1-conv names, with class names from a text file.
  auto backbone = testing::bit_backbone("bit-tiny-digits");
  const auto own = backbone->classifier();
  ASSERT_TRUE(own.has_value());
  write_safetensors(d / "probe.safetensors",
                    {{"head.fc.weight", own->weight.view({10, 256, 1, 1})}, {"head.fc.bias", own->bias}});
  {
    std::ofstream labels(d / "names.txt");
    for (const char* n : {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"})
      labels << n << "\n";
  }
  HeadContext ctx{*backbone, {}};
  auto from_file = builtin_registry().build_head(
      yaml("type: classification\nweights: " + (d / "probe.safetensors").string() +
           "\nlabels: " + (d / "names.txt").string() + "\ntop_k: 2\nfunction_to_apply: none"),
      ctx);
  auto own_head = builtin_registry().build_head(yaml("type: classification\ntop_k: 2"), ctx);
  Tensor x({3, 3, 32, 32});
  for (std::int64_t i = 0; i < x.numel(); ++i)
    x.data()[i] = static_cast<float>((i * 7919) % 255) / 127.5f - 1.0f;
  const auto f = backbone->forward(x, from_file->needs().request());
  const auto a = from_file->run(f), b = own_head->run(f);
  ASSERT_EQ(a.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& pa = a[i].record.at("predictions").as_array()[0].as_object();
    const auto& pb = b[i].record.at("predictions").as_array()[0].as_object();
    EXPECT_EQ(pa.at("index"), pb.at("index"));
    const std::vector<std::string> names{"zero", "one", "two",   "three", "four",
                                         "five", "six", "seven", "eight", "nine"};
    EXPECT_EQ(pa.at("label").as_string(), names[static_cast<std::size_t>(pa.at("index").as_int64())]);
    // function_to_apply: none keeps the logits as the scores.
    EXPECT_FLOAT_EQ(static_cast<float>(pa.at("score").as_double()),
                    a[i].tensors[0].second.data()[pa.at("index").as_int64()]);
  }
  // Inline labels of the wrong count, and a folder without a classifier.
  EXPECT_THAT(
      message_of([&] { builtin_registry().build_head(yaml("type: classification\nlabels: [a, b]"), ctx); }),
      HasSubstr("labels: has 2 names, the classifier has 10 classes"));
  EXPECT_THAT(message_of([&] {
                builtin_registry().build_head(yaml("type: classification\nweights: " + d.string()), ctx);
              }),
              HasSubstr("config.json"));
  write_safetensors(d / "nothing.safetensors", {{"other", Tensor({2})}});
  EXPECT_THAT(
      message_of([&] {
        builtin_registry().build_head(
            yaml("type: classification\nweights: " + (d / "nothing.safetensors").string()), ctx);
      }),
      HasSubstr(
          "no classification layer; looked for classifier.1.weight, classifier.weight, head.fc.weight"));
  EXPECT_THAT(message_of([&] {
                builtin_registry().build_head(yaml("type: classification\nfunction_to_apply: argmax"), ctx);
              }),
              HasSubstr("expected softmax, sigmoid or none"));
  fs::remove_all(d);
}

TEST(ClassificationHead, ClassifierForOtherChannelsIsRejectedWithBothShapes) {
  // bit-50's 2048-channel classifier on the digits model, which pools 256 channels.
  auto backbone = testing::bit_backbone("bit-tiny-digits");
  HeadContext ctx{*backbone, {}};
  const auto build = [&] {
    builtin_registry().build_head(
        yaml("type: classification\nweights: " + model_dir("bit-50-random-fp16").string()), ctx);
  };
  const auto msg = message_of(build);
  EXPECT_THAT(msg,
              HasSubstr("head 'classification' cannot be fed by this backbone: the pooled features have 256 "
                        "channels, the head expects 2048"));
  EXPECT_THAT(msg, HasSubstr("The head needs pooled (2048 channels)"));
  EXPECT_THAT(msg,
              HasSubstr("the backbone gives stem (16 channels, stride 4), stage1 (32 channels, stride 4)"));
  EXPECT_THROW(build(), ShapeError);
}

// A BiT backbone as a BitBackbone checkpoint (no classification layer) would be.
class WithoutClassifier final : public Backbone {
 public:
  explicit WithoutClassifier(std::unique_ptr<Backbone> inner) : inner_(std::move(inner)) {}
  std::vector<std::string> stage_names() const override { return inner_->stage_names(); }
  std::vector<std::string> out_features() const override { return inner_->out_features(); }
  using Backbone::output_shape;  // output_shape(H, W) stays visible
  std::map<std::string, StageShape> output_shape() const override { return inner_->output_shape(); }
  int pooled_channels() const override { return inner_->pooled_channels(); }
  int input_channels() const override { return inner_->input_channels(); }
  ForwardResult forward(const Tensor& batch, const ForwardRequest& request) override {
    return inner_->forward(batch, request);
  }

 private:
  std::unique_ptr<Backbone> inner_;
};

TEST(ClassificationHead, BackboneWithoutClassifierNeedsWeights) {
  WithoutClassifier backbone(testing::bit_backbone("tiny-preact"));
  ASSERT_FALSE(backbone.classifier().has_value());
  HeadContext ctx{backbone, {}};
  EXPECT_THAT(message_of([&] { builtin_registry().build_head(yaml("type: classification"), ctx); }),
              HasSubstr("weights: is required: the backbone's checkpoint has no classifier"));
}

TEST(ClassificationHead, SoftmaxSigmoidTopKAndTies) {
  LinearClassifier c{Tensor({3, 2}), Tensor({3}), {"a", "b", "c"}};
  // logits = (x0, x1, x0): classes 0 and 2 tie.
  c.weight.data()[0] = 1;
  c.weight.data()[3] = 1;
  c.weight.data()[4] = 1;
  ClassificationHead head(c, 10, heads::ScoreFunction::softmax);
  EXPECT_EQ(head.top_k(), 3);  // capped at the number of classes
  Tensor pooled({1, 2});
  pooled.data()[0] = 1000.0f;  // large logits must not overflow
  pooled.data()[1] = 999.0f;
  const Tensor l = head.logits(pooled);
  const Tensor s = head.scores(l);
  const auto top = head.top(s.data(), l.data(), 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].index, 0);  // tie with class 2: the lower index first
  EXPECT_EQ(top[1].index, 2);
  EXPECT_EQ(top[2].label, "b");
  const double e = std::exp(-1.0);
  EXPECT_NEAR(top[0].score, 1.0 / (2.0 + e), 1e-6);
  EXPECT_NEAR(top[2].score, e / (2.0 + e), 1e-6);
  ClassificationHead sig(c, 1, heads::ScoreFunction::sigmoid);
  Tensor small({1, 2});
  small.data()[1] = -2.0f;
  EXPECT_NEAR(sig.scores(sig.logits(small)).data()[1], 1.0 / (1.0 + std::exp(2.0)), 1e-7);

  EXPECT_THROW(ClassificationHead(c, 0), ConfigError);
  LinearClassifier bad = c;
  bad.labels = {"a"};
  EXPECT_THAT(message_of([&] { ClassificationHead{bad}; }), HasSubstr("1 labels for 3 classes"));
  bad = c;
  bad.bias = Tensor({2});
  EXPECT_THROW(ClassificationHead{bad}, ShapeError);
  EXPECT_THROW(head.logits(Tensor({1, 5})), ShapeError);
}

}  // namespace
}  // namespace visbone
