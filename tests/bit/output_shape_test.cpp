// output_shape() agrees with the tensors the forward pass produces, for every fixture architecture and for
// output_stride 8, 16 and 32 (the weights do not depend on output_stride, so the fixtures' serve).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "fixtures.h"
#include "visbone/bit/bit_backbone.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;

// A copy of fixture `name` with one config key changed (weights linked, not copied).
fs::path with_config(const std::string& name, const std::string& key, const boost::json::value& value) {
  const fs::path src = testing::model_dir(name);
  const fs::path dst =
      fs::temp_directory_path() / ("visbone_cfg_" + name + "_" + key + "_" + boost::json::serialize(value));
  fs::remove_all(dst);
  fs::create_directories(dst);
  auto config = read_json_file(src / "config.json");
  config.as_object()[key] = value;
  std::ofstream(dst / "config.json") << boost::json::serialize(config);
  for (const auto& e : fs::directory_iterator(src))
    if (e.path().extension() == ".safetensors" || e.path().filename() == "model.safetensors.index.json")
      fs::create_symlink(e.path(), dst / e.path().filename());
  return dst;
}

fs::path with_output_stride(const std::string& name, int os) { return with_config(name, "output_stride", os); }

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
    // With the default padding, a stage of stride s maps H to ceil(H / s) (SAME) or close to it.
    EXPECT_NEAR(static_cast<double>(t.dim(2)), static_cast<double>(h) / s.stride, 1.0);
    EXPECT_NEAR(static_cast<double>(t.dim(3)), static_cast<double>(w) / s.stride, 1.0);
  }
  EXPECT_EQ(out.pooled.dim(1), backbone->pooled_channels());
}

TEST(OutputShape, MatchesForwardForEveryFixtureAndOutputStride) {
  for (const char* name : {"tiny-preact", "tiny-bottleneck-same-os8", "tiny-preact-same-os16", "tiny-gray-dynstem"})
    for (int os : {8, 16, 32}) check(with_output_stride(name, os), 64, 96);
}

TEST(OutputShape, StridesReflectDilation) {
  auto b8 = bit::BitBackbone::from_pretrained(with_output_stride("tiny-preact", 8));
  EXPECT_EQ(b8->output_shape().at("stage2").stride, 8);
  EXPECT_EQ(b8->output_shape().at("stage4").stride, 8);
  auto b32 = bit::BitBackbone::from_pretrained(with_output_stride("tiny-preact", 32));
  EXPECT_EQ(b32->output_shape().at("stem").stride, 4);
  EXPECT_EQ(b32->output_shape().at("stage4").stride, 32);
  EXPECT_EQ(b32->output_shape().at("stage4").channels, 256);
}

// transformers fails mid-forward ("The size of tensor a (22) must match the size of tensor b (24)"); we
// refuse before running, naming the unit and both shapes.
TEST(OutputShape, ValidPaddingThatDoesNotAddUpFailsBeforeRunning) {
  for (const char* spelling : {"valid", "VALID"}) {
    auto backbone = bit::BitBackbone::from_pretrained(with_config("tiny-preact", "global_padding", spelling));
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
