#include <gtest/gtest.h>

#include <boost/json.hpp>
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

// A head of the application's own, registered in default_registry() and named in the YAML.
class ChannelsHead final : public Head {
 public:
  HeadNeeds needs() const override {
    HeadNeeds n;
    n.stages.push_back({"stage2", 0});
    return n;
  }
  std::vector<HeadResult> run(const ForwardResult& features) const override {
    const Tensor& m = features.stages.at("stage2");
    std::vector<HeadResult> out(static_cast<std::size_t>(m.dim(0)));
    for (auto& r : out) r.record["channels"] = m.dim(1);
    return out;
  }
};

TEST(PipelineApi, UsesComponentsTheApplicationRegistered) {
  auto& registry = default_registry();
  if (!registry.contains(registry::ComponentKind::head, "api_pipeline_channels"))
    registry.add_head("api_pipeline_channels", "stage2's channel count",
                      [](const registry::Params&, HeadContext&) -> std::unique_ptr<Head> {
                        return std::make_unique<ChannelsHead>();
                      });
  TempDir dir;
  auto p = make_pipeline("source: {type: files, paths: [" + kChelsea.string() + "]}\nmodel: {checkpoint: " +
                             (kModels / "bit-tiny-digits").string() +
                             "}\nheads: [{type: api_pipeline_channels, name: ch}]\nsinks: [{type: jsonl, path: o.jsonl}]\n",
                         dir.path());
  EXPECT_EQ(p->run().ok, 1u);
  const auto channels = p->backbone().output_shape().at("stage2").channels;
  std::ifstream in(dir.path() / "o.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  const auto record = boost::json::parse(line).as_object();
  EXPECT_EQ(record.at("ch").at("channels").to_number<std::int64_t>(), channels) << line;

  // An unknown type's message lists the application's heads with the built-in ones.
  try {
    make_pipeline("source: {type: files, paths: [" + kChelsea.string() + "]}\nmodel: {checkpoint: " +
                      (kModels / "bit-tiny-digits").string() +
                      "}\nheads: [{type: api_pipeline_chanels}]\nsinks: [{type: jsonl, path: o.jsonl}]\n",
                  dir.path());
    ADD_FAILURE() << "expected an error for an unknown head type";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'api_pipeline_channels'"), std::string::npos) << e.what();
  }
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
