// Every case transformers resolved (fixtures/semantics/backbone_selection_cases.json) resolves the same way
// here, or fails with the same message, except the two deliberate fixes documented in stage_selection.h.
#include "visbone/core/stage_selection.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "visbone/core/errors.h"
#include "visbone/core/json.h"

namespace visbone {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

std::vector<std::string> stage_names_for(std::size_t depths) {
  std::vector<std::string> names{"stem"};
  for (std::size_t i = 1; i <= depths; ++i) names.push_back("stage" + std::to_string(i));
  return names;
}

TEST(StageSelection, MatchesTransformersOnEveryFixtureCase) {
  const auto cases = read_json_file(std::string(VISBONE_TEST_DATA) + "/semantics/backbone_selection_cases.json");
  int checked = 0;
  for (const auto& cv : cases.as_array()) {
    const auto& c = cv.as_object();
    if (!c.at("input").is_object()) continue;  // the VALID-padding forward cases are tested in tests/bit
    const auto names = stage_names_for(c.at("depths").as_array().size());
    const auto& in = c.at("input").as_object();
    SCOPED_TRACE(json::serialize(cv));

    // A non-list value is a type error in transformers' strict dataclass; here it cannot even be expressed
    // through the typed API, and BitConfig::from_json reports it (tested in tests/bit).
    if ((in.contains("out_features") && !in.at("out_features").is_array()) ||
        (in.contains("out_indices") && !in.at("out_indices").is_array())) {
      continue;
    }
    std::optional<std::vector<std::string>> features;
    std::optional<std::vector<int>> indices;
    if (in.contains("out_features")) features = json::value_to<std::vector<std::string>>(in.at("out_features"));
    if (in.contains("out_indices")) indices = json::value_to<std::vector<int>>(in.at("out_indices"));
    ++checked;

    if (c.contains("error")) {
      std::string expected(c.at("message").as_string());
      if (std::string(c.at("error").as_string()) == "IndexError")  // deliberate fix: a clear message
        expected = "out_indices must be valid indices for stage_names " + py_repr(names) + ", got " + py_repr(*indices);
      try {
        resolve_stage_selection(names, features, indices, /*allow_empty=*/true);
        ADD_FAILURE() << "expected an error";
      } catch (const ConfigError& e) {
        EXPECT_EQ(std::string(e.what()), expected);
      }
      continue;
    }
    const auto s = resolve_stage_selection(names, features, indices, /*allow_empty=*/true);
    EXPECT_EQ(s.out_features, json::value_to<std::vector<std::string>>(c.at("out_features")));
    EXPECT_EQ(s.out_indices, json::value_to<std::vector<int>>(c.at("out_indices")));
  }
  EXPECT_GE(checked, 36);
}

TEST(StageSelection, EmptySelectionIsRejectedUnlessAllowed) {
  const auto names = stage_names_for(4);
  EXPECT_TRUE(resolve_stage_selection(names, std::vector<std::string>{}, std::nullopt, true).out_features.empty());
  try {
    resolve_stage_selection(names, std::nullopt, std::vector<int>{});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("the stage selection is empty"));
  }
}

// The range check at both ends, as Python indexes a list of n names: -n and n-1 are valid, -n-1 and n not.
TEST(StageSelection, OutIndicesAtTheEdgesOfTheRange) {
  const auto names = stage_names_for(4);  // n = 5
  const int n = static_cast<int>(names.size());
  EXPECT_EQ(resolve_stage_selection(names, std::nullopt, std::vector<int>{-n}).out_features,
            (std::vector<std::string>{"stem"}));
  EXPECT_EQ(resolve_stage_selection(names, std::nullopt, std::vector<int>{n - 1}).out_features,
            (std::vector<std::string>{"stage4"}));
  for (int bad : {-n - 1, n}) {
    try {
      resolve_stage_selection(names, std::nullopt, std::vector<int>{bad});
      ADD_FAILURE() << bad << " was accepted";
    } catch (const ConfigError& e) {
      EXPECT_THAT(e.what(), HasSubstr("out_indices must be valid indices for stage_names")) << bad;
    }
  }
}

TEST(StageSelection, DeepestStage) {
  const auto names = stage_names_for(4);
  EXPECT_EQ(resolve_stage_selection(names, std::nullopt, std::vector<int>{1, -2}).deepest(5), 3);
  EXPECT_EQ(resolve_stage_selection(names, std::nullopt, std::nullopt).deepest(5), 4);
}

}  // namespace
}  // namespace visbone
