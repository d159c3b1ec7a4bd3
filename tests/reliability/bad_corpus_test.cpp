// Walks tests/data/bad: every file is read with the reader expected.json names and must be rejected with the
// exception type it gives and a message that contains its substring and names the file. A file without an
// entry, or an entry without a file, fails the test, so the corpus and its manifest cannot drift apart.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "visbone/bit/bit_config.h"
#include "visbone/bit/checkpoint_formats.h"
#include "visbone/core/checkpoint.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/core/npz.h"
#include "visbone/core/safetensors.h"
#include "visbone/image/decode.h"
#include "visbone/image/image_processor.h"
#include "visbone/pipeline/config.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kBad = fs::path(VISBONE_TEST_DATA) / "bad";

std::uint64_t option(const json::object& options, const char* key, std::uint64_t fallback) {
  const auto* v = options.if_contains(key);
  return v ? v->to_number<std::uint64_t>() : fallback;
}

fs::path shard_folder_for(const fs::path& index) {
  return fs::temp_directory_path() /
         ("visbone-bad-index-" + std::to_string(::getpid()) + "-" + index.stem().string());
}

// A folder for the sharded-index cases: config.json and three shards (see make_bad_corpus.py).
class ShardFolder {
 public:
  explicit ShardFolder(const fs::path& index) : dir_(shard_folder_for(index)) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "config.json") << R"({"model_type": "bit"})";
    write_safetensors(dir_ / "model-00001-of-00002.safetensors",
                      {{"a.weight", Tensor({2, 3})}, {"a.bias", Tensor({3})}});
    write_safetensors(dir_ / "model-00002-of-00002.safetensors", {{"b.weight", Tensor({4})}});
    write_safetensors(dir_ / "duplicate.safetensors", {{"a.bias", Tensor({3})}});
    fs::copy_file(index, dir_ / "model.safetensors.index.json");
  }
  ~ShardFolder() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  ShardFolder(const ShardFolder&) = delete;
  ShardFolder& operator=(const ShardFolder&) = delete;
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

// Reads `file` as the reader does.
using Reader = std::function<void(const fs::path& file, const json::object& options)>;

const std::map<std::string, Reader>& readers() {
  static const std::map<std::string, Reader> all = {
      {"safetensors",
       [](const fs::path& f, const json::object& o) {
         SafetensorsLimits limits;
         limits.max_header_bytes = option(o, "max_header_bytes", limits.max_header_bytes);
         limits.max_tensors = option(o, "max_tensors", limits.max_tensors);
         limits.max_memory_bytes = option(o, "max_memory_bytes", limits.max_memory_bytes);
         SafetensorsFile::open(f, limits);
       }},
      {"sharded_index",
       [](const fs::path& f, const json::object& o) {
         SafetensorsLimits limits;
         limits.max_tensors = option(o, "max_tensors", limits.max_tensors);
         const ShardFolder folder(f);
         Checkpoint::open(folder.dir(), limits);
       }},
      {"config", [](const fs::path& f, const json::object&) { bit::BitConfig::from_file(f); }},
      {"timm_config",
       [](const fs::path& f, const json::object&) { bit::timm_config(read_json_file(f), f.string()); }},
      {"preprocessor_config",
       [](const fs::path& f, const json::object&) { image::ImageProcessorConfig::from_file(f); }},
      {"image_processor",
       [](const fs::path& f, const json::object&) {
         const image::ImageProcessor processor(image::ImageProcessorConfig::from_file(f));
         processor.preprocess(image::Image(4, 4, 3));
       }},
      {"npz",
       [](const fs::path& f, const json::object& o) {
         NpzLimits limits;
         limits.max_arrays = option(o, "max_arrays", limits.max_arrays);
         NpzFile::open(f, limits);
       }},
      {"image", [](const fs::path& f, const json::object&) { image::read_image(f); }},
      {"pipeline_config",
       [](const fs::path& f, const json::object& o) {
         yaml::YamlLimits limits;
         limits.max_bytes = option(o, "max_bytes", limits.max_bytes);
         pipeline::load_config(f, limits);
       }},
  };
  return all;
}

// What the error message must name: the file, or for an index the folder it was read in; nothing for
// preprocessing, which is given an image, not a file (its cases are checked by their `contains` text only).
std::optional<std::string> named_in_message(const std::string& reader, const fs::path& file) {
  if (reader == "image_processor") return std::nullopt;
  if (reader == "sharded_index") return shard_folder_for(file).string();
  return file.string();
}

bool is_type(const Error& e, const std::string& type) {
  if (type == "FormatError") return dynamic_cast<const FormatError*>(&e) != nullptr;
  if (type == "ConfigError") return dynamic_cast<const ConfigError*>(&e) != nullptr;
  if (type == "IoError") return dynamic_cast<const IoError*>(&e) != nullptr;
  if (type == "ShapeError") return dynamic_cast<const ShapeError*>(&e) != nullptr;
  if (type == "NotFoundError") return dynamic_cast<const NotFoundError*>(&e) != nullptr;
  ADD_FAILURE() << "expected.json names the unknown error type " << type;
  return false;
}

json::object manifest() {
  return read_json_file(kBad / "expected.json").as_object();
}

std::set<std::string> corpus_files() {
  std::set<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(kBad)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), kBad).generic_string();
    if (rel != "expected.json" && rel != "README.md") files.insert(rel);
  }
  return files;
}

TEST(BadCorpus, ManifestAndFilesMatch) {
  const auto entries = manifest();
  const auto files = corpus_files();
  for (const auto& f : files)
    EXPECT_TRUE(entries.contains(f)) << f << " is in tests/data/bad but not in expected.json";
  for (const auto& kv : entries)
    EXPECT_TRUE(files.count(std::string(kv.key())))
        << kv.key() << " is in expected.json but not in tests/data/bad";
}

TEST(BadCorpus, EveryReaderIsCovered) {
  std::map<std::string, int> per_reader;
  for (const auto& kv : manifest())
    ++per_reader[std::string(kv.value().as_object().at("reader").as_string())];
  for (const auto& [name, reader] : readers())
    EXPECT_GE(per_reader[name], 1) << "no bad input for reader " << name;
  // Each image format has its own broken files.
  std::set<std::string> kinds;
  for (const auto& f : corpus_files()) kinds.insert(f.substr(0, f.find('/')));
  for (const char* kind : {"png", "jpeg", "bmp", "tiff", "webp"}) EXPECT_TRUE(kinds.count(kind)) << kind;
}

TEST(BadCorpus, EveryFileIsRejectedWithItsError) {
  for (const auto& kv : manifest()) {
    const std::string rel(kv.key());
    SCOPED_TRACE(rel);
    const auto& entry = kv.value().as_object();
    const std::string reader_name(entry.at("reader").as_string());
    const std::string type(entry.at("error").as_string());
    const std::string contains(entry.at("contains").as_string());
    const auto* options = entry.if_contains("options");
    const auto it = readers().find(reader_name);
    ASSERT_NE(it, readers().end()) << "unknown reader " << reader_name;
    try {
      it->second(kBad / rel, options ? options->as_object() : json::object{});
      ADD_FAILURE() << rel << " was accepted by " << reader_name << "; expected " << type << " containing \""
                    << contains << "\"";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_TRUE(is_type(e, type)) << "message: " << what;
      EXPECT_NE(what.find(contains), std::string::npos) << "expected \"" << contains << "\" in: " << what;
      ASSERT_FALSE(contains.empty()) << "expected.json gives no text the message must contain";
      if (const auto named = named_in_message(reader_name, kBad / rel)) {
        EXPECT_NE(what.find(*named), std::string::npos) << "the message does not name the file: " << what;
      }
    }
  }
}

}  // namespace
}  // namespace visbone
