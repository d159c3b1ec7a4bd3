// Numbers in visbone's JSON outputs are written as Python's json module writes them, float32 values at
// float32 precision; the expected strings are what Python 3 prints (json.dumps, float(np.float32(x)) for
// float32 values after rounding to float32's shortest digits).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <limits>

#include "visbone/core/json_writer.h"

namespace visbone {
namespace {

TEST(JsonWriter, DoublesAsPythonWritesThem) {
  EXPECT_EQ(json_number_text(66.76), "66.76");
  EXPECT_EQ(json_number_text(1e-08), "1e-08");
  EXPECT_EQ(json_number_text(0.0), "0.0");
  EXPECT_EQ(json_number_text(-0.0), "-0.0");
  EXPECT_EQ(json_number_text(1.0), "1.0");
  EXPECT_EQ(json_number_text(0.1), "0.1");
  EXPECT_EQ(json_number_text(0.0001), "0.0001");
  EXPECT_EQ(json_number_text(0.00001234), "1.234e-05");
  EXPECT_EQ(json_number_text(1e15), "1000000000000000.0");
  EXPECT_EQ(json_number_text(1e16), "1e+16");
  EXPECT_EQ(json_number_text(123456789.125), "123456789.125");
  EXPECT_EQ(json_number_text(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(json_number_text(2.5e-300), "2.5e-300");
  EXPECT_EQ(json_number_text(-1.5e300), "-1.5e+300");
}

TEST(JsonWriter, Float32ValuesAtFloat32Precision) {
  EXPECT_EQ(json_number_text(0.99987954f), "0.99987954");  // not 0.9998795390129089
  EXPECT_EQ(json_number_text(0.1f), "0.1");                // not 0.10000000149011612
  EXPECT_EQ(json_number_text(1e-08f), "1e-08");
  EXPECT_EQ(json_number_text(-3.4028235e38f), "-3.4028235e+38");
  EXPECT_EQ(json_number_text(std::numeric_limits<float>::denorm_min()), "1e-45");
}

TEST(JsonWriter, NonFiniteNumbersAreNull) {
  EXPECT_EQ(json_number_text(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(json_number_text(-std::numeric_limits<double>::infinity()), "null");
}

TEST(JsonWriter, CompactDocument) {
  const boost::json::value v = {{"id", "a\"b"}, {"n", 3}, {"big", 18446744073709551615ull}, {"ok", true},
                                {"none", nullptr}, {"scores", {0.5f, 0.25, 1e-08}}, {"empty", boost::json::array{}},
                                {"nested", {{"x", boost::json::object{}}}}};
  EXPECT_EQ(to_json_text(v), R"({"id":"a\"b","n":3,"big":18446744073709551615,"ok":true,"none":null,)"
                             R"("scores":[0.5,0.25,1e-08],"empty":[],"nested":{"x":{}}})");
  // And it reads back to the same values.
  EXPECT_EQ(boost::json::parse(to_json_text(v)), v);
}

TEST(JsonWriter, PrettyDocument) {
  const boost::json::value v = {{"depths", {3, 4, 6, 3}},
                                {"shapes", {{"stem", {{"channels", 64}, {"stride", 4}}}}},
                                {"list", boost::json::array{boost::json::object{{"a", 1}}, 2}},
                                {"width", 1.0}};
  EXPECT_EQ(to_json_text(v, JsonStyle::pretty),
            "{\n"
            "  \"depths\": [3, 4, 6, 3],\n"
            "  \"shapes\": {\n"
            "    \"stem\": {\n"
            "      \"channels\": 64,\n"
            "      \"stride\": 4\n"
            "    }\n"
            "  },\n"
            "  \"list\": [\n"
            "    {\n"
            "      \"a\": 1\n"
            "    },\n"
            "    2\n"
            "  ],\n"
            "  \"width\": 1.0\n"
            "}");
}

}  // namespace
}  // namespace visbone
