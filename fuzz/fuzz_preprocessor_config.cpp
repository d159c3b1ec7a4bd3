// preprocessor_config.json on arbitrary bytes, read as JSON and (the same text, JSON being YAML's flow
// style) as the YAML mapping a pipeline gives; an accepted config builds a processor that then runs on
// small images of each channel count, so the resize/crop arithmetic meets every size setting.
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>

#include "fuzz_support.h"
#include "visbone/core/json.h"
#include "visbone/image/image_processor.h"

namespace {

using visbone::image::Image;
using visbone::image::ImageProcessor;
using visbone::image::ImageProcessorConfig;

void run(const ImageProcessorConfig& config) {
  // A per-image memory limit far below the default keeps every input fast; hitting it is a ShapeError.
  const ImageProcessor processor(config, 256 << 10);
  for (const auto& [w, h, c] :
       {std::tuple{5, 3, 3}, std::tuple{1, 7, 1}, std::tuple{4, 4, 4}, std::tuple{2, 1, 2}}) {
    Image image(w, h, c);
    for (std::size_t i = 0; i < image.pixels().size(); ++i)
      image.data()[i] = static_cast<std::uint8_t>(i * 37);
    try {
      const auto t = processor.preprocess(image);
      const auto [oh, ow] = processor.output_size(h, w);
      if (t.dim(2) != oh || t.dim(3) != ow) visbone::fuzz::finding("output_size disagrees with preprocess");
    } catch (const visbone::ShapeError&) {
      // A size setting this image cannot meet, or channels the mean/std do not cover: reported, not a crash.
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::string_view kName = "fuzz/preprocessor_config.json";
  const auto text = visbone::fuzz::as_text(data, size);
  try {
    const auto json = visbone::parse_json(text, std::string(kName));
    run(ImageProcessorConfig::from_json(json, std::string(kName)));
  } catch (const visbone::Error& e) {
    visbone::fuzz::expect_named(e, kName);
  }
  YAML::Node yaml;
  try {
    yaml = YAML::Load(std::string(text));
  } catch (const YAML::Exception&) {
    return 0;  // yaml-cpp's own parser is not under test; the pipeline target covers how we report it
  }
  try {
    // The same keys, so only the reading differs; the processor already ran on the JSON reading.
    ImageProcessorConfig::from_yaml(yaml, "fuzz/pipeline.yaml");
  } catch (const visbone::Error& e) {
    visbone::fuzz::expect_named(e, "fuzz/pipeline.yaml");
  }
  return 0;
}
