// The one model-name rule (core/model_name.h): an existing path, else a preset, else NAMESPACE/NAME as
// huggingface_hub validates repo ids, else nothing (with the absolute path that was looked for).
#include "visbone/core/model_name.h"

#include <gtest/gtest.h>

#include "support/support.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;

TEST(ModelName, HubRepoIdsFollowHuggingfaceHub) {
  for (const char* ok : {"google/bit-50", "gpt2", "Org_1/model.v2", "a/b", "user/x_y-z.1"})
    EXPECT_TRUE(is_hub_repo_id(ok)) << ok;
  const std::string long_name(97, 'a');
  for (const std::string& bad :
       std::vector<std::string>{"", "/abs", "a/b/c", "../x", "a/..", "a--b/c", "a/b c", "a/", ".hidden/x", "a/b-",
                                "a..b/c", "org/m.git", "-org/m", "org/_m/", "org/" + long_name})
    EXPECT_FALSE(is_hub_repo_id(bad)) << bad;
  EXPECT_TRUE(is_hub_repo_id("org/" + long_name.substr(1)));
}

TEST(ModelName, AnExistingPathWinsAndRelativeNamesUseTheBaseOnly) {
  testing::TempDir d;
  d.write("base/org/model/config.json", "{}");
  d.write("elsewhere/x/config.json", "{}");
  // org/model has the form of a hub id, but it is a folder under the base: a path.
  const auto m = classify_model_name("org/model", d / "base");
  EXPECT_EQ(m.kind, ModelName::Kind::path);
  EXPECT_EQ(m.path, d / "base/org/model");
  // The same name under another base is a hub id; the name of a folder elsewhere is not looked up there.
  EXPECT_EQ(classify_model_name("org/model", d / "elsewhere").kind, ModelName::Kind::hub_id);
  const auto none = classify_model_name("x/y/z", d / "base");
  EXPECT_EQ(none.kind, ModelName::Kind::none);
  EXPECT_EQ(none.path, d / "base/x/y/z");
  EXPECT_NE(model_name_not_found(none, "a folder").find((d / "base/x/y/z").string()), std::string::npos);
}

TEST(ModelName, PresetsComeBeforeHubIdsAndBareNamesNeedOne) {
  EXPECT_EQ(classify_model_name("bit-50", {}, {"bit-50"}).kind, ModelName::Kind::preset);
  EXPECT_EQ(classify_model_name("bit-50").kind, ModelName::Kind::none);
  EXPECT_EQ(classify_model_name("google/bit-50").kind, ModelName::Kind::hub_id);
  // A relative name that does not exist is reported as an absolute path.
  EXPECT_TRUE(classify_model_name("no/such/dir").path.is_absolute());
}

}  // namespace
}  // namespace visbone
