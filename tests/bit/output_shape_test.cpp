// output_shape() agrees with the tensors the forward pass produces, for every fixture architecture and for
// output_stride 8, 16 and 32 (the weights do not depend on output_stride, so the fixtures' serve).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <random>

#include "fixtures.h"
#include "support/support.h"
#include "visbone/bit/bit_backbone.h"
#include "visbone/core/asan.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/core/safetensors.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;

// A copy of fixture `name` with one config key changed (weights linked, not copied), in a folder of `tmp`
// (each test its own, removed after it).
fs::path with_config(const testing::TempDir& tmp, const std::string& name, const std::string& key,
                     const boost::json::value& value) {
  const fs::path src = testing::model_dir(name);
  const fs::path dst = tmp / (name + "_" + key + "_" + boost::json::serialize(value));
  fs::create_directories(dst);
  auto config = read_json_file(src / "config.json");
  config.as_object()[key] = value;
  std::ofstream(dst / "config.json") << boost::json::serialize(config);
  for (const auto& e : fs::directory_iterator(src))
    if (e.path().extension() == ".safetensors" || e.path().filename() == "model.safetensors.index.json")
      fs::create_symlink(e.path(), dst / e.path().filename());
  return dst;
}

fs::path with_output_stride(const testing::TempDir& tmp, const std::string& name, int os) {
  return with_config(tmp, name, "output_stride", os);
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// The stem's size along one axis, as transformers' BitEmbeddings computes it: the stride-2 conv halves it
// (rounding up); a 1-pixel zero pad follows unless global_padding is SAME; the 3x3 stride-2 pool then pads
// dynamically (halving, rounding up) with embedding_dynamic_padding, else takes only whole windows.
std::int64_t stem_size(std::int64_t in, const bit::BitConfig& c) {
  const std::int64_t x = ceil_div(in, 2) + (c.global_padding == bit::Padding::Same ? 0 : 2);
  return c.embedding_dynamic_padding ? ceil_div(x, 2) : (x - 3) / 2 + 1;
}

void check(const fs::path& dir, std::int64_t h, std::int64_t w) {
  auto backbone = bit::BitBackbone::from_pretrained(dir);
  const auto& c = backbone->model().config();
  Tensor input({2, c.num_channels, h, w});
  for (std::int64_t i = 0; i < input.numel(); ++i) input.data()[i] = static_cast<float>((i * 7919) % 255) / 255.f;
  ForwardRequest req{backbone->stage_names(), true, false};
  const auto out = backbone->forward(input, req);
  const auto shapes = backbone->output_shape();
  for (const auto& name : backbone->stage_names()) {
    const Tensor& t = out.stages.at(name);
    const auto s = shapes.at(name);
    SCOPED_TRACE(dir.string() + " " + name);
    EXPECT_EQ(t.dim(1), s.channels);
    // Past the stem (stride 4) every stride-2 convolution is padded: H halves, rounding up.
    EXPECT_EQ(t.dim(2), ceil_div(stem_size(h, c), s.stride / 4));
    EXPECT_EQ(t.dim(3), ceil_div(stem_size(w, c), s.stride / 4));
  }
  EXPECT_EQ(out.pooled.dim(1), backbone->pooled_channels());
}

TEST(OutputShape, MatchesForwardForEveryFixtureAndOutputStride) {
  for (const char* name : {"tiny-preact", "tiny-bottleneck-same-os8", "tiny-preact-same-os16", "tiny-gray-dynstem"})
    for (int os : {8, 16, 32}) {
      testing::TempDir tmp;
      const fs::path dir = with_output_stride(tmp, name, os);
      check(dir, 64, 96);
      check(dir, 65, 97);
    }
}

TEST(OutputShape, StridesReflectDilation) {
  testing::TempDir tmp;
  auto b8 = bit::BitBackbone::from_pretrained(with_output_stride(tmp, "tiny-preact", 8));
  EXPECT_EQ(b8->output_shape().at("stage2").stride, 8);
  EXPECT_EQ(b8->output_shape().at("stage4").stride, 8);
  auto b32 = bit::BitBackbone::from_pretrained(with_output_stride(tmp, "tiny-preact", 32));
  EXPECT_EQ(b32->output_shape().at("stem").stride, 4);
  EXPECT_EQ(b32->output_shape().at("stage4").stride, 32);
  EXPECT_EQ(b32->output_shape().at("stage4").channels, 256);
}

// transformers fails mid-forward ("The size of tensor a (22) must match the size of tensor b (24)"); we
// refuse before running, naming the unit and both shapes.
TEST(OutputShape, ValidPaddingThatDoesNotAddUpFailsBeforeRunning) {
  testing::TempDir tmp;
  for (const char* spelling : {"valid", "VALID"}) {
    auto backbone = bit::BitBackbone::from_pretrained(with_config(tmp, "tiny-preact", "global_padding", spelling));
    try {
      backbone->forward(Tensor({1, 3, 96, 100}), {{"stage4"}, false, false});
      FAIL() << "expected a ShapeError";
    } catch (const ShapeError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("bit.encoder.stages.0.layers.0"), std::string::npos) << msg;
      EXPECT_NE(msg.find("[1, 32, 21, 22]"), std::string::npos) << msg;
      EXPECT_NE(msg.find("[1, 32, 23, 24]"), std::string::npos) << msg;
    }
  }
}

// output_shape(H, W) at 200 random sizes 33..1000 (height and width drawn apart) for every tiny fixture
// (SAME and default padding, dynamic stem padding, timm's stem_conv and dilation) and output_stride 8, 16
// and 32: against BiT's shape arithmetic at every size, and against the maps a real forward pass gives at 20
// of those sizes per model, 200 forward passes in all (under AddressSanitizer, 10x slower, at 2 per model).
TEST(OutputShape, ExactSizesMatchForwardAtRandomSizes) {
  testing::TempDir tmp;
  std::vector<fs::path> dirs;
  for (const char* name : {"tiny-preact", "tiny-bottleneck-same-os8", "tiny-preact-same-os16", "tiny-gray-dynstem",
                           "bit-tiny-digits"})
    dirs.push_back(testing::model_dir(name));
  dirs.push_back(testing::model_dir("timm-tiny-os16") / "timm");
  dirs.push_back(testing::model_dir("timm-tiny-w2") / "timm");
  for (int os : {8, 16}) dirs.push_back(with_output_stride(tmp, "tiny-preact", os));
  dirs.push_back(with_output_stride(tmp, "tiny-gray-dynstem", 8));
  std::mt19937 rng(15);
  std::uniform_int_distribution<std::int64_t> size(33, 1000);
  std::vector<std::pair<std::int64_t, std::int64_t>> sizes;
  for (int i = 0; i < 200; ++i) sizes.emplace_back(size(rng), size(rng));
  for (const auto& dir : dirs) {
    auto backbone = bit::BitBackbone::from_pretrained(dir);
    const auto& c = backbone->model().config();
    std::vector<std::string> stages = backbone->stage_names();
    if (backbone->output_shape().count(bit::kStemConv)) stages.push_back(bit::kStemConv);
    for (const auto& [h, w] : sizes) {
      const auto specs = backbone->output_shape(h, w);
      ASSERT_EQ(specs.size(), stages.size());
      for (const auto& [name, s] : specs) {
        SCOPED_TRACE(dir.string() + " " + name + " at " + std::to_string(h) + "x" + std::to_string(w));
        EXPECT_EQ(s.stride, backbone->output_shape().at(name).stride);
        const bool conv = name == bit::kStemConv;  // stride 2, before the stem's pad and pool
        EXPECT_EQ(s.height, conv ? ceil_div(h, 2) : ceil_div(stem_size(h, c), s.stride / 4));
        EXPECT_EQ(s.width, conv ? ceil_div(w, 2) : ceil_div(stem_size(w, c), s.stride / 4));
      }
    }
#if defined(VISBONE_ASAN)
    constexpr std::size_t kEvery = 100;
#else
    constexpr std::size_t kEvery = 10;
#endif
    for (std::size_t i = (&dir - dirs.data()) % kEvery; i < sizes.size(); i += kEvery) {
      const auto [h, w] = sizes[i];
      SCOPED_TRACE(dir.string() + " forward at " + std::to_string(h) + "x" + std::to_string(w));
      const auto specs = backbone->output_shape(h, w);
      const auto out = backbone->forward(Tensor({1, backbone->input_channels(), h, w}), {stages, false, false});
      for (const auto& name : stages) {
        const ShapeSpec& s = specs.at(name);
        EXPECT_EQ(Shape({1, s.channels, s.height, s.width}), out.stages.at(name).shape()) << name;
      }
    }
  }
}

// bit-50 (too slow to run 200 times): output_shape(H, W) against BiT's shape arithmetic at 200 sizes, and
// against forward at two.
TEST(OutputShape, Bit50ExactSizesFollowTheArithmetic) {
  auto backbone = bit::BitBackbone::from_pretrained(testing::model_dir("bit-50-random-fp16"));
  const auto& c = backbone->model().config();
  std::mt19937 rng(50);
  std::uniform_int_distribution<std::int64_t> size(33, 1000);
  for (int i = 0; i < 200; ++i) {
    const std::int64_t h = size(rng), w = size(rng);
    for (const auto& [name, s] : backbone->output_shape(h, w)) {
      EXPECT_EQ(s.height, ceil_div(stem_size(h, c), s.stride / 4)) << name << " at " << h << "x" << w;
      EXPECT_EQ(s.width, ceil_div(stem_size(w, c), s.stride / 4)) << name << " at " << h << "x" << w;
    }
  }
  for (const auto& [h, w] : {std::pair<std::int64_t, std::int64_t>{33, 47}, {101, 70}}) {
    const auto out = backbone->forward(Tensor({1, 3, h, w}), {backbone->stage_names(), false, false});
    for (const auto& [name, s] : backbone->output_shape(h, w))
      EXPECT_EQ(Shape({1, s.channels, s.height, s.width}), out.stages.at(name).shape()) << name;
  }
}

// The shapes transformers (and timm) produced for the fixtures' reference inputs.
TEST(OutputShape, ExactSizesMatchTheReferenceOutputs) {
  const std::vector<std::pair<std::string, std::string>> models{
      {"tiny-preact", ""}, {"tiny-bottleneck-same-os8", ""}, {"tiny-preact-same-os16", ""},
      {"tiny-gray-dynstem", ""}, {"bit-50-random-fp16", ""}, {"timm-tiny-os16", "timm"}, {"timm-tiny-w2", "timm"}};
  for (const auto& [name, sub] : models) {
    const fs::path dir = testing::model_dir(name);
    auto backbone = bit::BitBackbone::from_pretrained(sub.empty() ? dir : dir / sub);
    const auto ref = SafetensorsFile::open(dir / "reference.safetensors");
    const auto names = backbone->stage_names();
    int checked = 0;
    for (const auto& input : ref.tensors()) {
      const auto dot = input.name.find(".pixel_values");
      if (dot == std::string::npos) continue;
      const std::string prefix = input.name.substr(0, dot);
      const auto specs = backbone->output_shape(input.shape[2], input.shape[3]);
      for (const auto& t : ref.tensors()) {
        const std::string key = t.name.substr(std::min(t.name.size(), prefix.size() + 1));
        std::string stage;
        if (key.rfind("hidden_states.", 0) == 0) stage = names.at(std::stoul(key.substr(14)));
        if (key.rfind("stage.", 0) == 0) stage = names.at(std::stoul(key.substr(6)));
        if (key == "stem" || key == "stem_conv") stage = key;
        if (t.name.rfind(prefix + ".", 0) != 0 || stage.empty()) continue;
        const ShapeSpec& s = specs.at(stage);
        EXPECT_EQ(Shape({t.shape[0], s.channels, s.height, s.width}), t.shape) << name << " " << t.name;
        ++checked;
      }
    }
    EXPECT_GE(checked, 5) << name;
  }
}

// detectron2's Backbone properties: BiT runs any size as it is (no padding to a multiple).
TEST(OutputShape, ReportsNoPaddingConstraints) {
  auto backbone = bit::BitBackbone::from_pretrained(testing::model_dir("tiny-preact"));
  EXPECT_EQ(backbone->size_divisibility(), 0);
  EXPECT_TRUE(backbone->padding_constraints().empty());
}

}  // namespace
}  // namespace visbone
