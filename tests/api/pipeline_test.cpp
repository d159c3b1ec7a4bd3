#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

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

// A head that takes a pseudo-random time per batch (a hash of its features: different from batch to batch,
// the same from run to run), so that with several batches in its hands they finish out of order.
class SlowHead final : public Head {
 public:
  explicit SlowHead(std::uint32_t salt) : salt_(salt) {}
  HeadNeeds needs() const override {
    HeadNeeds n;
    n.pooled = true;
    return n;
  }
  std::vector<HeadResult> run(const ForwardResult& features) const override {
    std::uint32_t h = salt_;
    for (std::int64_t i = 0; i < std::min<std::int64_t>(features.pooled.numel(), 64); ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, features.pooled.data() + i, sizeof bits);
      h = (h ^ bits) * 2654435761u;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds((h >> 16) % 17));
    std::vector<HeadResult> out(static_cast<std::size_t>(features.pooled.dim(0)));
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i].record["first"] = features.pooled.data()[static_cast<std::int64_t>(i) * features.pooled.dim(1)];
    return out;
  }

 private:
  std::uint32_t salt_;
};

// What each slow sink saw, in the order it saw it.
struct Seen {
  std::uint64_t seq = 0;
  std::string id;
  std::map<std::string, HeadResult> heads;  // by head name
};
struct SeenLog {
  std::mutex mutex;
  std::map<std::string, std::vector<Seen>> by_sink;
};
SeenLog& seen_log() {
  static SeenLog log;
  return log;
}

class SlowSink final : public Sink {
 public:
  SlowSink(std::string name, std::vector<SinkHead> heads) : name_(std::move(name)), heads_(std::move(heads)) {}
  void write(const Item& item) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(item.seq * 7919 % 3));
    Seen seen{item.seq, item.id, {}};
    for (std::size_t h = 0; h < item.heads.size(); ++h) seen.heads[heads_[h].name] = item.heads[h];
    std::lock_guard lock(seen_log().mutex);
    seen_log().by_sink[name_].push_back(std::move(seen));
  }
  void finish() override {}
  std::string describe() const override { return "api_test_slow " + name_; }

 private:
  std::string name_;
  std::vector<SinkHead> heads_;
};

// Two slow heads running four batches each at a time and two slow sinks: every sink still sees the inputs in
// input order, each with its own heads' results (the output sequencer, not luck, keeps the order).
TEST(PipelineApi, SlowConcurrentHeadsAndSinksKeepInputOrder) {
  auto& registry = default_registry();
  if (!registry.contains(registry::ComponentKind::head, "api_test_slow"))
    registry.add_head("api_test_slow", "sleeps a pseudo-random time per batch",
                      [](const registry::Params& p, HeadContext&) -> std::unique_ptr<Head> {
                        return std::make_unique<SlowHead>(static_cast<std::uint32_t>(p.get<int>("salt")));
                      });
  if (!registry.contains(registry::ComponentKind::sink, "api_test_slow"))
    registry.add_sink("api_test_slow", "records what it sees, slowly",
                      [](const registry::Params& p, const SinkContext& ctx) -> std::unique_ptr<Sink> {
                        return std::make_unique<SlowSink>(p.get<std::string>("tag"), ctx.heads);
                      });
  seen_log().by_sink.clear();
  TempDir dir;
  const fs::path images = kData / "digits" / "images";
  auto p = make_pipeline("source: {type: folder, path: " + images.string() + "}\nmodel: {checkpoint: " +
                             (kModels / "bit-tiny-digits").string() +
                             "}\nheads: [{type: api_test_slow, name: h1, salt: 1}, {type: api_test_slow, name: "
                             "h2, salt: 2}]\nsinks: [{type: api_test_slow, tag: s1}, {type: api_test_slow, "
                             "tag: s2}, {type: jsonl, path: o.jsonl}]\nbatch_size: 2\nmax_in_flight: 40\n"
                             "concurrency: {heads: 4}\n",
                         dir.path());
  const auto summary = p->run();
  ASSERT_EQ(summary.ok, 300u);
  ASSERT_EQ(seen_log().by_sink.size(), 2u);
  std::map<std::string, double> first_by_id;
  for (const auto& [sink, records] : seen_log().by_sink) {
    ASSERT_EQ(records.size(), 300u) << sink;
    for (std::size_t k = 0; k < records.size(); ++k) {
      ASSERT_EQ(records[k].seq, k) << sink << " saw input " << records[k].seq << " at position " << k;
      ASSERT_EQ(records[k].heads.size(), 2u);
      const double h1 = records[k].heads.at("h1").record.at("first").as_double();
      EXPECT_EQ(h1, records[k].heads.at("h2").record.at("first").as_double()) << records[k].id;
      // Both sinks got the same record for an id.
      const auto [it, fresh] = first_by_id.emplace(records[k].id, h1);
      if (!fresh) {
        EXPECT_EQ(it->second, h1) << records[k].id;
      }
    }
  }
  // The file sink lists the ids in the same order.
  std::ifstream in(dir.path() / "o.jsonl");
  std::size_t k = 0;
  for (std::string line; std::getline(in, line); ++k)
    EXPECT_EQ(std::string(boost::json::parse(line).at("id").as_string()), seen_log().by_sink["s1"][k].id) << k;
  EXPECT_EQ(k, 300u);
}

// A head that fails on every batch: each of its inputs becomes an error record naming the head, in input
// order, and the run goes on to the end.
class FailingHead final : public Head {
 public:
  HeadNeeds needs() const override {
    HeadNeeds n;
    n.pooled = true;
    return n;
  }
  std::vector<HeadResult> run(const ForwardResult&) const override { throw ShapeError("no luck today"); }
};

TEST(PipelineApi, AFailingHeadGivesErrorRecordsNamingIt) {
  auto& registry = default_registry();
  if (!registry.contains(registry::ComponentKind::head, "api_test_failing"))
    registry.add_head("api_test_failing", "throws on every batch",
                      [](const registry::Params&, HeadContext&) -> std::unique_ptr<Head> {
                        return std::make_unique<FailingHead>();
                      });
  TempDir dir;
  const fs::path two = kData / "preprocess" / "images" / "camera_gray.png";
  auto p = make_pipeline("source: {type: files, paths: [" + kChelsea.string() + ", " + two.string() +
                             "]}\nmodel: {checkpoint: " + (kModels / "bit-tiny-digits").string() +
                             "}\nheads: [{type: classification}, {type: api_test_failing, name: unlucky}]\n"
                             "sinks: [{type: jsonl, path: o.jsonl}]\nbatch_size: 1\nfail_on_error: false\n",
                         dir.path());
  const auto summary = p->run();
  EXPECT_EQ(summary.items, 2u);
  EXPECT_EQ(summary.failed, 2u);
  std::ifstream in(dir.path() / "o.jsonl");
  std::vector<boost::json::object> records;
  for (std::string line; std::getline(in, line);) records.push_back(boost::json::parse(line).as_object());
  ASSERT_EQ(records.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(records[i].at("index").to_number<std::uint64_t>(), i);
    EXPECT_FALSE(records[i].at("ok").as_bool());
    EXPECT_EQ(std::string(records[i].at("stage").as_string()), "head unlucky");
    const std::string error(records[i].at("error").as_string());
    EXPECT_NE(error.find("no luck today"), std::string::npos) << error;
    EXPECT_NE(error.find(i == 0 ? "chelsea.png" : "camera_gray.png"), std::string::npos) << error;
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
