// Component parameters: typed reads with the YAML position in every error, unknown keys reported with the
// closest known one, YAML -> JSON typing for inline configs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/support.h"

#include <boost/json.hpp>

#include "visbone/core/errors.h"
#include "visbone/registry/params.h"

namespace visbone::registry {
namespace {

using ::testing::HasSubstr;

using visbone::testing::message_of;

TEST(Params, ReadsTypedValuesAndDefaults) {
  const auto p =
      Params::parse("type: x\ntop_k: 3\nscale: 0.5\nnorm: true\nname: cat\nsizes: [1, 2]\n", "cfg.yaml");
  EXPECT_EQ(p.get<int>("top_k"), 3);
  EXPECT_DOUBLE_EQ(p.get<double>("scale"), 0.5);
  EXPECT_TRUE(p.get<bool>("norm"));
  EXPECT_EQ(p.get<std::string>("name"), "cat");
  EXPECT_EQ(p.get<std::vector<int>>("sizes"), (std::vector<int>{1, 2}));
  EXPECT_EQ(p.get<int>("absent", 7), 7);
  EXPECT_FALSE(p.find<int>("absent").has_value());
}

TEST(Params, WrongTypeNamesFileLineColumnKeyAndExpectation) {
  const auto p = Params::parse("type: x\ntop_k: many\n", "cfg.yaml");
  const auto msg = message_of([&] { p.get<int>("top_k"); });
  EXPECT_THAT(msg, HasSubstr("cfg.yaml:2:8: top_k"));
  EXPECT_THAT(msg, HasSubstr("'many'"));
  EXPECT_THAT(msg, HasSubstr("expected an integer"));
  EXPECT_THAT(message_of([&] { p.get<std::vector<int>>("top_k"); }),
              HasSubstr("expected a list of integers"));
  EXPECT_THAT(message_of([&] { p.get<int>("missing"); }), HasSubstr("missing: is required"));
}

TEST(Params, UnknownKeyGetsClosestMatchAndTheKnownKeys) {
  const auto p = Params::parse("type: classification\ntop_kk: 3\n", "cfg.yaml");
  (void)p.get<int>("top_k", 5);
  (void)p.has("weights");
  EXPECT_EQ(p.unread(), std::vector<std::string>{"top_kk"});
  const auto msg = message_of([&] { p.check_all_read("head 'classification'"); });
  EXPECT_THAT(msg, HasSubstr("cfg.yaml:2:9: top_kk: unknown parameter 'top_kk' for head 'classification'"));
  EXPECT_THAT(msg, HasSubstr("closest match: 'top_k'"));
  EXPECT_THAT(msg, HasSubstr("it takes: top_k, weights"));
}

TEST(Params, CopiesShareWhatWasRead) {
  const auto p = Params::parse("a: 1\n", "cfg");
  const Params copy = p;
  (void)copy.get<int>("a");
  EXPECT_TRUE(p.unread().empty());
  EXPECT_NO_THROW(p.check_all_read("x"));
}

TEST(Params, RejectsNonMappingsAndInvalidYaml) {
  EXPECT_THAT(message_of([] { Params::parse("- a\n- b\n", "cfg.yaml"); }), HasSubstr("expected a mapping"));
  EXPECT_THAT(message_of([] { Params::parse("a: [1, 2\n", "cfg.yaml"); }), HasSubstr("cfg.yaml:"));
  EXPECT_THROW(Params::parse("a: [1, 2\n", "cfg.yaml"), ConfigError);
}

TEST(Params, RelativePathsResolveAgainstTheBaseFolder) {
  const auto p = Params::parse("weights: w.safetensors\nabs: /x/y\n", "cfg", "/configs");
  EXPECT_EQ(p.path("weights"), std::filesystem::path("/configs/w.safetensors"));
  EXPECT_EQ(p.path("abs"), std::filesystem::path("/x/y"));
}

TEST(Params, YamlToJsonTypesPlainScalarsAndKeepsQuotedOnesStrings) {
  const auto p = Params::parse(
      "config: {depths: [1, 2], rate: 0.1, flag: false, pad: null, act: relu, quoted: '12', neg: -3}\n",
      "cfg");
  const auto j = p.json("config").as_object();
  EXPECT_EQ(boost::json::serialize(j.at("depths")), "[1,2]");
  EXPECT_DOUBLE_EQ(j.at("rate").as_double(), 0.1);
  EXPECT_FALSE(j.at("flag").as_bool());
  EXPECT_TRUE(j.at("pad").is_null());
  EXPECT_EQ(j.at("act").as_string(), "relu");
  EXPECT_EQ(j.at("quoted").as_string(), "12");
  EXPECT_EQ(j.at("neg").as_int64(), -3);
  const auto n =
      Params::parse("n: [1e3, .5, '1.', 1., +3, 1e, 1.2.3, ., -, 12ab, ~, True]\n", "cfg").json("n");
  EXPECT_EQ(boost::json::serialize(n), R"([1E3,5E-1,"1.",1E0,3,"1e","1.2.3",".","-","12ab",null,true])");
}

TEST(ClosestMatch, PicksTheSmallestEditDistanceIgnoringCase) {
  EXPECT_EQ(closest_match("clasification", {"classification", "embedding", "feature_maps"}),
            "classification");
  EXPECT_EQ(closest_match("Feature-Maps", {"classification", "embedding", "feature_maps"}), "feature_maps");
  EXPECT_EQ(closest_match("x", {}), "");
}

}  // namespace
}  // namespace visbone::registry
