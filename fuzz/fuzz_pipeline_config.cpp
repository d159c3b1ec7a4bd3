// The pipeline's YAML config on arbitrary bytes (visbone::pipeline::parse_config): YAML syntax, nesting,
// anchors and aliases, unknown keys, wrong types, out-of-range values. Errors must name the file.
#include "fuzz_support.h"
#include "visbone/pipeline/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::string_view kName = "fuzz/pipeline.yaml";
  try {
    visbone::yaml::YamlLimits limits;
    limits.max_depth = 16;
    limits.max_nodes = 2000;  // an alias bomb is cut short quickly
    const auto config =
        visbone::pipeline::parse_config(visbone::fuzz::as_text(data, size), std::string(kName), limits);
    (void)config.in_flight();
  } catch (const visbone::Error& e) {
    visbone::fuzz::expect_named(e, kName);
  }
  return 0;
}
