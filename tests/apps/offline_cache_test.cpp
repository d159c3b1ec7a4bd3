// A hub cache holding only what transformers' from_pretrained leaves (config.json + model.safetensors, no
// preprocessor_config.json and no .no_exist marker) serves inspect, forward and bench by hub id offline;
// preprocessing asks for the processor file only where it needs it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "support/support.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kData = VISBONE_TEST_DATA;
const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";

class OfflineCache : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path repo = cache_.path() / "models--someorg--tiny-preact";
    for (const char* name : {"config.json", "model.safetensors"}) {
      cache_.write("models--someorg--tiny-preact/blobs/" + std::string(name) + "-blob",
                   testing::read_file(kData + "/models/tiny-preact/" + name));
      fs::create_directories(repo / "snapshots" / kCommit);
      fs::create_symlink(fs::path("../../blobs") / (std::string(name) + "-blob"), repo / "snapshots" / kCommit / name);
    }
    cache_.write("models--someorg--tiny-preact/refs/main", kCommit);
  }
  testing::RunResult visbone(const std::string& args) {
    return testing::run_visbone_line(args, {{"HF_HUB_OFFLINE", "1"},
                                            {"HF_HUB_CACHE", cache_.path().string()},
                                            {"HF_ENDPOINT", "http://127.0.0.1:9"}});
  }
  // A pipeline over one picture in `d` with `model`, its embedding to out.jsonl.
  static fs::path pipeline_config(const testing::TempDir& d, const std::string& model) {
    d.write("in/a.png", testing::read_file(kData + "/preprocess/images/chelsea.png"));
    return d.write(
        "p.yaml",
        "source: {type: folder, path: in}\nmodel: " + model +
            "\nheads: [{type: embedding}]\nsinks: [{type: jsonl, path: out.jsonl, tensors: true}]\n");
  }
  testing::TempDir cache_;
};

TEST_F(OfflineCache, InspectForwardAndBenchByHubId) {
  auto r = visbone("inspect someorg/tiny-preact");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"stage_names\":[\"stem\",\"stage1\""));
  testing::TempDir d;
  r = visbone("forward someorg/tiny-preact --input " + kData + "/models/tiny-preact/reference.safetensors --key " +
              "b.pixel_values --output " + (d / "o.safetensors").string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(d / "o.safetensors"));
  r = visbone("bench someorg/tiny-preact --size 32 --batch 1 --runs 1 --warmup 1 --threads 1 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"images_per_s\":"));
}

// A pipeline preprocesses, so it asks for the processor file: unknown to the cache offline, that is an error
// naming the file; recorded as absent (.no_exist), the model's defaults are used with a notice.
TEST_F(OfflineCache, PipelineWithoutPreprocessUsesTheModelDefaultsWhenTheFileIsAbsent) {
  testing::TempDir d;
  const auto config = pipeline_config(d, "{checkpoint: someorg/tiny-preact}");
  auto r = visbone("run " + config.string() + " --progress none");
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.err, HasSubstr("preprocessor_config.json"));
  EXPECT_THAT(r.err, HasSubstr("is not in the cache"));

  cache_.write("models--someorg--tiny-preact/.no_exist/" + kCommit + "/preprocessor_config.json", "");
  r = visbone("run " + config.string() + " --progress none");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("has no preprocessor_config.json; preprocessing with BiT's defaults"));
  EXPECT_THAT(testing::read_file(d / "out.jsonl"), HasSubstr("\"embedding\":["));

  // Asked for explicitly, the checkpoint's file is still required.
  const auto explicit_config = pipeline_config(d, "{checkpoint: someorg/tiny-preact}\npreprocess: checkpoint");
  r = visbone("run " + explicit_config.string() + " --progress none");
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("preprocess: the checkpoint has no preprocessor_config.json"));
}

// `revision:` picks the snapshot the model and its processor come from; the backbone then loads that folder
// (it refused the key it no longer read: "unknown parameter 'revision' for backbone 'bit'").
TEST_F(OfflineCache, ARevisionIsTheSnapshotsAndNotTheBackbonesKey) {
  cache_.write("models--someorg--tiny-preact/.no_exist/" + kCommit + "/preprocessor_config.json", "");
  testing::TempDir d;
  auto config = pipeline_config(d, "{checkpoint: someorg/tiny-preact, revision: main}");
  auto r = visbone("run " + config.string() + " --progress none");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(testing::read_file(d / "out.jsonl"), HasSubstr("\"embedding\":["));
  // A revision the cache does not know is the hub's error, naming it, before the backbone loads.
  config = pipeline_config(d, "{checkpoint: someorg/tiny-preact, revision: v9}");
  r = visbone("run " + config.string() + " --progress none");
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.err, HasSubstr("v9"));
}

}  // namespace
}  // namespace visbone
