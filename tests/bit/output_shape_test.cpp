// output_shape() agrees with the tensors the forward pass produces, for every fixture architecture and for
// output_stride 8, 16 and 32 (the weights do not depend on output_stride, so the fixtures' serve).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "fixtures.h"
#include "support/support.h"
#include "visbone/bit/bit_backbone.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"

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

}  // namespace
}  // namespace visbone
