// The `visbone` program as scripts use it: exit statuses, JSON on stdout, errors on stderr.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "bit/fixtures.h"
#include "support/support.h"
#include "visbone/bit/bit_backbone.h"
#include "visbone/core/safetensors.h"

namespace visbone {
namespace {

using ::testing::HasSubstr;

// Runs the built program; `merge` puts stderr after stdout in `out`, as a shell's 2>&1 would.
testing::RunResult run(const std::string& args, bool merge = false) {
  auto r = testing::run_visbone_line(args);
  if (merge) r.out = r.all();
  return r;
}

const std::string kData = VISBONE_TEST_DATA;

TEST(Cli, InspectPrintsStagesShapesAndParameterCount) {
  const auto r = run("inspect " + kData + "/models/bit-50-random-fp16");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = boost::json::parse(r.out).as_object();
  EXPECT_EQ(boost::json::serialize(j.at("stage_names")), R"(["stem","stage1","stage2","stage3","stage4"])");
  EXPECT_EQ(boost::json::serialize(j.at("out_features")), R"(["stage4"])");
  EXPECT_EQ(j.at("output_shape").at("stage3").at("channels").as_int64(), 1024);
  EXPECT_EQ(j.at("output_shape").at("stage3").at("stride").as_int64(), 16);
  EXPECT_EQ(j.at("parameter_count").as_int64(), 25549352);  // google/bit-50: 25.5M
}

// --size adds each stage's height and width for that input (the dynamic-padding stem rounds up; output
// stride 8 keeps stage3 at the stage2 size), and detectron2's padding properties are there with or without it.
TEST(Cli, InspectSizeAddsHeightAndWidth) {
  auto r = run("inspect " + kData + "/models/tiny-bottleneck-same-os8 --size 57,64");
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = boost::json::parse(r.out).as_object();
  const auto& stage3 = j.at("output_shape").at("stage3").as_object();
  EXPECT_EQ(boost::json::serialize(stage3), R"({"channels":128,"stride":8,"height":8,"width":8})");
  EXPECT_EQ(j.at("output_shape").at("stem").at("height").as_int64(), 15);  // transformers: [2, 16, 15, 16]
  EXPECT_EQ(j.at("size_divisibility").as_int64(), 0);
  EXPECT_TRUE(j.at("padding_constraints").as_object().empty());
  r = run("inspect " + kData + "/models/tiny-preact");
  j = boost::json::parse(r.out).as_object();
  EXPECT_FALSE(j.at("output_shape").at("stage1").as_object().contains("height"));
  r = run("inspect " + kData + "/models/tiny-preact --size 64", true);
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.out, HasSubstr("expected HEIGHT,WIDTH"));
  r = run("inspect " + kData + "/models/tiny-preact --size 10,abc", true);  // the option named once
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.out, HasSubstr("error: --size: 'abc' is not an integer"));
}

// The first pass at a new size is timed against the next ones at that size (the value itself is a
// measurement). bench's peak RSS is its own, not the peak of whatever started it: getrusage's ru_maxrss
// survives exec, so bench/compare.py (PyTorch loaded, 250 MiB) once made every smaller runner report 250 MiB.
// Here the parent holds 512 MiB while bench runs a tiny model.
TEST(Cli, BenchPeakRssIsItsOwnNotItsParents) {
  std::vector<char> held(std::size_t{512} << 20);
  for (std::size_t i = 0; i < held.size(); i += 4096) held[i] = 1;  // resident
  const auto r = run("bench " + kData + "/models/tiny-preact --size 40 --runs 1 --warmup 0 --threads 1 --json");
  ASSERT_EQ(r.status, 0) << r.all();
  const double peak = boost::json::parse(r.out).at("peak_rss_mib").as_double();
  EXPECT_GT(peak, 1.0);
  EXPECT_LT(peak, 400.0) << "the parent's 512 MiB";
  EXPECT_EQ(held[4096], 1);
}

TEST(Cli, BenchNewSizeCostIsPrinted) {
  const std::string cmd = "bench " + kData + "/models/tiny-preact --size 40 --runs 1 --warmup 1 --threads 1 --new-size-cost";
  auto r = run(cmd + " --json");
  ASSERT_EQ(r.status, 0) << r.all();
  const auto j = boost::json::parse(r.out).as_object();
  EXPECT_GT(j.at("new_size_first_ms").as_double(), 0.0);
  EXPECT_GT(j.at("new_size_second_ms").as_double(), 0.0);
  // The median over several new sizes of (first pass - the median of the next ones), with its range: one
  // sample per size could come out negative on a busy machine.
  EXPECT_EQ(j.at("new_sizes").as_int64(), 5);
  const double cost = j.at("new_size_cost_ms").as_double();
  EXPECT_LE(j.at("new_size_cost_min_ms").as_double(), cost);
  EXPECT_GE(j.at("new_size_cost_max_ms").as_double(), cost);
  r = run(cmd);
  EXPECT_THAT(r.out, HasSubstr("new size cost: "));
  EXPECT_THAT(
      r.out,
      HasSubstr(" ms (median over 5 new sizes of the first pass minus the median of the next 3; range "));
  EXPECT_FALSE(boost::json::parse(run(cmd.substr(0, cmd.find(" --new")) + " --json").out).as_object().contains(
      "new_size_cost_ms"));
}

TEST(Cli, InspectResolvesSelections) {
  auto r = run("inspect " + kData + "/models/tiny-preact --out-indices 1,-1");
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = boost::json::parse(r.out).as_object();
  EXPECT_EQ(boost::json::serialize(j.at("out_features")), R"(["stage1","stage4"])");
  EXPECT_EQ(boost::json::serialize(j.at("out_indices")), R"([1,-1])");
  r = run("inspect " + kData + "/models/tiny-preact --out-features stem,stage2");
  ASSERT_EQ(r.status, 0) << r.out;
  j = boost::json::parse(r.out).as_object();
  EXPECT_EQ(boost::json::serialize(j.at("out_indices")), R"([0,2])");
}

TEST(Cli, InvalidSelectionExitsWithStatus2AndTheError) {
  auto r = run("inspect " + kData + "/models/tiny-preact --out-features stage3,stage1", true);
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.out, HasSubstr("out_features must be in the same order as stage_names"));
  r = run("inspect " + kData + "/models/tiny-preact --out-indices 7", true);
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.out, HasSubstr("out_indices must be valid indices"));
  r = run("inspect " + kData + "/models/tiny-preact --out-indices x", true);
  EXPECT_EQ(r.status, 2);
}

TEST(Cli, MissingModelIsAnErrorNamingIt) {
  const auto r = run("inspect /nonexistent/model", true);
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.out, HasSubstr("/nonexistent/model"));
}

TEST(Cli, Width2CheckpointFailsNamingTheNormTensor) {
  const auto r = run("inspect " + kData + "/models/tiny-width2", true);
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.out, HasSubstr("bit.norm.weight"));
  EXPECT_THAT(r.out, HasSubstr("[128]"));
  EXPECT_THAT(r.out, HasSubstr("256 channels"));
}

TEST(Cli, ForwardWritesTransformersNames) {
  const testing::TempDir tmp;
  const auto out = tmp / "forward.safetensors";
  const auto r = run("forward " + kData + "/models/tiny-preact --input " + kData +
                         "/models/tiny-preact/reference.safetensors --key b.pixel_values --output " + out.string() +
                         " --out-indices 2,4",
                     true);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto f = SafetensorsFile::open(out);
  for (const char* key : {"hidden_states.0", "hidden_states.4", "last_hidden_state", "pooler_output", "logits",
                          "backbone.feature_maps.2", "backbone.feature_maps.4"})
    EXPECT_NE(f.find(key), nullptr) << key;
  EXPECT_EQ(f.find("backbone.feature_maps.1"), nullptr);
}

// timm-tiny-w2/npz -> hf and -> timm: each result loads and reproduces timm's outputs.
TEST(Cli, ConvertNpzToHfAndTimmKeepsTheOutputs) {
  const auto ref = SafetensorsFile::open(kData + "/models/timm-tiny-w2/reference.safetensors");
  for (const std::string to : {"hf", "timm"}) {
    const testing::TempDir tmp;
    const auto dest = tmp / ("convert_" + to);
    const auto r = run("convert " + kData + "/models/timm-tiny-w2/npz/model.npz --config " + kData +
                           "/models/timm-tiny-w2/hf/config.json --to " + to + " " + dest.string(),
                       true);
    ASSERT_EQ(r.status, 0) << r.out;
    auto backbone = bit::BitBackbone::from_pretrained(dest);
    const auto out = backbone->forward(ref.load("a.pixel_values"), {{"stage4"}, true, true});
    EXPECT_TRUE(testing::near(out.stages.at("stage4"), ref.load("a.stage.4"), testing::kF32Tolerance)) << to;
    EXPECT_TRUE(testing::near(out.logits, ref.load("a.logits"), testing::kF32Tolerance)) << to;
    EXPECT_TRUE(testing::near(out.pooled, ref.load("a.pooled"), testing::kF32Tolerance)) << to;
  }
}

}  // namespace
}  // namespace visbone
