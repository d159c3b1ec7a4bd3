// Sharded runs merged back: at N = 1, 3, 4 and 16 the merged JSON Lines, CSV and safetensors files (per
// input and stacked) of the digits set are byte-identical to a single-process run, and so are bit-50's
// feature maps of a few pictures at N = 1, 3, 4; a missing, foreign or damaged shard is an error naming its
// file, and nothing is merged then; the shards' counts add up to the single run's (accuracy of the labelled
// digits).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "pipeline_test_support.h"
#include "visbone/api/register_builtins.h"
#include "visbone/core/errors.h"
#include "visbone/hub/sha256.h"
#include "visbone/pipeline/merge.h"
#include "visbone/pipeline/pipeline.h"
#include "visbone/pipeline/shard_manifest.h"

namespace visbone::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::kData;
using testing::read_file;
using testing::TempDir;
using visbone::testing::message_of;

std::string config_text(int top_k = 3) {
  return "source: {type: folder, path: " + kData + "/digits/images, labels_from_folders: true}\n" +
         "model: {checkpoint: " + kData + "/models/bit-tiny-digits}\n" +
         "heads:\n  - {type: classification, top_k: " + std::to_string(top_k) + "}\n  - {type: embedding}\n" +
         "sinks:\n"
         "  - {type: jsonl, path: predictions.jsonl}\n"
         "  - {type: csv, path: predictions.csv}\n"
         "  - {type: safetensors, path: features.safetensors}\n"
         "  - {type: safetensors, path: stacked.safetensors, stack: true}\n"
         "  - {type: embedding_index, path: gallery.safetensors}\n"
         "batch_size: 32\nthreads: 1\n";
}

Summary run(PipelineConfig c, const fs::path& out, std::optional<ShardSpec> shard) {
  c.output_dir = out;
  c.shard = shard;
  return Pipeline(std::move(c), register_pipeline_builtins).run();
}
Summary run(const fs::path& config, const fs::path& out, std::optional<ShardSpec> shard) {
  return run(load_config(config), out, shard);
}

void run_shards(const PipelineConfig& config, const fs::path& out, int n) {
  for (int i = 0; i < n; ++i) run(config, out, ShardSpec{i, n});
}

// Runs `config` as N shards into `dir`/nN for each N and merges them; every file of `outputs` must then be
// the bytes of `single`'s.
void expect_merges_to_single(const PipelineConfig& config, const fs::path& single, const fs::path& dir,
                             const std::vector<std::string>& outputs, const std::vector<int>& ns) {
  for (const int n : ns) {
    const fs::path out = dir / ("n" + std::to_string(n));
    run_shards(config, out, n);
    EXPECT_FALSE(fs::exists(out / "_SUCCESS")) << "a shard marks the folder complete";
    EXPECT_EQ(merge_shards(out).lines.size(), outputs.size());
    for (const auto& f : outputs) {
      const std::string bytes = read_file(single / f);
      ASSERT_FALSE(bytes.empty()) << f;
      EXPECT_TRUE(read_file(out / f) == bytes) << f << " differs at N = " << n;
    }
    EXPECT_TRUE(fs::exists(out / "_SUCCESS"));
  }
}

class ShardMerge : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    dir_->write("run.yaml", config_text());
    run(*dir_ / "run.yaml", *dir_ / "single", std::nullopt);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  // Runs every shard of N into `name`.
  static fs::path run_shards(const std::string& name, int n) {
    const fs::path out = *dir_ / name;
    pipeline::run_shards(load_config(*dir_ / "run.yaml"), out, n);
    return out;
  }
  static TempDir* dir_;
};
TempDir* ShardMerge::dir_ = nullptr;

// The resume tests' outputs plus a knn gallery (embedding_index: stacked safetensors).
std::vector<std::string> digits_outputs() {
  auto out = testing::kMergedOutputs;
  out.emplace_back("gallery.safetensors");
  return out;
}

TEST_F(ShardMerge, MergedFilesAreTheSingleRunsBytes) {
  expect_merges_to_single(load_config(*dir_ / "run.yaml"), *dir_ / "single", dir_->path(), digits_outputs(),
                          {1, 3, 4, 16});
}

// The shipped configs/bit50-features.yaml (feature maps of stages 1-4 per input, stacked embeddings, records;
// its heat maps are per-input files the shards share) with the random-weight copy of google/bit-50's
// architecture, on five pictures of different sizes and channel counts in batches of 2: three batches, so
// N = 3 gives shards of 2, 2, 1 inputs, N = 4 one more, empty, shard and N = 16 thirteen empty ones.
TEST(ShardMergeBit50, FeatureMapsMergeToTheSingleRunsBytes) {
  TempDir dir;
  for (const std::string name :
       {"astronaut.png", "camera_gray.png", "chelsea.png", "coffee.png", "tall_strip.png"})
    dir.write("images/" + name, read_file(fs::path(kData) / "preprocess/images" / name));
  PipelineConfig c = load_config(testing::project_dir() / "configs/bit50-features.yaml");
  Overrides o;
  o.input = (dir / "images").string();
  o.batch_size = 2;
  apply_overrides(c, o);
  c.model.spec["checkpoint"] = kData + "/models/bit-50-random-fp16";
  run(c, dir / "single", std::nullopt);
  ASSERT_EQ(testing::read_lines(dir / "single" / "records.jsonl").size(), 5u);
  expect_merges_to_single(c, dir / "single", dir.path(),
                          {"features.safetensors", "embeddings.safetensors", "records.jsonl"}, {1, 3, 4, 16});
}

// The labelled digits (data/digits: one folder per true label; the 0s in "00", a label the model has no class
// of): the shards' counts, from their manifests, add up to the single run's labelled inputs, hits, accuracy and
// unknown labels, and `visbone merge` prints them as `visbone run` does.
TEST(ShardMergeCounts, MergeReportsTheSingleRunsAccuracy) {
  TempDir dir;
  fs::copy(testing::project_dir() / "data/digits", dir / "labelled", fs::copy_options::recursive);
  fs::rename(dir / "labelled/0", dir / "labelled/00");
  dir.write("run.yaml", "source: {type: folder, path: labelled, labels_from_folders: true}\n"
                        "model: {checkpoint: " + kData + "/models/bit-tiny-digits}\n"
                        "heads:\n  - {type: classification, top_k: 3}\n"
                        "sinks:\n  - {type: jsonl, path: predictions.jsonl}\n"
                        "summary: summary.json\n"
                        "batch_size: 32\nthreads: 1\n");
  const PipelineConfig config = load_config(dir / "run.yaml");
  PipelineConfig c = config;
  c.output_dir = dir / "single";
  const Summary whole = Pipeline(std::move(c), register_pipeline_builtins).run();
  ASSERT_EQ(whole.labeled, 300u);
  ASSERT_GT(whole.correct, 200u);
  ASSERT_LT(whole.correct, 270u) << "the 30 inputs labelled 00 are misses";
  ASSERT_EQ(whole.unknown_labels, std::vector<std::string>{"00"});
  for (const int n : {1, 3, 16}) {
    const fs::path out = dir / ("n" + std::to_string(n));
    run_shards(config, out, n);
    const Summary merged = merge_shards(out).counts;
    EXPECT_EQ(merged.items, whole.items) << n;
    EXPECT_EQ(merged.ok, whole.ok) << n;
    EXPECT_EQ(merged.labeled, whole.labeled) << n;
    EXPECT_EQ(merged.correct, whole.correct) << n;
    EXPECT_EQ(merged.accuracy(), whole.accuracy()) << n;
    EXPECT_EQ(merged.unknown_labels, whole.unknown_labels) << n;
    // The merged summary.json says what the single run's says of the inputs, and what merge wrote.
    auto single_json = boost::json::parse(read_file(dir / "single/summary.json")).as_object();
    auto merged_json = boost::json::parse(read_file(out / "summary.json")).as_object();
    for (const char* key : {"items", "ok", "failed", "labeled", "correct", "accuracy", "unknown_labels"})
      EXPECT_EQ(merged_json.at(key), single_json.at(key)) << key << " at N = " << n;
    EXPECT_EQ(merged_json.at("shards").to_number<int>(), n);
    EXPECT_GT(merged_json.at("stage_seconds").at("backbone").to_number<double>(), 0.0) << n;
    const auto outputs = merged_json.at("outputs").as_array();
    ASSERT_EQ(outputs.size(), 2u) << n;
    EXPECT_EQ(outputs[0].at("path").as_string(), (out / "predictions.jsonl").string());
    EXPECT_EQ(outputs[1].at("path").as_string(), (out / "summary.json").string());
  }
  const auto r = testing::run_visbone({"merge", (dir / "n3").string()});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_NE(r.out.find(whole.items_text() + "\n" + whole.accuracy_text()), std::string::npos) << r.all();
  EXPECT_NE(r.out.find("note: folder labels the model has no class for: 00\n"), std::string::npos) << r.all();
}

// The counts are keys of the manifest like the others: one missing or of the wrong type is an error naming
// the file and the key.
TEST_F(ShardMerge, AManifestWithoutItsCountsIsAnErrorNamingTheKey) {
  const fs::path out = run_shards("counts", 1);
  const fs::path file = out / "_manifest.part-00000-of-00001.json";
  boost::json::object m = boost::json::parse(read_file(file)).as_object();
  EXPECT_EQ(m.at("labeled").to_number<int>(), 0) << "tests/data/digits/images is not in class folders";
  EXPECT_TRUE(m.at("unknown_labels").as_array().empty());
  const auto rewritten = [&](const std::string& key, const boost::json::value& v) {
    boost::json::object changed = m;
    if (v.is_null())
      changed.erase(key);
    else
      changed[key] = v;
    std::ofstream(file, std::ios::trunc) << boost::json::serialize(changed);
    return message_of([&] { read_manifest(file); });
  };
  EXPECT_EQ(rewritten("labeled", nullptr), file.string() + ": no 'labeled'");
  EXPECT_EQ(rewritten("correct", -1), file.string() + ": 'correct' is not a number >= 0");
  EXPECT_EQ(rewritten("unknown_labels", boost::json::array{3}),
            file.string() + ": 'unknown_labels' holds a value that is not a string");
  EXPECT_EQ(rewritten("labeled", 301), file.string() + ": 'labeled' is 301, more than 'ok' (300)");
  EXPECT_EQ(rewritten("correct", 1), file.string() + ": 'correct' is 1, more than 'labeled' (0)");
  EXPECT_NE(message_of([&] { merge_shards(out); }).find(file.string()), std::string::npos);
}

TEST_F(ShardMerge, ShardsKeepTheGlobalIndexAndSayWhatTheyDid) {
  const fs::path out = run_shards("index", 3);
  const auto lines = testing::read_lines(out / "predictions.part-00001-of-00003.jsonl");
  ASSERT_EQ(lines.size(), 128u);  // 300 inputs, batches of 32: 4 batches per shard
  EXPECT_EQ(boost::json::parse(lines.front()).at("index").as_int64(), 128);
  const ShardManifest m = read_manifest(out / "_manifest.part-00001-of-00003.json");
  EXPECT_EQ(m.range.begin, 128u);
  EXPECT_EQ(m.range.end, 256u);
  EXPECT_EQ(m.total, 300u);
  EXPECT_EQ(m.ok + m.failed, 128u);
  ASSERT_EQ(m.ids.size(), 128u);
  EXPECT_EQ(m.ids.front(), std::string(boost::json::parse(lines.front()).at("id").as_string()));
  ASSERT_EQ(m.outputs.size(), digits_outputs().size());
  EXPECT_EQ(m.outputs[0].merged, "predictions.jsonl");
  EXPECT_EQ(m.outputs[0].file, "predictions.part-00001-of-00003.jsonl");
  EXPECT_EQ(m.outputs[0].sha256, hub::sha256_file_hex(out / m.outputs[0].file));
  // Each sink said how its parts merge (Sink::outputs()); the manifest keeps it for `visbone merge`.
  const std::vector<MergeRule> rules = {MergeRule::concatenate, MergeRule::concatenate_after_header,
                                        MergeRule::safetensors, MergeRule::safetensors_stacked,
                                        MergeRule::safetensors_stacked};
  for (std::size_t k = 0; k < rules.size(); ++k)
    EXPECT_TRUE(m.outputs[k].merge == rules[k]) << m.outputs[k].file;
  EXPECT_EQ(m.outputs[3].kind, "safetensors");
  EXPECT_EQ(m.outputs[4].kind, "embedding_index");
  EXPECT_EQ(m.version, visbone_version());
}

TEST_F(ShardMerge, MissingShardIsAnErrorNamingIt) {
  const fs::path out = run_shards("missing", 3);
  fs::remove(out / "_manifest.part-00001-of-00003.json");
  const std::string err = message_of([&] { merge_shards(out); });
  EXPECT_NE(err.find("_manifest.part-00001-of-00003.json"), std::string::npos) << err;
  EXPECT_NE(err.find("missing"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(out / "predictions.jsonl"));
  EXPECT_FALSE(fs::exists(out / "_SUCCESS"));
}

TEST_F(ShardMerge, ForeignShardIsAnErrorNamingIt) {
  const fs::path out = run_shards("foreign", 3);
  dir_->write("other.yaml", config_text(2));
  run(*dir_ / "other.yaml", out, ShardSpec{2, 3});
  const std::string err = message_of([&] { merge_shards(out); });
  EXPECT_NE(err.find("_manifest.part-00002-of-00003.json"), std::string::npos) << err;
  EXPECT_NE(err.find("config hash"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(out / "predictions.jsonl"));
}

// A shard computed under other numerics (here the environment's algorithm; a node with another instruction
// set is the same case) has other bits: merge refuses it, naming both.
TEST_F(ShardMerge, AShardComputedWithOtherNumericsIsForeign) {
  const fs::path out = run_shards("numerics", 3);
  const auto r = testing::run_visbone({"run", (*dir_ / "run.yaml").string(), "--output", out.string(), "--shard", "2/3",
                                       "--progress", "none"},
                                      {{"VISBONE_CONV_ALGORITHM", "direct"}, {"VISBONE_WINOGRAD", std::nullopt}});
  ASSERT_EQ(r.status, 0) << r.all();
  const std::string err = message_of([&] { merge_shards(out); });
  EXPECT_NE(err.find("_manifest.part-00002-of-00003.json: foreign shard: its numerics is 'precision f32, "
                     "convolutions direct, oneDNN ISA "),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("convolutions auto (3x3 Winograd, strided columns from 256 channels)"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(out / "predictions.jsonl"));
}

TEST_F(ShardMerge, AShardRunAgainIsIncompleteUntilItFinishes) {
  const fs::path out = run_shards("rerun", 3);
  // The rerun of shard 1 cannot write its JSON Lines part (a folder is in the way): an error naming the sink,
  // and no manifest.
  fs::remove(out / "predictions.part-00001-of-00003.jsonl");
  fs::create_directory(out / "predictions.part-00001-of-00003.jsonl");
  fs::create_directory(out / "predictions.part-00001-of-00003.jsonl" / "x");
  const Summary s = run(*dir_ / "run.yaml", out, ShardSpec{1, 3});
  ASSERT_EQ(s.errors.size(), 1u);
  EXPECT_NE(s.errors[0].find("sinks[0] jsonl: "), std::string::npos) << s.errors[0];
  EXPECT_FALSE(fs::exists(out / "_manifest.part-00001-of-00003.json"));
  EXPECT_NE(message_of([&] { merge_shards(out); }).find("_manifest.part-00001-of-00003.json"),
            std::string::npos);
}

TEST_F(ShardMerge, AShardedRunNeedsAnOutputFolder) {
  PipelineConfig c = load_config(*dir_ / "run.yaml");
  c.shard = ShardSpec{0, 2};
  const std::string err = message_of([&] { Pipeline p(std::move(c), register_pipeline_builtins); });
  EXPECT_NE(err.find("run.yaml: a sharded run needs output_dir"), std::string::npos) << err;
}

TEST_F(ShardMerge, DamagedPartIsAnErrorNamingIt) {
  const fs::path out = run_shards("damaged", 3);
  std::ofstream(out / "predictions.part-00000-of-00003.csv", std::ios::app) << "x";
  const std::string err = message_of([&] { merge_shards(out); });
  EXPECT_NE(err.find("predictions.part-00000-of-00003.csv"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(out / "predictions.csv"));
}

TEST_F(ShardMerge, CommandLineTakesTheShardFromSlurmAndMergeExitsOneOnAMissingShard) {
  const fs::path out = *dir_ / "cli";
  for (const std::string task : {"4", "5"}) {
    const auto r = testing::run_visbone(
        {"run", (*dir_ / "run.yaml").string(), "--output", out.string(), "--progress", "none"},
        {{"SLURM_ARRAY_TASK_ID", task}, {"SLURM_ARRAY_TASK_COUNT", "3"}, {"SLURM_ARRAY_TASK_MIN", "4"}});
    ASSERT_EQ(r.status, 0) << r.all();
  }
  EXPECT_TRUE(fs::exists(out / "predictions.part-00001-of-00003.jsonl"));
  auto r = testing::run_visbone({"merge", out.string()});
  EXPECT_EQ(r.status, 1) << r.all();
  EXPECT_NE(r.err.find("_manifest.part-00002-of-00003.json"), std::string::npos) << r.all();
  r = testing::run_visbone({"run", (*dir_ / "run.yaml").string(), "--output", out.string(), "--progress",
                            "none", "--shard", "2/3"});
  ASSERT_EQ(r.status, 0) << r.all();
  r = testing::run_visbone({"merge", out.string()});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_TRUE(read_file(out / "predictions.jsonl") == read_file(*dir_ / "single" / "predictions.jsonl"));
  r = testing::run_visbone(
      {"run", (*dir_ / "run.yaml").string(), "--output", out.string(), "--shard", "3/3"});
  EXPECT_EQ(r.status, 2) << r.all();
  EXPECT_NE(r.err.find("--shard: '3/3'"), std::string::npos) << r.all();
}

}  // namespace
}  // namespace visbone::pipeline
