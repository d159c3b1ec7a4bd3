// One rule for YAML scalars everywhere (YAML 1.2 core schema): `yes`/`on` stay strings, quoted scalars stay
// strings, and the component parameters, pipeline configs and image processor configs agree on it.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "visbone/core/errors.h"
#include "visbone/image/image_processor.h"
#include "visbone/registry/params.h"
#include "visbone/yaml/yaml_scalars.h"

namespace visbone {
namespace {

TEST(YamlScalars, CoreSchemaBooleansNumbersAndNulls) {
  for (const char* t : {"true", "True", "TRUE"}) EXPECT_EQ(yaml::scalar_bool(YAML::Load(t)), true) << t;
  for (const char* f : {"false", "False", "FALSE"}) EXPECT_EQ(yaml::scalar_bool(YAML::Load(f)), false) << f;
  for (const char* s : {"yes", "no", "on", "off", "y", "n", "'true'", "1"})
    EXPECT_EQ(yaml::scalar_bool(YAML::Load(s)), std::nullopt) << s;
  EXPECT_EQ(yaml::scalar_integer(YAML::Load("-12")), -12);
  EXPECT_EQ(yaml::scalar_integer(YAML::Load("+7")), 7);
  EXPECT_EQ(yaml::scalar_integer(YAML::Load("'7'")), std::nullopt) << "quoted: a string";
  EXPECT_EQ(yaml::scalar_integer(YAML::Load("1.5")), std::nullopt);
  EXPECT_EQ(yaml::scalar_integer(YAML::Load("99999999999999999999")), std::nullopt) << "out of range";
  EXPECT_EQ(yaml::scalar_number(YAML::Load("1.5e3")), 1500.0);
  EXPECT_EQ(yaml::scalar_number(YAML::Load(".5")), 0.5);
  EXPECT_EQ(yaml::scalar_number(YAML::Load("1e999")), std::nullopt) << "not finite";
  EXPECT_EQ(yaml::scalar_number(YAML::Load(".inf")), std::nullopt);
}

TEST(YamlScalars, ToJsonKeepsYesAStringAndRecordsWhereEachValueIs) {
  std::map<std::string, YAML::Mark> marks;
  const auto j = yaml::yaml_to_json(YAML::Load("a: yes\nb: on\nc: true\nd: [1, 2.5, '3', ~]\ne: {f: null}\n"),
                                    "t.yaml", &marks);
  const auto& o = j.as_object();
  EXPECT_EQ(o.at("a"), boost::json::value("yes"));
  EXPECT_EQ(o.at("b"), boost::json::value("on"));
  EXPECT_EQ(o.at("c"), boost::json::value(true));
  EXPECT_EQ(o.at("d"), boost::json::parse(R"([1, 2.5, "3", null])"));
  EXPECT_TRUE(o.at("e").as_object().at("f").is_null());
  ASSERT_EQ(marks.count("d[1]"), 1u);
  EXPECT_EQ(marks.at("d[1]").line, 3);
  EXPECT_EQ(marks.at("e.f").line, 4);
  EXPECT_THROW(yaml::yaml_to_json(YAML::Load("x: 1e999"), "t.yaml"), ConfigError);
}

TEST(YamlScalars, EveryReaderRefusesYesForABoolean) {
  // Component parameters.
  const auto p = registry::Params::parse("flag: yes\nn: '3'\n", "p.yaml");
  try {
    p.get<bool>("flag");
    FAIL() << "yes read as a boolean";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'yes', expected true or false"), std::string::npos) << e.what();
  }
  EXPECT_THROW(p.get<int>("n"), ConfigError) << "a quoted number is a string";
  EXPECT_EQ(p.get<std::string>("n"), "3");
  // Image processor settings from YAML.
  try {
    image::ImageProcessorConfig::from_yaml(YAML::Load("do_resize: yes\n"), "c.yaml");
    FAIL() << "do_resize: yes read as a boolean";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("c.yaml:1:12"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace visbone
