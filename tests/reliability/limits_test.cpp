// The limits a hostile input cannot get around, each at its boundary (accepted one under the limit and at
// it, rejected one past it with an error naming the setting) and configurable: image pixels and decode memory, preprocessing
// memory, safetensors header size, tensor counts, the memory one JSON document or safetensors header may
// take, .npz array counts and .npy header sizes, YAML size, nesting depth and alias expansion.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/support.h"
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "image/test_files.h"
#include "visbone/bit/bit_config.h"
#include "visbone/core/checkpoint.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/core/memory_budget.h"
#include "visbone/core/npz.h"
#include "visbone/core/safetensors.h"
#include "visbone/image/decode.h"
#include "visbone/image/image_processor.h"
#include "visbone/pipeline/config.h"
#include "visbone/registry/params.h"
#include "visbone/serve/config.h"
#include "visbone/transfer/fit_config.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

// The message of the visbone::Error `f` throws as type E; a test failure if it throws nothing or another
// type.
template <typename E, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw another type: " << e.what();
    return {};
  }
  ADD_FAILURE() << "did not throw";
  return {};
}

using visbone::testing::TempDir;

std::vector<std::pair<std::string, Tensor>> tensors(int n) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (int i = 0; i < n; ++i) out.emplace_back("layer." + std::to_string(i) + ".weight", Tensor({2}));
  return out;
}

std::uint64_t header_length(const std::string& file) {
  std::uint64_t n = 0;
  std::memcpy(&n, file.data(), sizeof n);
  return n;
}

// ---------------------------------------------------------------- memory budgets

TEST(MemoryBudget, CountsUseAndRefusesPastTheLimit) {
  const MemoryBudget budget(100, "in.bin: the header", "Limits::max_memory_bytes");
  budget.charge(60);
  EXPECT_EQ(budget.used(), 60u);
  EXPECT_EQ(error_of<FormatError>([&] { budget.charge(41); }),
            "in.bin: the header needs more than 100 bytes of memory (the limit, Limits::max_memory_bytes)");
  EXPECT_EQ(budget.used(), 60u);  // a refused charge is not recorded
  budget.charge(40);
  budget.release(100);
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(budget.peak(), 100u);
  const MemoryBudget copy = budget;  // copies share one count
  copy.charge(10);
  EXPECT_EQ(budget.used(), 10u);
}

std::string zeros_array(int n) {
  std::string text = "[";
  for (int i = 0; i < n; ++i) text += i ? ",0" : "0";
  return text + "]";
}

TEST(JsonLimits, ADocumentPastItsMemoryLimitIsRejected) {
  const std::string text = zeros_array(10'000);  // 20 kB of text, 160 kB of values
  EXPECT_THAT(error_of<FormatError>([&] { parse_json(text, "doc.json", 64 << 10); }),
              HasSubstr("doc.json: the JSON document needs more than 65536 bytes of memory"));
  EXPECT_EQ(parse_json(text, "doc.json", 1 << 20).as_array().size(), 10'000u);
  EXPECT_EQ(parse_json(text, "doc.json").as_array().size(), 10'000u);  // kJsonMaxMemoryBytes
  TempDir dir;
  const auto file = dir.write("doc.json", text);
  EXPECT_THAT(error_of<FormatError>([&] { read_json_file(file, 64u << 20, 64 << 10); }),
              HasSubstr(file.string() + ": the JSON document needs more than 65536 bytes"));
}

TEST(JsonLimits, TheDocumentChargesItsBudgetUntilItIsDestroyed) {
  const MemoryBudget budget(1 << 20, "doc.json", "test");
  {
    const auto value = parse_json(zeros_array(1000), "doc.json", budget);
    EXPECT_GE(budget.used(), 1000 * sizeof(boost::json::value));
  }
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_GE(budget.peak(), 1000 * sizeof(boost::json::value));
}

// The exact boundary: a document whose parse takes at most N bytes at once is accepted with the limit at N
// (and N+1) and refused at N-1, with N what the parse charged to a budget of its own.
TEST(JsonLimits, MemoryAtItsBoundary) {
  const std::string text = R"({"a": [1, 2.5, "three", {"b": null}], "c": ")" + std::string(300, 'x') + "\"}";
  const MemoryBudget probe(1 << 20, "doc.json", "test");
  parse_json(text, "doc.json", probe);
  const std::uint64_t needed = probe.peak();
  ASSERT_GT(needed, 300u);
  EXPECT_TRUE(parse_json(text, "doc.json", needed + 1).is_object());
  EXPECT_TRUE(parse_json(text, "doc.json", needed).is_object());
  EXPECT_EQ(error_of<FormatError>([&] { parse_json(text, "doc.json", needed - 1); }),
            "doc.json: the JSON document needs more than " + std::to_string(needed - 1) +
                " bytes of memory (the limit, max_memory_bytes for one JSON document)");
}

// ---------------------------------------------------------------- safetensors

TEST(SafetensorsLimits, HeaderSizeIsConfigurable) {
  const std::string file = encode_safetensors(tensors(3));
  SafetensorsLimits limits;
  limits.max_header_bytes = header_length(file) + 1;  // the header one byte under the limit, at it, over it
  EXPECT_EQ(SafetensorsFile::from_bytes(file, "w.safetensors", limits).tensors().size(), 3u);
  limits.max_header_bytes = header_length(file);
  EXPECT_EQ(SafetensorsFile::from_bytes(file, "w.safetensors", limits).tensors().size(), 3u);
  limits.max_header_bytes -= 1;
  EXPECT_THAT(
      error_of<FormatError>([&] { SafetensorsFile::from_bytes(file, "w.safetensors", limits); }),
      AllOf(HasSubstr("w.safetensors: header length"), HasSubstr("(SafetensorsLimits::max_header_bytes)")));
}

TEST(SafetensorsLimits, TensorCountIsConfigurableAndMetadataDoesNotCount) {
  const std::string file = encode_safetensors(tensors(5), {{"format", "pt"}});
  SafetensorsLimits limits;
  limits.max_tensors = 6;
  EXPECT_EQ(SafetensorsFile::from_bytes(file, "w.safetensors", limits).tensors().size(), 5u);
  limits.max_tensors = 5;
  EXPECT_EQ(SafetensorsFile::from_bytes(file, "w.safetensors", limits).tensors().size(), 5u);
  limits.max_tensors = 4;
  EXPECT_THAT(error_of<FormatError>([&] { SafetensorsFile::from_bytes(file, "w.safetensors", limits); }),
              HasSubstr("w.safetensors: header describes 5 tensors, more than the limit of 4 "
                        "(SafetensorsLimits::max_tensors)"));
}

TEST(SafetensorsLimits, HeaderMemoryIsConfigurable) {
  const std::string file = encode_safetensors(tensors(200));
  SafetensorsLimits limits;
  limits.max_memory_bytes = 1 << 20;
  EXPECT_EQ(SafetensorsFile::from_bytes(file, "w.safetensors", limits).tensors().size(), 200u);
  limits.max_memory_bytes = 8192;
  EXPECT_THAT(error_of<FormatError>([&] { SafetensorsFile::from_bytes(file, "w.safetensors", limits); }),
              HasSubstr("w.safetensors: the header needs more than 8192 bytes of memory (the limit, "
                        "SafetensorsLimits::max_memory_bytes)"));
}

// The exact boundary of SafetensorsLimits::max_memory_bytes: the peak the reader reports for the header is
// the smallest limit that accepts the file. 200 tensors and metadata, so the JSON document, the duplicate-key
// check and the tensor table all count.
TEST(SafetensorsLimits, HeaderMemoryAtItsBoundary) {
  const std::string file = encode_safetensors(tensors(200), {{"format", "pt"}});
  const std::uint64_t needed = SafetensorsFile::from_bytes(file, "w.safetensors").header_memory_bytes();
  ASSERT_GT(needed, header_length(file));  // parsed, the header takes more than its text
  SafetensorsLimits limits;
  limits.max_memory_bytes = needed + 1;
  EXPECT_EQ(SafetensorsFile::from_bytes(file, "w.safetensors", limits).tensors().size(), 200u);
  limits.max_memory_bytes = needed;
  EXPECT_EQ(SafetensorsFile::from_bytes(file, "w.safetensors", limits).header_memory_bytes(), needed);
  limits.max_memory_bytes = needed - 1;
  EXPECT_EQ(error_of<FormatError>([&] { SafetensorsFile::from_bytes(file, "w.safetensors", limits); }),
            "w.safetensors: the header needs more than " + std::to_string(needed - 1) +
                " bytes of memory (the limit, SafetensorsLimits::max_memory_bytes)");
}

// 400 kB of header: a shape of 200000 dims, which as JSON values and a shape vector would take megabytes.
TEST(SafetensorsLimits, AHostileShapeIsStoppedByTheMemoryLimit) {
  std::string shape = "[1";
  for (int i = 1; i < 200'000; ++i) shape += ",1";
  shape += "]";
  const std::string header = R"({"w": {"dtype": "U8", "shape": )" + shape + R"(, "data_offsets": [0, 1]}})";
  std::string file(8, '\0');
  const std::uint64_t n = header.size();
  std::memcpy(file.data(), &n, 8);
  file += header + '\0';
  SafetensorsLimits limits;
  limits.max_memory_bytes = 1 << 20;
  EXPECT_THAT(error_of<FormatError>([&] { SafetensorsFile::from_bytes(file, "w.safetensors", limits); }),
              HasSubstr("needs more than 1048576 bytes of memory"));
  EXPECT_EQ(SafetensorsFile::from_bytes(file, "w.safetensors").tensors().at(0).shape.size(), 200'000u);
}

TEST(SafetensorsLimits, TheDefaultsAcceptEveryFixture) {
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(VISBONE_TEST_DATA) / "models")) {
    if (e.path().extension() != ".safetensors") continue;
    EXPECT_NO_THROW(SafetensorsFile::open(e.path())) << e.path();
    ++files;
  }
  EXPECT_GE(files, 10);
}

TEST(CheckpointLimits, ApplyToTheWeightsAndTheIndex) {
  TempDir single;
  single.write("config.json", "{}");
  write_safetensors(single.path() / "model.safetensors", tensors(3));
  SafetensorsLimits limits;
  limits.max_tensors = 3;
  EXPECT_EQ(Checkpoint::open(single.path(), limits).tensor_names().size(), 3u);
  limits.max_tensors = 2;
  EXPECT_THAT(error_of<FormatError>([&] { Checkpoint::open(single.path(), limits); }),
              HasSubstr("model.safetensors: header describes 3 tensors, more than the limit of 2"));

  TempDir sharded;
  sharded.write("config.json", "{}");
  write_safetensors(sharded.path() / "a.safetensors", tensors(1));
  write_safetensors(sharded.path() / "b.safetensors",
                    {{"head.weight", Tensor({2})}, {"head.bias", Tensor({1})}});
  sharded.write("model.safetensors.index.json",
                R"({"weight_map": {"layer.0.weight": "a.safetensors", "head.weight": "b.safetensors",
                                   "head.bias": "b.safetensors"}})");
  limits.max_tensors = 3;
  EXPECT_EQ(Checkpoint::open(sharded.path(), limits).tensor_names().size(), 3u);
  limits.max_tensors = 2;
  EXPECT_THAT(error_of<FormatError>([&] { Checkpoint::open(sharded.path(), limits); }),
              HasSubstr("model.safetensors.index.json: weight_map lists 3 tensors, more than the limit of 2 "
                        "(SafetensorsLimits::max_tensors)"));
}

// ---------------------------------------------------------------- npz

TEST(NpzLimits, ArrayCountAndHeaderSizeAreConfigurable) {
  const fs::path file = fs::path(VISBONE_TEST_DATA) / "models/timm-tiny-w2/npz/model.npz";
  const std::size_t arrays = NpzFile::open(file).arrays().size();
  ASSERT_GT(arrays, 1u);
  NpzLimits limits;
  limits.max_arrays = arrays + 1;
  EXPECT_EQ(NpzFile::open(file, limits).arrays().size(), arrays);
  limits.max_arrays = arrays;
  EXPECT_EQ(NpzFile::open(file, limits).arrays().size(), arrays);
  limits.max_arrays = arrays - 1;
  EXPECT_THAT(error_of<FormatError>([&] { NpzFile::open(file, limits); }),
              HasSubstr(std::to_string(arrays) + " entries, more than the limit of " +
                        std::to_string(arrays - 1) + " arrays (NpzLimits::max_arrays)"));
  limits = NpzLimits{};
  limits.max_npy_header_bytes = 32;  // numpy writes headers of 118 bytes and more
  EXPECT_THAT(error_of<FormatError>([&] { NpzFile::open(file, limits); }),
              HasSubstr("is over the limit of 32 bytes (NpzLimits::max_npy_header_bytes)"));
}

TEST(NpzLimits, NpyHeaderSizeAtItsBoundary) {
  const fs::path file = fs::path(VISBONE_TEST_DATA) / "models/timm-tiny-w2/npz/model.npz";
  const auto opens = [&](std::uint64_t limit) {
    NpzLimits limits;
    limits.max_npy_header_bytes = limit;
    try {
      NpzFile::open(file, limits);
      return true;
    } catch (const FormatError&) {
      return false;
    }
  };
  // The longest header in the file: the smallest limit that opens it.
  std::uint64_t lo = 1, hi = 10'000;
  while (lo < hi) {
    const std::uint64_t mid = (lo + hi) / 2;
    if (opens(mid)) hi = mid; else lo = mid + 1;
  }
  const std::uint64_t longest = lo;
  // numpy pads magic (6) + version (2) + length (2) + header to a multiple of 64: an independent check.
  EXPECT_EQ((longest + 10) % 64, 0u) << longest;
  EXPECT_TRUE(opens(longest + 1));
  EXPECT_TRUE(opens(longest));
  NpzLimits limits;
  limits.max_npy_header_bytes = longest - 1;
  EXPECT_THAT(error_of<FormatError>([&] { NpzFile::open(file, limits); }),
              HasSubstr(".npy header length " + std::to_string(longest) + " is over the limit of " +
                        std::to_string(longest - 1) + " bytes (NpzLimits::max_npy_header_bytes)"));
}

// ---------------------------------------------------------------- images

using image::testing::Bytes;

Bytes png(int w, int h, int bit_depth = 8, int orientation = 0) {
  image::testing::PngSpec s;
  s.width = w;
  s.height = h;
  s.bit_depth = bit_depth;
  s.color_type = 2;
  s.samples.assign(static_cast<std::size_t>(w * h * 3 * bit_depth / 8), 7);
  if (orientation) {
    const Bytes exif = image::testing::exif_block(orientation);
    s.extra_chunks.push_back(image::testing::png_chunk("eXIf", Bytes(exif.begin() + 6, exif.end())));
  }
  return image::testing::make_png(s);
}

TEST(DecodeLimits, PixelsAreConfigurable) {
  image::DecodeOptions options;
  options.max_pixels = 101;
  EXPECT_EQ(image::decode_image(png(10, 10), "p.png", options).width(), 10);
  options.max_pixels = 100;
  EXPECT_EQ(image::decode_image(png(10, 10), "p.png", options).width(), 10);
  options.max_pixels = 99;
  EXPECT_THAT(error_of<FormatError>([&] { image::decode_image(png(10, 10), "p.png", options); }),
              HasSubstr("p.png: PNG header gives a size of 10x10 = 100 pixels, more than the limit of 99"));
}

// Memory: the decoder's buffer (4 channels of the sample size, twice when the orientation is applied) and
// the 3-channel result: 10x10 8-bit needs 100 * (4 + 3) bytes.
TEST(DecodeLimits, MemoryIsComputedFromTheHeaderAndConfigurable) {
  struct Case {
    Bytes file;
    std::uint64_t needed;
  };
  for (const Case& c : {Case{png(10, 10), 700}, Case{png(10, 10, 16), 1100}, Case{png(10, 10, 8, 6), 1100},
                        Case{image::testing::make_tiff_rgb(10, 10, Bytes(600, 1), 0, 16), 1100}}) {
    const Bytes& file = c.file;  // not a structured binding: clang 14 cannot capture one in a lambda
    const std::uint64_t needed = c.needed;
    image::DecodeOptions options;
    options.max_bytes = needed + 1;
    EXPECT_EQ(image::decode_image(file, "img", options).height(), 10);
    options.max_bytes = needed;
    EXPECT_EQ(image::decode_image(file, "img", options).height(), 10);
    options.max_bytes = needed - 1;
    EXPECT_THAT(error_of<FormatError>([&] { image::decode_image(file, "img", options); }),
                AllOf(HasSubstr("img: decoding this 10x10"),
                      HasSubstr("may take " + std::to_string(needed) + " bytes"),
                      HasSubstr("(DecodeOptions::max_bytes)")));
  }
}

TEST(PreprocessLimits, MemoryPerImageIsConfigurable) {
  image::ImageProcessorConfig config;
  config.size.shortest_edge = 32;
  config.crop_height = config.crop_width = 32;
  const image::Image img(40, 30, 1);
  const std::uint64_t needed = image::ImageProcessor(config).preprocess_bytes(30, 40, 1);
  EXPECT_GE(needed, 32u * 32 * 3 * sizeof(float));  // at least the float32 output
  EXPECT_EQ(image::ImageProcessor(config, needed + 1).preprocess(img).dim(3), 32);
  EXPECT_EQ(image::ImageProcessor(config, needed).preprocess(img).dim(3), 32);
  EXPECT_THAT(
      error_of<ShapeError>([&] { image::ImageProcessor(config, needed - 1).preprocess(img); }),
      AllOf(HasSubstr("preprocessing a 40x30 image with this config takes up to " + std::to_string(needed)),
            HasSubstr("more than the limit of " + std::to_string(needed - 1) + " per image")));
}

// Shrinking a very long image to a fixed size makes wide resampling filters: 2 million pixels to 224 need
// 224 filters of over 50000 taps each (48 MB), which the estimate counts.
TEST(PreprocessLimits, ResamplingFiltersAreCounted) {
  image::ImageProcessorConfig config;
  config.size = image::ResizeSize{std::nullopt, std::nullopt, 224, 224};
  config.do_center_crop = false;
  const image::ImageProcessor processor(config, 16 << 20);
  EXPECT_GT(processor.preprocess_bytes(1, 2'000'000, 3), std::uint64_t{40} << 20);
  EXPECT_THAT(error_of<ShapeError>([&] { processor.preprocess(image::Image(2'000'000, 1, 3)); }),
              HasSubstr("more than the limit of 16777216 per image"));
}

// ---------------------------------------------------------------- YAML

// A source of a plugin's type is kept as written for the registry, so anything may nest under it.
const std::string kPipeline = "model: {checkpoint: m}\nheads: [{type: classification}]\n";

TEST(YamlLimits, SizeIsConfigurable) {
  const std::string text = kPipeline + "source: {type: folder, path: images}\n";
  yaml::YamlLimits limits;
  limits.max_bytes = text.size() + 1;
  EXPECT_EQ(pipeline::parse_config(text, "p.yaml", limits).heads.size(), 1u);
  limits.max_bytes = text.size();
  EXPECT_EQ(pipeline::parse_config(text, "p.yaml", limits).heads.size(), 1u);
  limits.max_bytes = text.size() - 1;
  EXPECT_THAT(error_of<ConfigError>([&] { pipeline::parse_config(text, "p.yaml", limits); }),
              HasSubstr("p.yaml: the YAML text is " + std::to_string(text.size()) +
                        " bytes, more than the limit of " + std::to_string(text.size() - 1) +
                        " (YamlLimits::max_bytes)"));
}

std::string nested_source(int levels) {
  std::string deep = "1";
  for (int i = 0; i < levels; ++i) deep = "{a: " + deep + "}";
  return kPipeline + "source: {type: custom, extra: " + deep + "}\n";
}

TEST(YamlLimits, NestingDepthIsConfigurable) {
  yaml::YamlLimits limits;
  limits.max_depth = 10;  // top level 1, source 2, the maps under extra 3..
  EXPECT_NO_THROW(pipeline::parse_config(nested_source(7), "p.yaml", limits));  // 9 deep
  EXPECT_NO_THROW(pipeline::parse_config(nested_source(8), "p.yaml", limits));  // 10
  EXPECT_THAT(error_of<ConfigError>([&] { pipeline::parse_config(nested_source(9), "p.yaml", limits); }),
              HasSubstr("p.yaml:3:"));
  EXPECT_THAT(
      error_of<ConfigError>([&] { pipeline::parse_config(nested_source(9), "p.yaml", limits); }),
      HasSubstr("mappings and lists nested 11 deep, more than the limit of 10 (YamlLimits::max_depth)"));
  EXPECT_NO_THROW(pipeline::parse_config(nested_source(62), "p.yaml"));  // the default, 64
  EXPECT_THROW(pipeline::parse_config(nested_source(63), "p.yaml"), ConfigError);
}

// kPipeline + this source: the root mapping, then per key its key and value nodes: model {checkpoint: m}
// 4, heads [{type: classification}] 5, source {type: folder, path: images} 6; 16 in all.
TEST(YamlLimits, NodeCountAtItsBoundary) {
  const std::string text = kPipeline + "source: {type: folder, path: images}\n";
  yaml::YamlLimits limits;
  limits.max_nodes = 17;
  EXPECT_EQ(pipeline::parse_config(text, "p.yaml", limits).heads.size(), 1u);
  limits.max_nodes = 16;
  EXPECT_EQ(pipeline::parse_config(text, "p.yaml", limits).heads.size(), 1u);
  limits.max_nodes = 15;
  EXPECT_THAT(error_of<ConfigError>([&] { pipeline::parse_config(text, "p.yaml", limits); }),
              HasSubstr("p.yaml:3:"));
  EXPECT_THAT(error_of<ConfigError>([&] { pipeline::parse_config(text, "p.yaml", limits); }),
              HasSubstr("the document has more than 15 nodes"));
}

// Anchors nested `levels` deep, ten uses each: a walk of `extra` visits 10^levels nodes.
std::string alias_bomb(int levels) {
  std::string anchors = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]";
  for (int i = 1; i < levels; ++i) {
    anchors += ", a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) anchors += (k ? ", *a" : "*a") + std::to_string(i - 1);
    anchors += "]";
  }
  return kPipeline + "source: {type: custom, " + anchors + "}\n";
}

TEST(YamlLimits, AliasExpansionIsBounded) {
  EXPECT_NO_THROW(pipeline::parse_config(alias_bomb(3), "p.yaml"));
  EXPECT_THAT(error_of<ConfigError>([&] { pipeline::parse_config(alias_bomb(9), "p.yaml"); }),
              HasSubstr("more than 1000000 nodes when every alias is counted where it is used"));
  yaml::YamlLimits limits;
  limits.max_nodes = 1000;
  EXPECT_THAT(error_of<ConfigError>([&] { pipeline::parse_config(alias_bomb(3), "p.yaml", limits); }),
              HasSubstr("more than 1000 nodes"));
}

// Every YAML reader parses through yaml::load_yaml, so each refuses the bomb before walking it: the serve and
// fit configs and component parameters read their text themselves before that one reader (unbounded).
TEST(YamlLimits, EveryYamlReaderIsBounded) {
  const std::string bomb = alias_bomb(9);
  const std::string expected = "more than 1000000 nodes when every alias is counted where it is used";
  EXPECT_THAT(error_of<ConfigError>([&] { serve::parse_serve_config(bomb, "serve.yaml"); }),
              AllOf(HasSubstr("serve.yaml:"), HasSubstr(expected)));
  EXPECT_THAT(error_of<ConfigError>([&] { registry::Params::parse(bomb, "head.yaml"); }),
              AllOf(HasSubstr("head.yaml:"), HasSubstr(expected)));
  const TempDir dir;
  const fs::path fit = dir.write("fit.yaml", bomb);
  EXPECT_THAT(error_of<ConfigError>([&] { transfer::load_fit_config(fit); }),
              AllOf(HasSubstr(fit.string() + ":"), HasSubstr(expected)));
}

// ---------------------------------------------------------------- config.json

TEST(BitConfigLimits, ChannelCountsAreBoundedBeforeAnyArithmetic) {
  const auto config = [](int hidden) {
    return boost::json::object{
        {"depths", {1}}, {"hidden_sizes", {hidden}}, {"embedding_size", 64}, {"num_groups", 1}};
  };
  EXPECT_EQ(bit::BitConfig::from_json(config(65536), "c.json").stage_channels(1), 65536);
  EXPECT_THAT(
      error_of<ConfigError>([&] { bit::BitConfig::from_json(config(65537), "c.json"); }),
      HasSubstr("c.json: BitConfig: 'hidden_sizes' is [65537], expected channel counts from 1 to 65536"));
  // Past int, make_div saturates instead of overflowing.
  EXPECT_EQ(bit::make_div(1e12), 1'000'000'000);
}

}  // namespace
}  // namespace visbone
