// config.json on arbitrary bytes, read as transformers' BitConfig and as a timm config (`architecture` /
// `model_args`). An accepted BitConfig written back with to_json must read back the same.
#include <boost/json.hpp>

#include "fuzz_support.h"
#include "visbone/bit/bit_config.h"
#include "visbone/bit/checkpoint_formats.h"
#include "visbone/core/json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::string_view kName = "fuzz/config.json";
  boost::json::value json;
  try {
    json = visbone::parse_json(visbone::fuzz::as_text(data, size), std::string(kName));
  } catch (const visbone::Error& e) {
    visbone::fuzz::expect_named(e, kName);
    return 0;
  }
  try {
    const auto config = visbone::bit::BitConfig::from_json(json, std::string(kName));
    const auto written = config.to_json();
    const auto again = visbone::bit::BitConfig::from_json(written, "round trip");
    if (boost::json::serialize(again.to_json()) != boost::json::serialize(written))
      visbone::fuzz::finding("BitConfig changed in a to_json/from_json round trip: " +
                             boost::json::serialize(written));
  } catch (const visbone::Error& e) {
    visbone::fuzz::expect_named(e, kName);
  }
  try {
    visbone::bit::timm_config(json, std::string(kName));
  } catch (const visbone::Error& e) {
    visbone::fuzz::expect_named(e, kName);
  }
  return 0;
}
