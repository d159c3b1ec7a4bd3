// The one model resolver (hub::resolve_model_name): a path relative to the caller's base folder, a preset
// (and the hub checkpoint it names), a hub id served from an offline cache, and a name that names nothing:
// a ModelNotFoundError naming the absolute path looked for.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "support/support.h"
#include "visbone/hub/hub.h"

namespace visbone::hub {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kModels = VISBONE_FIXTURE_MODELS;
const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";

// What transformers' from_pretrained leaves in the cache (config.json + model.safetensors), read offline.
class ModelResolver : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path snapshot = cache_.path() / "models--someorg--tiny-preact" / "snapshots" / kCommit;
    fs::create_directories(snapshot);
    for (const char* name : {"config.json", "model.safetensors"}) {
      cache_.write("models--someorg--tiny-preact/blobs/" + std::string(name) + "-blob",
                   testing::read_file(kModels + "/tiny-preact/" + name));
      fs::create_symlink(fs::path("../../blobs") / (std::string(name) + "-blob"), snapshot / name);
    }
    cache_.write("models--someorg--tiny-preact/refs/main", kCommit);
    options_.offline = true;
    options_.cache_dir = cache_.path();
    options_.endpoint = "http://127.0.0.1:9";
  }
  fs::path snapshot() const { return cache_.path() / "models--someorg--tiny-preact" / "snapshots" / kCommit; }
  testing::TempDir cache_;
  ResolveOptions options_;
};

TEST_F(ModelResolver, ARelativePathResolvesAgainstTheBaseFolder) {
  testing::TempDir d;
  d.write("sub/model/config.json", "{}");
  const ResolvedModel m = resolve_model_name("model", {d / "sub", {}, "a folder"}, options_);
  EXPECT_EQ(m.kind, ModelName::Kind::path);
  EXPECT_EQ(m.path, d / "sub" / "model");
  EXPECT_EQ(m.name, "model");
  // An existing path wins over a preset of the same name.
  EXPECT_EQ(resolve_model_name("model", {d / "sub", {{"model", "someorg/tiny-preact"}}, ""}, options_).kind,
            ModelName::Kind::path);
}

TEST_F(ModelResolver, APresetFetchesItsHubCheckpoint) {
  const ModelNameRules rules{{}, {{"tiny", "someorg/tiny-preact"}, {"timm-only", ""}}, "a preset"};
  const ResolvedModel m = resolve_model_name("tiny", rules, options_);
  EXPECT_EQ(m.kind, ModelName::Kind::preset);
  EXPECT_EQ(m.preset, "tiny");
  EXPECT_EQ(m.hub_id, "someorg/tiny-preact");
  EXPECT_EQ(m.path, snapshot());
  // A preset without a hub checkpoint resolves to no folder; the caller says what it needs instead.
  const ResolvedModel none = resolve_model_name("timm-only", rules, options_);
  EXPECT_EQ(none.kind, ModelName::Kind::preset);
  EXPECT_TRUE(none.path.empty());
  EXPECT_TRUE(none.hub_id.empty());
}

TEST_F(ModelResolver, AHubIdIsServedFromTheOfflineCache) {
  const ResolvedModel m = resolve_model_name("someorg/tiny-preact", {}, options_);
  EXPECT_EQ(m.kind, ModelName::Kind::hub_id);
  EXPECT_EQ(m.hub_id, "someorg/tiny-preact");
  EXPECT_EQ(m.path, snapshot());
  EXPECT_TRUE(fs::exists(m.path / "model.safetensors"));
  // Not in the cache: the hub client's own error, not "names nothing".
  EXPECT_THAT(testing::message_of([&] { resolve_model_name("someorg/other", {}, options_); }),
              HasSubstr("someorg/other"));
}

TEST_F(ModelResolver, ANameThatNamesNothingSaysTheAbsolutePathLookedFor) {
  testing::TempDir d;
  try {
    resolve_model_name("nothing", {d.path(), {{"tiny", "someorg/tiny-preact"}}, "a folder or a preset"},
                       options_);
    FAIL() << "no error";
  } catch (const ModelNotFoundError& e) {
    EXPECT_EQ(std::string(e.what()),
              "'nothing' does not exist: no folder 'nothing' at " + (d / "nothing").string() +
                  ", and it is not a hub repository id (NAMESPACE/NAME, like google/bit-50); "
                  "expected a folder or a preset");
  }
  EXPECT_THROW(resolve_model_name("", {}, options_), ModelNotFoundError);
}

TEST_F(ModelResolver, WithoutAHubClientAHubIdIsNamedAsSuch) {
  const auto fetch_nothing = visbone::HubFetch();
  EXPECT_THAT(
      testing::message_of([&] { visbone::resolve_model_name("someorg/tiny-preact", {}, fetch_nothing); }),
      HasSubstr("this program has no hub client"));
  EXPECT_THAT(
      testing::message_of([&] {
        visbone::resolve_model_name("tiny", {{}, {{"tiny", "someorg/tiny-preact"}}, ""}, fetch_nothing);
      }),
      HasSubstr("preset tiny would fetch someorg/tiny-preact from the hub"));
}

}  // namespace
}  // namespace visbone::hub
