#include "visbone/core/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/safetensors_files.h"
#include "visbone/core/errors.h"

namespace visbone {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempDir;
using testing::write_bytes;

Tensor filled(Shape shape, float value) {
  Tensor t(std::move(shape));
  for (auto& v : t) v = value;
  return t;
}

// A folder with config.json and a single model.safetensors holding a [2, 3] "a.weight", a [3] "a.bias" and a
// [4] "extra".
class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_bytes(dir / "config.json", R"({"model_type": "bit"})");
    write_safetensors(
        dir / "model.safetensors",
        {{"a.weight", filled({2, 3}, 1.5f)}, {"a.bias", filled({3}, -1.0f)}, {"extra", filled({4}, 0)}});
  }
  TempDir dir;
};

template <typename E, typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception of the expected type";
  return {};
}

TEST_F(CheckpointTest, OpensSingleFileCheckpoint) {
  auto ckpt = Checkpoint::open(dir.path());
  EXPECT_EQ(ckpt.dir(), dir.path());
  EXPECT_EQ(ckpt.config().at("model_type").as_string(), "bit");
  EXPECT_THAT(ckpt.tensor_names(), ElementsAre("a.bias", "a.weight", "extra"));
  ASSERT_NE(ckpt.find("a.weight"), nullptr);
  EXPECT_EQ(ckpt.find("a.weight")->shape, (Shape{2, 3}));
  EXPECT_EQ(ckpt.find("missing"), nullptr);
  EXPECT_EQ(ckpt.parameter_count(), 6u + 3u + 4u);
  const Tensor w = ckpt.load("a.weight", {2, 3});
  EXPECT_EQ(w.shape(), (Shape{2, 3}));
  EXPECT_EQ(w.data()[5], 1.5f);
}

TEST_F(CheckpointTest, WrongShapeNamesFileTensorAndBothShapes) {
  auto ckpt = Checkpoint::open(dir.path());
  const auto msg = message_of<ShapeError>([&] { ckpt.load("a.weight", {3, 2}); });
  EXPECT_EQ(msg,
            (dir / "model.safetensors").string() + ": tensor 'a.weight' has shape [2, 3], expected [3, 2]");
  // try_load checks the shape of a present tensor as strictly.
  EXPECT_THROW(ckpt.try_load("a.bias", {4}), ShapeError);
  // A failed load does not count as a use.
  EXPECT_THAT(ckpt.unused(), ElementsAre("a.bias", "a.weight", "extra"));
}

TEST_F(CheckpointTest, MissingTensorNamesItAndTheCheckpoint) {
  auto ckpt = Checkpoint::open(dir.path());
  const auto msg = message_of<NotFoundError>([&] { ckpt.load("b.weight", {1}); });
  EXPECT_THAT(msg, AllOf(HasSubstr(dir.path().string()), HasSubstr("no tensor 'b.weight'")));
}

TEST_F(CheckpointTest, ReportsMissingAndUnusedTensors) {
  auto ckpt = Checkpoint::open(dir.path());
  ckpt.load("a.weight", {2, 3});
  EXPECT_FALSE(ckpt.try_load("b.weight", {1}).has_value());
  EXPECT_FALSE(ckpt.try_load("c.weight", {1}).has_value());
  EXPECT_TRUE(ckpt.try_load("a.bias", {3}).has_value());
  EXPECT_THAT(ckpt.unused(), ElementsAre("extra"));
  const auto msg = message_of<FormatError>([&] { ckpt.check_complete(); });
  EXPECT_THAT(msg, AllOf(HasSubstr(dir.path().string()), HasSubstr("missing tensors (2): b.weight, c.weight"),
                         HasSubstr("unused tensors (1): extra"), Not(HasSubstr("a.bias"))));
}

TEST_F(CheckpointTest, CompleteWhenEveryTensorIsUsed) {
  auto ckpt = Checkpoint::open(dir.path());
  ckpt.load("a.weight", {2, 3});
  ckpt.load("a.bias", {3});
  EXPECT_THROW(ckpt.check_complete(), FormatError);  // "extra" is still unused
  ckpt.load("extra", {4});
  EXPECT_TRUE(ckpt.unused().empty());
  EXPECT_NO_THROW(ckpt.check_complete());
}

TEST_F(CheckpointTest, OnlyMissingTensorsAreReported) {
  auto ckpt = Checkpoint::open(dir.path());
  for (const auto& [n, s] :
       std::vector<std::pair<std::string, Shape>>{{"a.weight", {2, 3}}, {"a.bias", {3}}, {"extra", {4}}})
    ckpt.load(n, s);
  EXPECT_FALSE(ckpt.try_load("head.weight", {1}).has_value());
  const auto msg = message_of<FormatError>([&] { ckpt.check_complete(); });
  EXPECT_THAT(msg, AllOf(HasSubstr("missing tensors (1): head.weight"), Not(HasSubstr("unused"))));
}

TEST_F(CheckpointTest, SurvivesMove) {
  auto a = Checkpoint::open(dir.path());
  const TensorInfo* info = a.find("extra");
  Checkpoint b = std::move(a);
  EXPECT_EQ(b.find("extra"), info);
  EXPECT_EQ(b.load("extra", {4}).numel(), 4);
}

TEST(CheckpointFolder, MissingFolderConfigOrWeights) {
  TempDir dir;
  EXPECT_THAT(message_of<NotFoundError>([&] { Checkpoint::open(dir / "nope"); }),
              HasSubstr("not a checkpoint folder"));
  EXPECT_THAT(message_of<NotFoundError>([&] { Checkpoint::open(dir.path()); }), HasSubstr("no config.json"));
  write_bytes(dir / "config.json", "{}");
  EXPECT_THAT(message_of<NotFoundError>([&] { Checkpoint::open(dir.path()); }),
              AllOf(HasSubstr("no weights"), HasSubstr("model.safetensors.index.json")));
  write_bytes(dir / "pytorch_model.bin", "x");
  EXPECT_THAT(message_of<NotFoundError>([&] { Checkpoint::open(dir.path()); }),
              HasSubstr("pytorch_model.bin is not supported"));
}

TEST(CheckpointFolder, ConfigMustBeAJsonObject) {
  TempDir dir;
  write_safetensors(dir / "model.safetensors", {{"a", filled({1}, 0)}});
  write_bytes(dir / "config.json", "[1]");
  EXPECT_THAT(message_of<FormatError>([&] { Checkpoint::open(dir.path()); }),
              AllOf(HasSubstr("config.json"), HasSubstr("is a JSON array, expected an object")));
  write_bytes(dir / "config.json", "{\"a\": ");
  EXPECT_THAT(message_of<FormatError>([&] { Checkpoint::open(dir.path()); }),
              AllOf(HasSubstr("config.json"), HasSubstr("invalid JSON")));
}

TEST(CheckpointFolder, MalformedWeightsNameTheFile) {
  TempDir dir;
  write_bytes(dir / "config.json", "{}");
  write_bytes(dir / "model.safetensors", "short");
  EXPECT_THAT(message_of<FormatError>([&] { Checkpoint::open(dir.path()); }),
              HasSubstr((dir / "model.safetensors").string()));
}

// --- sharded checkpoints ---------------------------------------------------------------------------------

// Two shards: s1 holds "a" and "b", s2 holds "c". `weight_map` is the index's map as JSON.
class ShardedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_bytes(dir / "config.json", "{}");
    write_safetensors(dir / "s1.safetensors", {{"a", filled({2}, 1.0f)}, {"b", filled({3}, 2.0f)}});
    write_safetensors(dir / "s2.safetensors", {{"c", filled({4}, 3.0f)}});
  }
  void index(const std::string& weight_map) {
    write_bytes(dir / "model.safetensors.index.json",
                R"({"metadata": {"total_size": 36}, "weight_map": )" + weight_map + "}");
  }
  std::string rejection() {
    try {
      Checkpoint::open(dir.path());
    } catch (const Error& e) {
      return e.what();
    }
    ADD_FAILURE() << "accepted";
    return {};
  }
  TempDir dir;
  const std::string good = R"({"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"})";
};

TEST_F(ShardedTest, LoadsAcrossShards) {
  index(good);
  auto ckpt = Checkpoint::open(dir.path());
  EXPECT_THAT(ckpt.tensor_names(), ElementsAre("a", "b", "c"));
  EXPECT_EQ(ckpt.parameter_count(), 9u);
  EXPECT_EQ(ckpt.load("c", {4}).data()[3], 3.0f);
  EXPECT_EQ(ckpt.load("b", {3}).data()[0], 2.0f);
  EXPECT_THAT(ckpt.unused(), ElementsAre("a"));
  // Shape errors name the shard the tensor is in.
  EXPECT_THAT(message_of<ShapeError>([&] { ckpt.load("a", {5}); }),
              HasSubstr((dir / "s1.safetensors").string() + ": tensor 'a' has shape [2], expected [5]"));
}

TEST_F(ShardedTest, SingleFileWinsOverIndexLikeTransformers) {
  index(R"({"a": "missing.safetensors"})");  // would fail if it were read
  write_safetensors(dir / "model.safetensors", {{"only", filled({1}, 0)}});
  EXPECT_THAT(Checkpoint::open(dir.path()).tensor_names(), ElementsAre("only"));
}

TEST_F(ShardedTest, MissingShardIsNamed) {
  index(R"({"a": "s1.safetensors", "b": "s1.safetensors", "c": "s3.safetensors"})");
  try {
    Checkpoint::open(dir.path());
    FAIL() << "accepted";
  } catch (const NotFoundError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("model.safetensors.index.json"),
                                HasSubstr("shard 's3.safetensors' does not exist")));
  }
}

TEST_F(ShardedTest, TensorMappedToWrongShard) {
  index(R"({"a": "s1.safetensors", "b": "s2.safetensors", "c": "s2.safetensors"})");
  EXPECT_THAT(
      rejection(),
      HasSubstr("tensor 'b' is mapped to shard 's2.safetensors', but it is in shard 's1.safetensors'"));
}

TEST_F(ShardedTest, MappedTensorInNoShard) {
  index(R"({"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors", "d": "s2.safetensors"})");
  EXPECT_THAT(rejection(),
              HasSubstr("tensor 'd' is mapped to shard 's2.safetensors', which does not contain it"));
}

TEST_F(ShardedTest, TensorInTwoShards) {
  write_safetensors(dir / "s2.safetensors", {{"c", filled({4}, 3.0f)}, {"a", filled({2}, 1.0f)}});
  index(good);
  EXPECT_THAT(rejection(), HasSubstr("tensor 'a' is in two shards, 's1.safetensors' and 's2.safetensors'"));
}

TEST_F(ShardedTest, ShardTensorMissingFromWeightMap) {
  index(R"({"a": "s1.safetensors", "c": "s2.safetensors"})");
  EXPECT_THAT(rejection(),
              HasSubstr("shard 's1.safetensors' holds tensor 'b', which the weight_map does not list"));
}

TEST_F(ShardedTest, ShardNamesMustStayInsideTheFolder) {
  std::filesystem::create_directories(dir / "sub");
  write_safetensors(dir / "sub" / "s3.safetensors", {{"c", filled({4}, 3.0f)}});
  for (const std::string shard :
       {"../s2.safetensors", "sub/s3.safetensors", "/etc/passwd", "..", ".", "", "sub\\\\s3.safetensors"}) {
    index(R"({"a": "s1.safetensors", "b": "s1.safetensors", "c": ")" + shard + "\"}");
    EXPECT_THAT(rejection(), HasSubstr("expected the plain name of a file in the checkpoint folder"))
        << shard;
  }
}

TEST_F(ShardedTest, MalformedIndex) {
  index(R"(["s1.safetensors"])");
  EXPECT_THAT(rejection(), HasSubstr("expected an object with a \"weight_map\" object"));
  write_bytes(dir / "model.safetensors.index.json", R"({"metadata": {}})");
  EXPECT_THAT(rejection(), HasSubstr("\"weight_map\""));
  index(R"({"a": 1})");
  EXPECT_THAT(rejection(), HasSubstr("weight_map entry 'a' is a integer, expected a shard file name"));
  write_bytes(dir / "model.safetensors.index.json", "{\"weight_map\": {");
  EXPECT_THAT(rejection(), AllOf(HasSubstr("model.safetensors.index.json"), HasSubstr("invalid JSON")));
}

TEST_F(ShardedTest, MalformedShardIsNamed) {
  write_bytes(dir / "s2.safetensors", testing::safetensors_bytes("{}", "junk"));
  index(good);
  EXPECT_THAT(rejection(), AllOf(HasSubstr((dir / "s2.safetensors").string()), HasSubstr("trailing bytes")));
}

}  // namespace
}  // namespace visbone
