// Parity with transformers 5.17: every config, image and variant in
// tests/data/preprocess/reference.safetensors. The references hold the processor output re-expressed as the
// uint8 image it was normalised from (pixel_values = (u8 * rescale_factor - mean) / std); ours is
// re-expressed the same way from the float32 tensor the processor returns, so the whole path (decode, resize,
// crop, rescale, normalize) is covered.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "visbone/core/json.h"
#include "visbone/core/safetensors.h"
#include "visbone/image/decode.h"
#include "visbone/image/image_processor.h"

namespace visbone::image {
namespace {

const std::string kDir = std::string(VISBONE_TEST_DATA) + "/preprocess";

struct Comparison {
  std::int64_t total = 0;
  std::int64_t exact = 0;
  int max_diff = 0;
  double rate() const { return total ? static_cast<double>(exact) / static_cast<double>(total) : 0.0; }
};

// Our pixel values back to the uint8 levels they were computed from.
Comparison compare(const Tensor& ours, const Tensor& reference, const ImageProcessorConfig& cfg) {
  Comparison c;
  const std::int64_t channels = reference.dim(0), plane = reference.dim(1) * reference.dim(2);
  for (std::int64_t ch = 0; ch < channels; ++ch) {
    const std::size_t i = cfg.image_mean.size() == 1 ? 0 : static_cast<std::size_t>(ch);
    for (std::int64_t p = 0; p < plane; ++p) {
      double v = ours.data()[ch * plane + p];
      if (cfg.do_normalize) v = v * cfg.image_std[i] + cfg.image_mean[i];
      if (cfg.do_rescale) v /= cfg.rescale_factor;
      const int level = static_cast<int>(std::lround(v));
      const int diff = std::abs(level - static_cast<int>(reference.data()[ch * plane + p]));
      c.exact += diff == 0;
      c.max_diff = std::max(c.max_diff, diff);
      ++c.total;
    }
  }
  return c;
}

TEST(ReferenceParity, MatchesTransformersPilAndReportsTorchvision) {
  const auto refs = SafetensorsFile::open(kDir + "/reference.safetensors");
  const auto index = read_json_file(kDir + "/reference.json");
  double min_pil_rate = 1.0;
  int cases = 0;
  for (const auto& config_entry : index.as_object()) {
    const std::string config_name(config_entry.key());
    const auto cfg = ImageProcessorConfig::from_json(config_entry.value().at("config"), config_name);
    const ImageProcessor processor(cfg);
    for (const auto& image_entry : config_entry.value().at("images").as_object()) {
      const std::string key(image_entry.key());  // IMAGE/VARIANT
      const std::string variant = key.substr(key.find('/') + 1);
      const std::string file(image_entry.value().at("file").as_string());
      SCOPED_TRACE(config_name + "/" + key);
      const Image img = read_image(kDir + "/images/" + file, processor.decode_options());
      const Tensor ours = processor.preprocess(img);
      const Tensor reference = refs.load(config_name + "/" + key + "/u8");
      ASSERT_EQ(ours.shape(), (Shape{1, reference.dim(0), reference.dim(1), reference.dim(2)}));
      const Comparison c = compare(ours, reference, cfg);
      std::printf("  %-28s %-26s exact %8.4f%%  max |diff| %d\n", config_name.c_str(), key.c_str(),
                  100.0 * c.rate(), c.max_diff);
      if (variant == "pil") {
        ++cases;
        min_pil_rate = std::min(min_pil_rate, c.rate());
        // Pillow's path is reproduced exactly: every level equal, none off by one.
        EXPECT_EQ(c.exact, c.total);
        EXPECT_EQ(c.max_diff, 0);
      }
    }
  }
  std::printf("  pil cases: %d, lowest exact-match rate %.4f%%\n", cases, 100.0 * min_pil_rate);
  EXPECT_EQ(cases, 23);
}

}  // namespace
}  // namespace visbone::image
