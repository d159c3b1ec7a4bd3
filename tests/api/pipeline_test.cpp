#include <gtest/gtest.h>

#include <fstream>

#include "api_test_support.h"
#include "visbone/visbone.h"

namespace visbone {
namespace {

using namespace api_test;

TEST(PipelineApi, FromYamlTextWithRelativePaths) {
  TempDir dir;
  const fs::path images = kData / "digits" / "images";
  auto p = make_pipeline("source: {type: folder, path: " + images.string() + R"(}
model: {checkpoint: )" + (kModels / "bit-tiny-digits").string() +
                             R"(}
heads: [{type: classification, top_k: 2}]
sinks: [{type: jsonl, path: out/predictions.jsonl}]
batch_size: 16
threads: 1
)",
                         dir.path());
  const auto summary = p->run();
  std::size_t count = 0;
  for (const auto& e : fs::directory_iterator(images)) count += e.path().extension() == ".png";
  ASSERT_GT(count, 0u);
  EXPECT_EQ(summary.items, count);
  EXPECT_EQ(summary.ok, count);
  // The sink's relative path resolved against base_dir.
  std::ifstream in(dir.path() / "out" / "predictions.jsonl");
  ASSERT_TRUE(in) << "no predictions.jsonl under " << dir.path();
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) lines += !line.empty();
  EXPECT_EQ(lines, count);
}

TEST(PipelineApi, FromAFileWithOverrides) {
  TempDir dir;
  const fs::path config = dir.path() / "run.yaml";
  std::ofstream(config) << "source: {type: files, paths: [" << kChelsea.string() << "]}\n"
                        << "model: {checkpoint: " << (kModels / "bit-tiny-digits").string() << "}\n"
                        << "heads: [{type: embedding}]\n"
                        << "sinks: [{type: jsonl, path: e.jsonl}]\n";
  pipeline::Overrides o;
  o.output = (dir.path() / "elsewhere").string();
  const auto summary = load_pipeline(config, o)->run();
  EXPECT_EQ(summary.ok, 1u);
  EXPECT_TRUE(fs::exists(dir.path() / "elsewhere" / "e.jsonl"));
}

TEST(PipelineApi, MistakesAreConfigErrorsWithALine) {
  try {
    make_pipeline("source: {type: folder, path: .}\nmodel: {checkpoint: x}\nheds: []\n");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(":3:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_pipeline("/no/such/pipeline.yaml"), IoError);
}

}  // namespace
}  // namespace visbone
