// Resumable runs (journal.h): a run in chunks gives the single run's bytes; a run stopped part way (here by
// an exception from the progress callback, after some chunks were committed) goes on from its committed
// chunks; a chunk whose input changed runs again, and a changed model discards the journal; sinks that are
// not written in chunks are a config error naming them. Killing the process at random moments is
// tests/pipeline/resume_kill_test.sh's part.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "pipeline_test_support.h"
#include "visbone/api/register_builtins.h"
#include "visbone/core/errors.h"
#include "visbone/pipeline/journal.h"
#include "visbone/pipeline/pipeline.h"

namespace visbone::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::kData;
using testing::read_file;
using testing::TempDir;
using visbone::testing::message_of;

// The digits images copied (so a test may change one) and a config over them with the given model folder.
class Journal : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(fs::path(kData) / "digits/images", dir_ / "images", fs::copy_options::recursive);
    fs::copy(fs::path(kData) / "models/bit-tiny-digits", dir_ / "model", fs::copy_options::recursive);
    dir_.write("run.yaml", config_text(""));
  }
  std::string config_text(const std::string& extra_sink) const {
    return "source: {type: folder, path: images, labels_from_folders: true}\n"
           "model: {checkpoint: model}\n"
           "heads:\n  - {type: classification, top_k: 3}\n  - {type: embedding}\n"
           "sinks:\n"
           "  - {type: jsonl, path: predictions.jsonl}\n"
           "  - {type: csv, path: predictions.csv}\n"
           "  - {type: safetensors, path: features.safetensors}\n"
           "  - {type: safetensors, path: stacked.safetensors, stack: true}\n" +
           extra_sink + "batch_size: 32\nthreads: 1\n";
  }
  PipelineConfig config(const std::string& out) const {
    PipelineConfig c = load_config(dir_ / "run.yaml");
    c.output_dir = dir_ / out;
    return c;
  }
  void single(const std::string& out) const { Pipeline(config(out), register_pipeline_builtins).run(); }
  // A resumable run in chunks of 64 inputs (5 chunks of the 300), stopped after `stop_after` inputs when
  // given.
  ResumeReport resumable(const std::string& out,
                         std::optional<std::uint64_t> stop_after = std::nullopt) const {
    ResumeOptions o;
    o.chunk_inputs = 64;
    return run_resumable(config(out), register_pipeline_builtins, o, [&](const Progress& p) {
      if (stop_after && p.done >= *stop_after) throw std::runtime_error("stopped");
    });
  }
  void expect_same(const std::string& a, const std::string& b) const {
    for (const auto& f : testing::kMergedOutputs) {
      const std::string bytes = read_file(dir_ / a / f);
      ASSERT_FALSE(bytes.empty()) << f;
      EXPECT_TRUE(read_file(dir_ / b / f) == bytes) << f << " differs between " << a << " and " << b;
    }
  }
  TempDir dir_;
};

TEST_F(Journal, AChunkedRunWritesTheSingleRunsBytesAndRemovesItsJournal) {
  single("single");
  const ResumeReport r = resumable("chunked");
  EXPECT_EQ(r.chunks, 5);
  EXPECT_EQ(r.reused, 0);
  EXPECT_EQ(r.summary.items, 300u);
  expect_same("single", "chunked");
  EXPECT_TRUE(fs::exists(dir_ / "chunked" / "_SUCCESS"));
  EXPECT_FALSE(fs::exists(journal_dir(dir_ / "chunked")));
}

TEST_F(Journal, AStoppedRunGoesOnFromItsCommittedChunks) {
  single("single");
  // Stopped within the third chunk (inputs 128..191): chunks 0 and 1 are committed.
  EXPECT_THROW(resumable("out", 150), std::runtime_error);
  EXPECT_TRUE(fs::exists(journal_dir(dir_ / "out") / "_manifest.part-00001-of-00005.json"));
  EXPECT_FALSE(fs::exists(journal_dir(dir_ / "out") / "_manifest.part-00002-of-00005.json"));
  EXPECT_FALSE(fs::exists(dir_ / "out" / "predictions.jsonl"));
  EXPECT_FALSE(fs::exists(dir_ / "out" / "_SUCCESS"));
  const ResumeReport r = resumable("out");
  EXPECT_EQ(r.reused, 2);
  EXPECT_EQ(r.summary.items, 300u);
  EXPECT_EQ(r.summary.ok, 300u);
  expect_same("single", "out");
}

TEST_F(Journal, AChunkWhoseInputChangedRunsAgain) {
  EXPECT_THROW(resumable("out", 150), std::runtime_error);
  // An input of chunk 1 (sorted order: the 65th image) gets other pixels.
  std::vector<fs::path> images;
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "images"))
    if (e.is_regular_file()) images.push_back(e.path());
  std::sort(images.begin(), images.end());
  fs::copy_file(images[0], images[64], fs::copy_options::overwrite_existing);
  const ResumeReport r = resumable("out");
  EXPECT_EQ(r.reused, 1);
  single("single");  // over the changed inputs
  expect_same("single", "out");
}

TEST_F(Journal, AChangedModelDiscardsTheJournal) {
  EXPECT_THROW(resumable("out", 150), std::runtime_error);
  std::ofstream(dir_ / "model" / "config.json", std::ios::app) << "\n";  // the same model, other bytes
  EXPECT_EQ(resumable("out").reused, 0);
}

TEST_F(Journal, SinksThatAreNotWrittenInChunksAreAConfigErrorNamingThem) {
  dir_.write("run.yaml", config_text("  - {type: contact_sheet, path: sheet.png}\n"));
  std::string err = message_of([&] { resumable("out"); });
  EXPECT_NE(err.find("run.yaml:11:"), std::string::npos) << err;
  EXPECT_NE(err.find("sink 'contact_sheet'"), std::string::npos) << err;
  dir_.write("run.yaml", config_text("  - {type: jsonl, path: ../outside.jsonl}\n"));
  err = message_of([&] { resumable("out"); });
  EXPECT_NE(err.find("a path inside the output folder"), std::string::npos) << err;
  dir_.write("run.yaml", config_text("") + "summary: summary.json\n");
  err = message_of([&] { resumable("out"); });
  EXPECT_NE(err.find("summary: a resumable run"), std::string::npos) << err;
  PipelineConfig c = load_config(dir_ / "run.yaml");
  err = message_of([&] { run_resumable(c, register_pipeline_builtins, {}); });
  EXPECT_NE(err.find("--resume needs an output folder"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(Journal, TheCommandLineResumesAndTellsWhatItTookFromTheJournal) {
  EXPECT_THROW(resumable("out", 150), std::runtime_error);
  const std::string config = (dir_ / "run.yaml").string(), out = (dir_ / "out").string();
  auto r = testing::run_visbone({"run", config, "--output", out, "--chunk", "64", "--progress", "none"});
  EXPECT_EQ(r.status, 2) << r.all();
  EXPECT_NE(r.err.find("--chunk: only with --resume"), std::string::npos) << r.all();
  r = testing::run_visbone(
      {"run", config, "--output", out, "--resume", "--chunk", "64", "--progress", "none"});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_NE(r.out.find("chunks: 5 (2 taken from the journal)"), std::string::npos) << r.all();
  single("single");
  expect_same("single", "out");
}

}  // namespace
}  // namespace visbone::pipeline
