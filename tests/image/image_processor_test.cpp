// The processor's pieces against transformers' definitions: config keys and defaults, the resize-size rules
// (get_resize_output_image_size, get_size_with_aspect_ratio), center_crop's padding, numpy's float32
// rescale/normalize.
#include "visbone/image/image_processor.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <cmath>

#include "visbone/core/errors.h"
#include "visbone/core/json.h"

namespace visbone::image {
namespace {

const std::string kFixtures = VISBONE_TEST_DATA;

ImageProcessorConfig parse(const std::string& json) {
  return ImageProcessorConfig::from_json(parse_json(json, "t"), "cfg.json");
}

template <typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no ConfigError";
}

TEST(ImageProcessorConfig, DefaultsAreTransformers) {
  const auto file = ImageProcessorConfig::from_file(kFixtures + "/semantics/bitimageprocessor_defaults.json");
  const ImageProcessorConfig d;
  EXPECT_EQ(file.do_convert_rgb, d.do_convert_rgb);
  EXPECT_EQ(file.do_resize, d.do_resize);
  EXPECT_EQ(file.size.shortest_edge, d.size.shortest_edge);
  EXPECT_FALSE(file.size.height.has_value());
  EXPECT_EQ(file.resample, d.resample);
  EXPECT_EQ(file.do_center_crop, d.do_center_crop);
  EXPECT_EQ(file.crop_height, d.crop_height);
  EXPECT_EQ(file.crop_width, d.crop_width);
  EXPECT_EQ(file.do_rescale, d.do_rescale);
  EXPECT_EQ(static_cast<float>(file.rescale_factor), static_cast<float>(d.rescale_factor));
  EXPECT_EQ(file.do_normalize, d.do_normalize);
  EXPECT_EQ(file.image_mean, d.image_mean);
  EXPECT_EQ(file.image_std, d.image_std);
}

TEST(ImageProcessorConfig, ReadsEveryReferenceConfig) {
  const auto ref = read_json_file(kFixtures + "/preprocess/reference.json");
  for (const auto& kv : ref.as_object()) {
    SCOPED_TRACE(std::string(kv.key()));
    const auto c = ImageProcessorConfig::from_json(kv.value().at("config"), std::string(kv.key()));
    EXPECT_EQ(c.image_mean.size(), 3u);
  }
  const auto hw = ImageProcessorConfig::from_json(ref.at("exact-hw-nearest-nonorm").at("config"), "x");
  EXPECT_EQ(hw.size.height, 200);
  EXPECT_EQ(hw.size.width, 300);
  EXPECT_FALSE(hw.size.shortest_edge.has_value());
  EXPECT_EQ(hw.resample, Resample::nearest);
  EXPECT_FALSE(hw.do_normalize);
}

void expect_same(const ImageProcessorConfig& a, const ImageProcessorConfig& b) {
  EXPECT_EQ(a.do_convert_rgb, b.do_convert_rgb);
  EXPECT_EQ(a.do_resize, b.do_resize);
  EXPECT_EQ(a.size.shortest_edge, b.size.shortest_edge);
  EXPECT_EQ(a.size.longest_edge, b.size.longest_edge);
  EXPECT_EQ(a.size.height, b.size.height);
  EXPECT_EQ(a.size.width, b.size.width);
  EXPECT_EQ(a.resample, b.resample);
  EXPECT_EQ(a.do_center_crop, b.do_center_crop);
  EXPECT_EQ(a.crop_height, b.crop_height);
  EXPECT_EQ(a.crop_width, b.crop_width);
  EXPECT_EQ(a.do_rescale, b.do_rescale);
  EXPECT_EQ(a.rescale_factor, b.rescale_factor);
  EXPECT_EQ(a.do_normalize, b.do_normalize);
  EXPECT_EQ(a.image_mean, b.image_mean);
  EXPECT_EQ(a.image_std, b.image_std);
}

// to_json writes what transformers saves (the files it wrote, key for key, image_processor_type aside) and
// reads back to the same settings, for every reference config and every size form.
TEST(ImageProcessorConfig, ToJsonIsTheFileTransformersWritesAndReadsBack) {
  for (const char* file :
       {"/semantics/bitimageprocessor_defaults.json", "/models/bit-tiny-digits/preprocessor_config.json"}) {
    SCOPED_TRACE(file);
    boost::json::object saved = read_json_file(kFixtures + file).as_object();
    saved.erase("image_processor_type");
    EXPECT_EQ(boost::json::value(ImageProcessorConfig::from_file(kFixtures + file).to_json()),
              boost::json::value(saved));
  }
  const auto ref = read_json_file(kFixtures + "/preprocess/reference.json");
  std::vector<ImageProcessorConfig> configs{ImageProcessorConfig{}};
  for (const auto& kv : ref.as_object())
    configs.push_back(ImageProcessorConfig::from_json(kv.value().at("config"), "ref"));
  configs.push_back(parse(R"({"size": {"shortest_edge": 200, "longest_edge": 300}, "resample": 0})"));
  configs.push_back(parse(R"({"size": [20, 30], "crop_size": [10, 12], "do_convert_rgb": false})"));
  int forms = 0;
  for (const auto& c : configs) {
    const boost::json::object j = c.to_json();
    forms |= j.at("size").as_object().contains("height")         ? 1
             : j.at("size").as_object().contains("longest_edge") ? 2
                                                                 : 4;
    expect_same(ImageProcessorConfig::from_json(j, "to_json"), c);
  }
  EXPECT_EQ(forms, 7) << "every size form: {height, width}, {shortest_edge, longest_edge}, {shortest_edge}";
}

TEST(ImageProcessorConfig, OlderFormsAndNulls) {
  auto c = parse(R"({"size": 256, "crop_size": 200, "resample": 2, "image_mean": 0.5, "image_std": 0.5,
                     "do_convert_rgb": null, "image_processor_type": "ViTHybridImageProcessor"})");
  EXPECT_EQ(c.size.shortest_edge, 256);
  EXPECT_EQ(c.crop_height, 200);
  EXPECT_EQ(c.crop_width, 200);
  EXPECT_TRUE(c.do_convert_rgb);
  EXPECT_EQ(c.image_mean, std::vector<double>{0.5});
  c = parse(R"({"size": [300, 400], "crop_size": {"height": 10, "width": 20}})");
  EXPECT_EQ(c.size.height, 300);
  EXPECT_EQ(c.size.width, 400);
  EXPECT_EQ(c.crop_width, 20);
  c = parse(R"({"size": {"shortest_edge": 800, "longest_edge": 1333}})");
  EXPECT_EQ(c.size.longest_edge, 1333);
}

TEST(ImageProcessorConfig, ErrorsNameTheKeyAndWhatWasExpected) {
  EXPECT_NE(error_of([] {
              parse(R"({"do_resize": "yes"})");
            }).find("cfg.json: key 'do_resize': expected true or false, found string"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse(R"({"size": {"shortest_edge": "224"}})");
            }).find("key 'size.shortest_edge': expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse(R"({"size": {"max_height": 10, "max_width": 10}})");
            }).find("unsupported key 'max_height'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse(R"({"size": {"height": 10}})"); }).find("key 'size'"), std::string::npos);
  EXPECT_NE(error_of([] { parse(R"({"size": {"shortest_edge": 0}})"); }).find("size.shortest_edge is 0"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse(R"({"resample": 7})"); }).find("resample 7 is not a PIL filter"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse(R"({"image_mean": [0.5, 0.5], "image_std": [1, 1, 1]})");
            }).find("image_mean has 2 values but image_std has 3"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse(R"({"image_std": [1, 0, 1]})"); }).find("non-zero"), std::string::npos);
  EXPECT_NE(error_of([] {
              parse(R"({"crop_size": {"height": 100000, "width": 100000}})");
            }).find("crop_size 100000x100000"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse("[1, 2]"); }).find("expected an object"), std::string::npos);
}

TEST(ImageProcessorConfig, FromYamlWithLineNumbers) {
  const YAML::Node ok = YAML::Load(
      "size: {height: 32, width: 48}\nresample: 0\ndo_normalize: false\nimage_mean: [0.1, 0.2, 0.3]\n");
  const auto c = ImageProcessorConfig::from_yaml(ok, "p.yaml");
  EXPECT_EQ(c.size.width, 48);
  EXPECT_EQ(c.resample, Resample::nearest);
  EXPECT_FALSE(c.do_normalize);
  EXPECT_EQ(c.image_mean[2], 0.3);
  const YAML::Node bad = YAML::Load("do_resize: true\nsize:\n  shortest_edge: many\n");
  const std::string msg = error_of([&] { ImageProcessorConfig::from_yaml(bad, "p.yaml"); });
  EXPECT_NE(msg.find("p.yaml:3:18: key 'size.shortest_edge': expected an integer"), std::string::npos) << msg;
}

ImageProcessor with(const std::string& json) {
  return ImageProcessor(parse(json));
}

TEST(ImageProcessor, ShortestEdgeSizeTruncatesTheLongSide) {
  const auto p = with(R"({"size": {"shortest_edge": 224}})");
  // (height, width) in, (height, width) out; long side = int(224 * long / short).
  EXPECT_EQ(p.resized_size(300, 451), (std::pair{224, 336}));  // 336.75 -> 336
  EXPECT_EQ(p.resized_size(400, 80), (std::pair{1120, 224}));
  EXPECT_EQ(p.resized_size(100, 100), (std::pair{224, 224}));
  EXPECT_EQ(with(R"({"size": {"shortest_edge": 2}})").resized_size(7, 3), (std::pair{4, 2}));  // 4.67 -> 4
  EXPECT_EQ(with(R"({"size": {"height": 20, "width": 30}})").resized_size(7, 3), (std::pair{20, 30}));
  EXPECT_EQ(with(R"({"do_resize": false})").resized_size(7, 3), (std::pair{7, 3}));
}

TEST(ImageProcessor, LongestEdgeRoundsHalfToEven) {
  // get_size_with_aspect_ratio((500, 1000), 800, 1333): 1000/500*800 > 1333, raw = 1333*500/1000 = 666.5,
  // Python's round(666.5) = 666, the long side int(666.5 * 1000 / 500) = 1333.
  const auto p = with(R"({"size": {"shortest_edge": 800, "longest_edge": 1333}})");
  EXPECT_EQ(p.resized_size(500, 1000), (std::pair{666, 1333}));
  EXPECT_EQ(p.resized_size(800, 1000), (std::pair{800, 1000}));  // already the requested short side
  EXPECT_EQ(p.resized_size(1000, 900), (std::pair{888, 800}));   // int(800 * 1000 / 900) = 888
}

Image numbered(int w, int h) {
  Image img(w, h, 1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) img.at(y, x, 0) = static_cast<std::uint8_t>(10 * y + x + 1);
  return img;
}

std::vector<std::vector<int>> rows_of(const Image& img) {
  std::vector<std::vector<int>> r(static_cast<std::size_t>(img.height()));
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x) r[static_cast<std::size_t>(y)].push_back(img.at(y, x, 0));
  return r;
}

TEST(ImageProcessor, CenterCropPadsWhereTransformersDoes) {
  // 5 wide, 3 high; values 10*y + x + 1.
  const auto crop = [](int h, int w) {
    return with(R"({"do_resize": false, "crop_size": {"height": )" + std::to_string(h) + R"(, "width": )" +
                std::to_string(w) + "}}")
        .resize_and_crop(numbered(5, 3));
  };
  // Smaller: top = (3-1)//2 = 1, left = (5-3)//2 = 1.
  EXPECT_EQ(rows_of(crop(1, 3)), (std::vector<std::vector<int>>{{12, 13, 14}}));
  // Taller by one: top = (3-4)//2 = -1 (floor), i.e. one zero row above, none below; left = (5-2)//2 = 1.
  EXPECT_EQ(rows_of(crop(4, 2)), (std::vector<std::vector<int>>{{0, 0}, {2, 3}, {12, 13}, {22, 23}}));
  // Taller by three: ceil(3/2) = 2 zero rows above, 1 below. Wider by two: one zero column each side.
  EXPECT_EQ(rows_of(crop(6, 7)), (std::vector<std::vector<int>>{{0, 0, 0, 0, 0, 0, 0},
                                                                {0, 0, 0, 0, 0, 0, 0},
                                                                {0, 1, 2, 3, 4, 5, 0},
                                                                {0, 11, 12, 13, 14, 15, 0},
                                                                {0, 21, 22, 23, 24, 25, 0},
                                                                {0, 0, 0, 0, 0, 0, 0}}));
}

TEST(ImageProcessor, RescaleAndNormalizeInFloat32LikeNumpy) {
  const auto p = with(R"({"do_resize": false, "do_center_crop": false})");
  Image img(2, 1, 3);
  for (int c = 0; c < 3; ++c) {
    img.at(0, 0, c) = 0;
    img.at(0, 1, c) = 255;
  }
  const Tensor t = p.preprocess(img);
  ASSERT_EQ(t.shape(), (Shape{1, 3, 1, 2}));
  const float mean[] = {0.48145466f, 0.4578275f, 0.40821073f};
  const float std[] = {0.26862954f, 0.26130258f, 0.27577711f};
  for (int c = 0; c < 3; ++c) {
    // rescale: float32(0 * (1/255) in float64); normalize: (x - mean) / std with float32 operands.
    EXPECT_EQ(t.data()[c * 2 + 0], (0.0f - mean[c]) / std[c]);
    EXPECT_EQ(t.data()[c * 2 + 1], (static_cast<float>(255 * 0.00392156862745098) - mean[c]) / std[c]);
  }
  const Tensor raw =
      with(R"({"do_resize": false, "do_center_crop": false, "do_rescale": false, "do_normalize": false})")
          .preprocess(img);
  EXPECT_EQ(raw.data()[1], 255.0f);
  const Tensor scaled =
      with(R"({"do_resize": false, "do_center_crop": false, "do_normalize": false})").preprocess(img);
  EXPECT_EQ(scaled.data()[1], 1.0f);
}

TEST(ImageProcessor, BatchesAndChannelChecks) {
  const auto p = with("{}");
  const std::vector<Image> batch = {numbered(30, 20), numbered(20, 40)};
  std::vector<Image> rgb;
  for (const auto& g : batch) {
    Image c(g.width(), g.height(), 3);
    for (int y = 0; y < g.height(); ++y)
      for (int x = 0; x < g.width(); ++x)
        for (int k = 0; k < 3; ++k) c.at(y, x, k) = g.at(y, x, 0);
    rgb.push_back(c);
  }
  EXPECT_EQ(p.preprocess(rgb).shape(), (Shape{2, 3, 224, 224}));
  // do_convert_rgb takes a one-channel image as Pillow's L: gray replicated, same values as the RGB copy.
  const Tensor from_gray = p.preprocess(batch[0]);
  const Tensor from_rgb = p.preprocess(rgb[0]);
  ASSERT_EQ(from_gray.shape(), (Shape{1, 3, 224, 224}));
  for (std::int64_t i = 0; i < from_gray.numel(); ++i) ASSERT_EQ(from_gray.data()[i], from_rgb.data()[i]);
  // Without it, one channel against three means is an error, as in transformers.
  EXPECT_THROW(with(R"({"do_convert_rgb": false})").preprocess(batch[0]), ShapeError);
  // Without a crop, different aspect ratios give different sizes: no batch.
  EXPECT_THROW(with(R"({"do_center_crop": false})").preprocess(rgb), ShapeError);
  // A single mean/std applies to every channel.
  EXPECT_EQ(
      with(R"({"do_convert_rgb": false, "image_mean": 0.5, "image_std": 0.5})").preprocess(batch[0]).shape(),
      (Shape{1, 1, 224, 224}));
  // RGBA in memory: alpha dropped, not composited.
  Image rgba(1, 1, 4);
  rgba.at(0, 0, 0) = 10;
  rgba.at(0, 0, 1) = 20;
  rgba.at(0, 0, 2) = 30;
  const Image rgb_only = with(R"({"do_resize": false, "do_center_crop": false})").resize_and_crop(rgba);
  EXPECT_EQ(rgb_only.channels(), 3);
  EXPECT_EQ(rgb_only.at(0, 0, 2), 30);
}

}  // namespace
}  // namespace visbone::image
