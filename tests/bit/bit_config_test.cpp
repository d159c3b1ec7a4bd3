#include "visbone/bit/bit_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixtures.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"

namespace visbone::bit {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

BitConfig parse(const std::string& text) { return BitConfig::from_json(parse_json(text, "config.json"), "config.json"); }

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

// The defaults are transformers' (fixtures/semantics/bitconfig_defaults.json).
TEST(BitConfig, DefaultsMatchTransformers) {
  const auto ref = read_json_file(testing::data_dir() / "semantics/bitconfig_defaults.json").as_object();
  const BitConfig d;
  const BitConfig parsed = BitConfig::from_json(ref, "defaults");
  for (const BitConfig* c : {&d, &parsed}) {
    EXPECT_EQ(c->num_channels, ref.at("num_channels").as_int64());
    EXPECT_EQ(c->embedding_size, ref.at("embedding_size").as_int64());
    EXPECT_EQ(c->hidden_sizes, boost::json::value_to<std::vector<int>>(ref.at("hidden_sizes")));
    EXPECT_EQ(c->depths, boost::json::value_to<std::vector<int>>(ref.at("depths")));
    EXPECT_EQ(to_string(c->layer_type), ref.at("layer_type").as_string());
    EXPECT_EQ(to_string(c->hidden_act), ref.at("hidden_act").as_string());
    EXPECT_EQ(c->global_padding, Padding::Default);
    EXPECT_TRUE(ref.at("global_padding").is_null());
    EXPECT_EQ(c->num_groups, ref.at("num_groups").as_int64());
    EXPECT_EQ(c->drop_path_rate, ref.at("drop_path_rate").to_number<double>());
    EXPECT_EQ(c->embedding_dynamic_padding, ref.at("embedding_dynamic_padding").as_bool());
    EXPECT_EQ(c->output_stride, ref.at("output_stride").as_int64());
    EXPECT_EQ(c->width_factor, ref.at("width_factor").as_int64());
    EXPECT_EQ(c->stage_names(), boost::json::value_to<std::vector<std::string>>(ref.at("stage_names")));
  }
  EXPECT_EQ(parsed.out_features, std::vector<std::string>{"stage4"});
  EXPECT_EQ(parsed.out_indices, std::vector<int>{4});
  EXPECT_EQ(d.num_labels(), 2);
}

TEST(BitConfig, ReadsEveryFixtureConfig) {
  const auto c = BitConfig::from_file(testing::model_dir("tiny-bottleneck-same-os8") / "config.json");
  EXPECT_EQ(c.layer_type, LayerType::Bottleneck);
  EXPECT_EQ(c.global_padding, Padding::Same);  // written "SAME": any case is accepted
  EXPECT_EQ(c.hidden_act, Activation::Gelu);
  EXPECT_EQ(c.output_stride, 8);
  EXPECT_TRUE(c.embedding_dynamic_padding);
  EXPECT_EQ(c.num_labels(), 3);
  EXPECT_EQ(c.id2label.at(2), "bird");
  const auto g = BitConfig::from_file(testing::model_dir("tiny-gray-dynstem") / "config.json");
  EXPECT_EQ(g.num_channels, 1);
  EXPECT_EQ(g.hidden_act, Activation::GeluNew);
  EXPECT_NO_THROW(BitConfig::from_file(testing::model_dir("bit-50-random-fp16") / "config.json"));
  EXPECT_NO_THROW(BitConfig::from_file(testing::model_dir("tiny-width2") / "config.json"));
}

TEST(BitConfig, AcceptsPaddingInAnyCaseAndSelu) {
  EXPECT_EQ(parse(R"({"global_padding": "Valid"})").global_padding, Padding::Valid);
  EXPECT_EQ(parse(R"({"global_padding": "same"})").global_padding, Padding::Same);
  EXPECT_EQ(parse(R"({"global_padding": null})").global_padding, Padding::Default);
  EXPECT_EQ(parse(R"({"hidden_act": "selu"})").hidden_act, Activation::Selu);
  EXPECT_EQ(parse(R"({"drop_path_rate": 0.1})").drop_path_rate, 0.1);
}

TEST(BitConfig, RejectsInvalidValuesNamingKeyValueAndAllowed) {
  EXPECT_THAT(error_of(R"({"layer_type": "foo"})"),
              AllOf(HasSubstr("config.json"), HasSubstr("'layer_type'"), HasSubstr("\"foo\""),
                    HasSubstr("preactivation, bottleneck")));
  EXPECT_THAT(error_of(R"({"hidden_act": "swish"})"), AllOf(HasSubstr("'hidden_act'"), HasSubstr("gelu_new")));
  EXPECT_THAT(error_of(R"({"global_padding": "reflect"})"), AllOf(HasSubstr("'global_padding'"), HasSubstr("same, valid")));
  EXPECT_THAT(error_of(R"({"depths": [3, 4, 6], "hidden_sizes": [256, 512, 1024, 2048]})"),
              AllOf(HasSubstr("'hidden_sizes'"), HasSubstr("[3, 4, 6]")));
  EXPECT_THAT(error_of(R"({"num_groups": 30})"),
              AllOf(HasSubstr("'num_groups'"), HasSubstr("30"), HasSubstr("GroupNorm over 64 channels")));
  EXPECT_THAT(error_of(R"({"output_stride": 4})"), AllOf(HasSubstr("'output_stride'"), HasSubstr("8, 16 or 32")));
  EXPECT_THAT(error_of(R"({"width_factor": 0})"), HasSubstr("'width_factor'"));
  EXPECT_THAT(error_of(R"({"depths": "3"})"), AllOf(HasSubstr("'depths'"), HasSubstr("a list of integers")));
  EXPECT_THAT(error_of(R"({"depths": [3, 0, 6, 3]})"), HasSubstr("'depths'"));
  EXPECT_THAT(error_of(R"({"num_channels": 2.5})"), AllOf(HasSubstr("'num_channels'"), HasSubstr("an integer")));
  EXPECT_THAT(error_of(R"({"embedding_dynamic_padding": "yes"})"), HasSubstr("true or false"));
  EXPECT_THAT(error_of(R"({"drop_path_rate": 1.5})"), HasSubstr("'drop_path_rate'"));
  EXPECT_THAT(error_of(R"({"id2label": {"x": "cat"}})"), HasSubstr("'id2label'"));
  EXPECT_THAT(error_of(R"({"model_type": "resnet"})"), HasSubstr("not a BiT config"));
  EXPECT_THAT(error_of(R"([1, 2])"), HasSubstr("expected a JSON object"));
}

// Selection keys of the wrong type (transformers: StrictDataclassFieldValidationError) and bad selections.
TEST(BitConfig, RejectsBadSelections) {
  EXPECT_THAT(error_of(R"({"out_features": "stage1"})"), AllOf(HasSubstr("'out_features'"), HasSubstr("a list")));
  EXPECT_THAT(error_of(R"({"out_indices": 1})"), AllOf(HasSubstr("'out_indices'"), HasSubstr("a list")));
  EXPECT_THAT(error_of(R"({"out_features": ["stage5"]})"), HasSubstr("out_features must be a subset of stage_names"));
  const auto c = parse(R"({"out_indices": [-2, -1]})");
  EXPECT_EQ(c.out_features, (std::vector<std::string>{"stage3", "stage4"}));
}

TEST(BitConfig, MakeDivMatchesTransformers) {
  EXPECT_EQ(make_div(64), 64);
  EXPECT_EQ(make_div(256 * 0.25), 64);
  EXPECT_EQ(make_div(128 * 2), 256);
  EXPECT_EQ(make_div(3), 8);     // never below the divisor
  EXPECT_EQ(make_div(20), 24);   // int(20 + 4) // 8 * 8 = 24
  EXPECT_EQ(make_div(100), 104);
  EXPECT_EQ(make_div(2048 * 3), 6144);
}

}  // namespace
}  // namespace visbone::bit
