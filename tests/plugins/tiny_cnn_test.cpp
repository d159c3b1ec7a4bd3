// The custom backbone plugin: a non-BiT network behind the same contract, built through the registry, with
// outputs checked by hand, and the built-in heads built on it (or rejected with both shapes).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/support.h"
#include <unistd.h>

#include "visbone/bit/bit_component.h"
#include "visbone/core/errors.h"
#include "visbone/core/safetensors.h"
#include "visbone/heads/components.h"
#include "visbone/registry/plugin_loader.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;
using registry::Params;
using ::testing::HasSubstr;

using visbone::testing::message_of;

class TinyCnn : public ::testing::Test {
 protected:
  void SetUp() override {
    heads::register_components(registry_);
    registry::load_plugin(registry_, TINY_CNN_PLUGIN);
    dir_ = fs::temp_directory_path() / ("visbone_tiny_cnn_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<Backbone> build(const std::string& yaml) {
    return registry_.build_backbone(Params::parse("type: tiny_cnn\n" + yaml, "t.yaml"));
  }
  registry::Registry registry_;
  fs::path dir_;
};

TEST_F(TinyCnn, StatesItsOwnStagesAndShapes) {
  auto b = build("channels: [8, 16, 24]\nout_features: [layer1, layer3]");
  EXPECT_EQ(b->stage_names(), (std::vector<std::string>{"layer1", "layer2", "layer3"}));
  EXPECT_EQ(b->out_features(), (std::vector<std::string>{"layer1", "layer3"}));
  EXPECT_EQ(b->output_shape().at("layer2"), (StageShape{16, 4}));
  EXPECT_EQ(b->output_shape().at("layer3"), (StageShape{24, 8}));
  EXPECT_EQ(b->pooled_channels(), 24);
  EXPECT_FALSE(b->classifier().has_value());
  Tensor x({2, 3, 17, 16});
  ForwardRequest req;
  req.stages = {"layer2"};
  req.pooled = true;
  const auto out = b->forward(x, req);
  EXPECT_EQ(out.stages.at("layer2").shape(), (Shape{2, 16, 5, 4}));
  EXPECT_EQ(out.pooled.shape(), (Shape{2, 24}));
  EXPECT_EQ(out.stages.count("layer1"), 0u);
  // The contract's default output_shape(H, W) (each stride rounds up) is this network's exact size.
  EXPECT_EQ(b->output_shape(17, 16).at("layer2"), (ShapeSpec{16, 4, 5, 4}));
  EXPECT_EQ(b->output_shape(17, 16).at("layer3"), (ShapeSpec{24, 8, 3, 2}));
  const auto all = b->forward(Tensor({1, 3, 37, 50}), {b->stage_names(), false, false});
  for (const auto& [name, s] : b->output_shape(37, 50))
    EXPECT_EQ(all.stages.at(name).shape(), (Shape{1, s.channels, s.height, s.width})) << name;
  // The same seed gives the same weights; another seed others.
  Tensor ones({1, 3, 8, 8});
  std::fill(ones.begin(), ones.end(), 1.0f);
  req = {};
  req.pooled = true;
  const auto a = build("seed: 3")->forward(ones, req).pooled,
             a2 = build("seed: 3")->forward(ones, req).pooled,
             c = build("seed: 4")->forward(ones, req).pooled;
  EXPECT_TRUE(std::equal(a.begin(), a.end(), a2.begin()));
  EXPECT_FALSE(std::equal(a.begin(), a.end(), c.begin()));
}

TEST_F(TinyCnn, ComputesWhatItsWeightsSay) {
  // One input channel, two 1-channel layers of all-one kernels and biases 0 and -1: on an all-ones 4x4 input,
  // layer1 (2x2) sums the 3x3 window inside the zero padding: 4 at the top-left corner, 6 elsewhere.
  Tensor w({1, 1, 3, 3});
  std::fill(w.begin(), w.end(), 1.0f);
  Tensor b0({1}), b1({1});
  b1.data()[0] = -1.0f;
  write_safetensors(
      dir_ / "w.safetensors",
      {{"layers.0.weight", w}, {"layers.0.bias", b0}, {"layers.1.weight", w}, {"layers.1.bias", b1}});
  auto b = build("in_channels: 1\nchannels: [1, 1]\nweights: " + (dir_ / "w.safetensors").string());
  Tensor x({1, 1, 4, 4});
  std::fill(x.begin(), x.end(), 1.0f);
  ForwardRequest req;
  req.stages = {"layer1", "layer2"};
  req.pooled = true;
  req.last_hidden_state = true;
  const auto out = b->forward(x, req);
  const Tensor& l1 = out.stages.at("layer1");
  EXPECT_EQ(std::vector<float>(l1.begin(), l1.end()), (std::vector<float>{4, 6, 6, 9}));
  // layer2 is 1x1: its window covers layer1's top-left 2x2 (the rest is padding): 4+6+6+9 - 1 = 24.
  EXPECT_EQ(out.stages.at("layer2").data()[0], 24.0f);
  EXPECT_EQ(out.pooled.data()[0], 24.0f);
  EXPECT_EQ(out.last_hidden_state.data()[0], 24.0f);  // no final norm

  write_safetensors(dir_ / "bad.safetensors",
                    {{"layers.0.weight", Tensor({2, 1, 3, 3})}, {"layers.0.bias", b0}});
  EXPECT_THAT(message_of([&] {
                build("in_channels: 1\nchannels: [1]\nweights: " + (dir_ / "bad.safetensors").string());
              }),
              HasSubstr("tensor 'layers.0.weight' has shape [2, 1, 3, 3], expected [1, 1, 3, 3]"));
  EXPECT_THAT(message_of([&] { b->forward(Tensor({1, 3, 4, 4}), req); }), HasSubstr("expected (N, 1, H, W)"));
  req.stages = {"stage1"};
  EXPECT_THAT(message_of([&] { b->forward(x, req); }), HasSubstr("stage 'stage1' does not exist"));
  EXPECT_THAT(message_of([&] { build("channels: []"); }), HasSubstr("expected 1 to 8 stage widths"));
}

TEST_F(TinyCnn, BuiltInHeadsWorkOnItOrAreRejectedWithBothShapes) {
  auto b = build("channels: [8, 16]");
  HeadContext ctx{*b, {}};
  auto embedding = registry_.build_head(Params::parse("type: embedding\nnormalize: true", "t.yaml"), ctx);
  auto maps = registry_.build_head(
      Params::parse("type: feature_maps\nout_features: [layer1, layer2]\nnorm: true", "t.yaml"), ctx);
  ForwardRequest req = embedding->needs().request();
  merge_into(req, maps->needs());
  Tensor x({2, 3, 8, 8});
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<float>(i % 5) - 2.0f;
  const auto f = b->forward(x, req);
  EXPECT_EQ(embedding->run(f)[1].tensors[0].second.numel(), 16);
  const auto m = maps->run(f);
  EXPECT_EQ(m[0].tensors[1].first, "layer2");
  EXPECT_EQ(m[0].tensors[1].second.shape(), (Shape{16, 2, 2}));

  const auto msg = message_of([&] {
    registry_.build_head(Params::parse("type: feature_maps\nout_features: [stage4]", "t.yaml"), ctx);
  });
  EXPECT_THAT(msg, HasSubstr("it needs stage 'stage4', which the backbone does not have"));
  EXPECT_THAT(msg,
              HasSubstr("the backbone gives layer1 (8 channels, stride 2), layer2 (16 channels, stride 4), "
                        "pooled (16 channels)"));
  // BiT's digits classifier (256 channels) on this 16-channel network.
  const auto cls = message_of([&] {
    registry_.build_head(
        Params::parse("type: classification\nweights: " +
                          (fs::path(VISBONE_TEST_DATA) / "models" / "bit-tiny-digits").string(),
                      "t.yaml"),
        ctx);
  });
  EXPECT_THAT(cls, HasSubstr("the pooled features have 16 channels, the head expects 256"));
}

}  // namespace
}  // namespace visbone
