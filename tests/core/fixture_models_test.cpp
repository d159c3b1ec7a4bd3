// Every checkpoint and reference file in tests/data/models reads back exactly what its header says. The
// headers are parsed here independently of the reader (plain boost::json on the raw bytes), and the values
// are converted from the raw bits, so a reader bug in offsets, shapes or F16/BF16 conversion shows up.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <boost/json.hpp>
#include <cstring>
#include <map>
#include <set>
#include <string>

#include "core/safetensors_files.h"
#include "visbone/core/checkpoint.h"
#include "visbone/core/safetensors.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;

fs::path models_dir() {
  return fs::path(VISBONE_TEST_DATA) / "models";
}

struct RawTensor {
  std::string dtype;
  Shape shape;
  std::string bytes;
};

// name -> tensor, straight from the file's bytes.
std::map<std::string, RawTensor> read_independently(const fs::path& file) {
  const std::string bytes = testing::read_bytes(file);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const auto header = boost::json::parse(bytes.substr(8, n)).as_object();
  std::map<std::string, RawTensor> out;
  for (const auto& kv : header) {
    if (kv.key() == "__metadata__") continue;
    const auto& e = kv.value().as_object();
    RawTensor t;
    t.dtype = std::string(e.at("dtype").as_string());
    for (const auto& d : e.at("shape").as_array()) t.shape.push_back(d.to_number<std::int64_t>());
    const auto& off = e.at("data_offsets").as_array();
    const auto begin = off[0].to_number<std::size_t>(), end = off[1].to_number<std::size_t>();
    t.bytes = bytes.substr(8 + n + begin, end - begin);
    out.emplace(std::string(kv.key()), std::move(t));
  }
  return out;
}

// The float32 values the raw bytes stand for; BF16 is widened by hand so the check does not rely on
// dtype.cpp.
std::vector<float> expected_values(const RawTensor& t) {
  std::vector<float> v;
  if (t.dtype == "F32") {
    v.resize(t.bytes.size() / 4);
    std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
  } else if (t.dtype == "F16" || t.dtype == "BF16") {
    for (std::size_t i = 0; i + 1 < t.bytes.size(); i += 2) {
      std::uint16_t bits;
      std::memcpy(&bits, t.bytes.data() + i, 2);
      v.push_back(t.dtype == "F16" ? half_to_float(bits) : std::bit_cast<float>(std::uint32_t{bits} << 16));
    }
  } else {
    ADD_FAILURE() << "fixture dtype " << t.dtype << " not covered by this test";
  }
  return v;
}

// Bitwise equality (so -0.0 vs 0.0 or a changed NaN payload would count as a difference).
bool same_bits(const Tensor& got, const std::vector<float>& want) {
  return static_cast<std::size_t>(got.numel()) == want.size() &&
         (want.empty() || std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) == 0);
}

struct Fixture {
  std::string folder;
  std::string weight_dtype;
  std::size_t shards;
};

// Names the case in ctest's listing instead of a byte dump.
void PrintTo(const Fixture& f, std::ostream* os) {
  *os << f.folder;
}

class FixtureCheckpoint : public ::testing::TestWithParam<Fixture> {};

TEST_P(FixtureCheckpoint, AgreesWithIndependentlyParsedHeaders) {
  const auto& fx = GetParam();
  const fs::path dir = models_dir() / fx.folder;
  auto ckpt = Checkpoint::open(dir);
  EXPECT_TRUE(ckpt.config().is_object());

  std::vector<fs::path> files;
  if (fs::exists(dir / "model.safetensors")) {
    files.push_back(dir / "model.safetensors");
  } else {
    const auto index =
        boost::json::parse(testing::read_bytes(dir / "model.safetensors.index.json")).as_object();
    std::set<std::string> shards;
    for (const auto& kv : index.at("weight_map").as_object()) shards.emplace(kv.value().as_string());
    for (const auto& s : shards) files.push_back(dir / s);
    EXPECT_EQ(ckpt.parameter_count(), index.at("metadata").at("total_parameters").to_number<std::uint64_t>());
  }
  ASSERT_EQ(files.size(), fx.shards);

  std::map<std::string, RawTensor> expected;
  for (const auto& f : files) expected.merge(read_independently(f));
  EXPECT_EQ(ckpt.tensor_names().size(), expected.size());

  std::uint64_t params = 0;
  for (const auto& [name, raw] : expected) {
    const TensorInfo* info = ckpt.find(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(dtype_name(info->dtype), raw.dtype) << name;
    EXPECT_EQ(raw.dtype, fx.weight_dtype) << name;
    EXPECT_EQ(info->shape, raw.shape) << name;
    const Tensor t = ckpt.load(name, raw.shape);
    EXPECT_TRUE(same_bits(t, expected_values(raw))) << name;
    params += static_cast<std::uint64_t>(t.numel());
  }
  EXPECT_EQ(ckpt.parameter_count(), params);
  EXPECT_TRUE(ckpt.unused().empty());
  EXPECT_NO_THROW(ckpt.check_complete());
}

INSTANTIATE_TEST_SUITE_P(
    Models, FixtureCheckpoint,
    ::testing::Values(Fixture{"tiny-preact", "F32", 1}, Fixture{"tiny-bottleneck-same-os8", "BF16", 1},
                      Fixture{"tiny-preact-same-os16", "F16", 1}, Fixture{"tiny-gray-dynstem", "F32", 1},
                      Fixture{"bit-50-random-fp16", "F16", 4}, Fixture{"bit-tiny-digits", "F32", 1},
                      Fixture{"tiny-width2", "F32", 1}, Fixture{"timm-tiny-w2/hf", "F32", 1},
                      Fixture{"timm-tiny-w2/timm", "F32", 1}, Fixture{"timm-tiny-os16/timm", "F32", 1}),
    [](const auto& info) {
      std::string n = info.param.folder;
      for (auto& c : n)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

// The reference outputs are safetensors files too (F32, and F16 stage outputs for bit-50).
TEST(FixtureReferences, EveryReferenceFileReadsBackItsHeader) {
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(models_dir())) {
    if (entry.path().filename() != "reference.safetensors") continue;
    ++files;
    const auto f = SafetensorsFile::open(entry.path());
    const auto expected = read_independently(entry.path());
    ASSERT_EQ(f.tensors().size(), expected.size()) << entry.path();
    for (const auto& [name, raw] : expected) {
      const TensorInfo* info = f.find(name);
      ASSERT_NE(info, nullptr) << entry.path() << " " << name;
      EXPECT_EQ(info->shape, raw.shape) << name;
      EXPECT_TRUE(same_bits(f.load(name), expected_values(raw))) << entry.path() << " " << name;
    }
  }
  EXPECT_EQ(files, 7);
}

}  // namespace
}  // namespace visbone
