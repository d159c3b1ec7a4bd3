// Resumable runs (journal.h): a run in chunks gives the single run's bytes; a run stopped part way (here by
// an exception from the progress callback, after some chunks were committed) goes on from its committed
// chunks; records carry content keys (content_key.h), so a chunk whose input changed runs again and a
// changed model discards the journal; any sink whose outputs merge (embedding_index too) resumes, sinks
// whose outputs do not are a config error naming them; the model loads once and each input is read once.
// Killing the process at random moments is tests/pipeline/resume_kill_test.sh's part.
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <set>

#include "visbone/core/safetensors.h"

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
  // given; `loads` counts the model loads.
  ResumeReport resumable(const std::string& out, std::optional<std::uint64_t> stop_after = std::nullopt,
                         int* loads = nullptr) const {
    ResumeOptions o;
    o.chunk_inputs = 64;
    return run_resumable(
        config(out), register_pipeline_builtins, o,
        [&](const Progress& p) {
          if (stop_after && p.done >= *stop_after) throw std::runtime_error("stopped");
        },
        [&] {
          if (loads) ++*loads;
        });
  }
  // The images in input order (sorted).
  std::vector<fs::path> images() const {
    std::vector<fs::path> all;
    for (const auto& e : fs::recursive_directory_iterator(dir_ / "images"))
      if (e.is_regular_file()) all.push_back(e.path());
    std::sort(all.begin(), all.end());
    return all;
  }
  // Each record's content key, from predictions.jsonl.
  std::vector<std::string> keys(const std::string& out) const {
    std::vector<std::string> all;
    for (const auto& line : testing::read_lines(dir_ / out / "predictions.jsonl"))
      all.emplace_back(boost::json::parse(line).at("content_key").as_string());
    return all;
  }
  void expect_same(const std::string& a, const std::string& b,
                   const std::vector<std::string>& files = testing::kMergedOutputs) const {
    for (const auto& f : files) {
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

// The labelled digits (data/digits: one folder per true label), the 0s in a folder named "00", a label the
// model has no class of that sorts first: the chunks a resumed run takes from the journal hold labelled
// inputs, hits, misses and the unknown label, and the resumed run counts them as the uninterrupted run does.
TEST_F(Journal, AResumedRunReportsTheUninterruptedRunsAccuracy) {
  fs::copy(testing::project_dir() / "data/digits", dir_ / "labelled", fs::copy_options::recursive);
  fs::rename(dir_ / "labelled/0", dir_ / "labelled/00");
  std::string text = config_text("");
  text.replace(text.find("path: images"), 12, "path: labelled");
  dir_.write("run.yaml", text);
  const Summary whole = Pipeline(config("single"), register_pipeline_builtins).run();
  ASSERT_EQ(whole.items, 300u);
  ASSERT_EQ(whole.labeled, 300u);
  ASSERT_GT(whole.correct, 200u);
  ASSERT_LT(whole.correct, 270u) << "the 30 inputs labelled 00 are misses";
  ASSERT_EQ(whole.unknown_labels, std::vector<std::string>{"00"});
  EXPECT_THROW(resumable("out", 150), std::runtime_error);  // chunks 0 and 1 (inputs 0..127) committed
  const ResumeReport r = resumable("out");
  EXPECT_EQ(r.reused, 2);
  EXPECT_EQ(r.summary.items, whole.items);
  EXPECT_EQ(r.summary.labeled, whole.labeled);
  EXPECT_EQ(r.summary.correct, whole.correct);
  EXPECT_EQ(r.summary.accuracy(), whole.accuracy());
  EXPECT_EQ(r.summary.unknown_labels, whole.unknown_labels);
}

TEST_F(Journal, RecordsCarryTheContentKeyOfTheirBytesAndModelInEverySink) {
  single("out");
  const std::vector<std::string> k = keys("out");
  ASSERT_EQ(k.size(), 300u);
  for (const auto& key : k) EXPECT_EQ(key.size(), 64u) << key;
  // CSV: the last column, the same key.
  const auto rows = testing::read_lines(dir_ / "out" / "predictions.csv");
  ASSERT_EQ(rows.size(), 301u);
  EXPECT_EQ(rows[0].substr(rows[0].rfind(',')), ",content_key");
  for (std::size_t i = 0; i < 300; ++i) EXPECT_EQ(rows[i + 1].substr(rows[i + 1].rfind(',') + 1), k[i]) << i;
  // safetensors: beside the stacked ids, and per input by the tensors' prefix (the id).
  const auto stacked = SafetensorsFile::open(dir_ / "out" / "stacked.safetensors");
  const auto listed = boost::json::parse(stacked.metadata().at("content_keys")).as_array();
  ASSERT_EQ(listed.size(), 300u);
  for (std::size_t i = 0; i < 300; ++i) EXPECT_EQ(listed[i].as_string(), k[i]) << i;
  const auto per_input = SafetensorsFile::open(dir_ / "out" / "features.safetensors");
  const auto by_id = boost::json::parse(per_input.metadata().at("content_keys")).as_object();
  ASSERT_EQ(by_id.size(), 300u);
  const auto records = testing::read_lines(dir_ / "out" / "predictions.jsonl");
  for (std::size_t i = 0; i < 300; ++i) {
    const auto id = boost::json::parse(records[i]).at("id").as_string();
    EXPECT_EQ(by_id.at(id).as_string(), k[i]) << id;
  }
  // The bytes and the model decide it, not where the input lies: the same digits in another folder get
  // the same keys; equal bytes, equal keys.
  fs::rename(dir_ / "images", dir_ / "moved");
  std::string text = config_text("");
  text.replace(text.find("path: images"), 12, "path: moved");
  dir_.write("run.yaml", text);
  single("moved_out");
  EXPECT_EQ(keys("moved_out"), k);
  EXPECT_EQ(std::set<std::string>(k.begin(), k.end()).size(), 300u) << "300 distinct images, 300 keys";
}

TEST_F(Journal, OnlyTheChunkOfAnInputWhoseBytesChangedRunsAgain) {
  single("before");
  const std::vector<std::string> old_keys = keys("before");
  EXPECT_THROW(resumable("out", 150), std::runtime_error);
  // An input of chunk 1 (sorted order: the 65th image) gets other bytes.
  const std::vector<fs::path> all = images();
  fs::copy_file(all[0], all[64], fs::copy_options::overwrite_existing);
  const ResumeReport r = resumable("out");
  EXPECT_EQ(r.chunks, 5);
  EXPECT_EQ(r.reused, 1);  // chunk 0; chunk 1 holds the changed input, 2..4 had not run
  single("single");        // over the changed inputs
  expect_same("single", "out");
  // Exactly that record's key changed (to that of the bytes it now has: image 0's).
  const std::vector<std::string> now = keys("out");
  for (std::size_t i = 0; i < now.size(); ++i)
    if (i == 64)
      EXPECT_EQ(now[i], old_keys[0]);
    else
      EXPECT_EQ(now[i], old_keys[i]) << i;
}

TEST_F(Journal, AnInputChangedAfterItsChunkWasCommittedIsRunAgain) {
  EXPECT_THROW(resumable("out", 150), std::runtime_error);        // chunks 0 and 1 committed
  std::ofstream(images()[3], std::ios::app) << "trailing bytes";  // chunk 0: other bytes, same pixels
  const ResumeReport r = resumable("out");
  EXPECT_EQ(r.reused, 1);  // chunk 1 only
  single("single");
  expect_same("single", "out");
}

TEST_F(Journal, AChangedModelDiscardsTheJournalAndEveryRecordsKey) {
  single("before");
  EXPECT_THROW(resumable("out", 150), std::runtime_error);
  std::ofstream(dir_ / "model" / "config.json", std::ios::app) << "\n";  // the same model, other bytes
  int loads = 0;
  const ResumeReport r = resumable("out", std::nullopt, &loads);
  EXPECT_EQ(r.reused, 0);
  EXPECT_EQ(loads, 1);  // once for the 5 chunks that ran
  single("single");
  expect_same("single", "out");
  const std::vector<std::string> before = keys("before"), now = keys("out");
  ASSERT_EQ(now.size(), before.size());
  for (std::size_t i = 0; i < now.size(); ++i) EXPECT_NE(now[i], before[i]) << i;
}

// The files under a folder that were opened, with how often (inotify IN_OPEN).
class OpenCount {
 public:
  explicit OpenCount(const fs::path& root) : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    watch(root);
    for (const auto& e : fs::recursive_directory_iterator(root))
      if (e.is_directory()) watch(e.path());
  }
  ~OpenCount() { ::close(fd_); }
  std::map<fs::path, int> take() {
    std::map<fs::path, int> opened;
    alignas(inotify_event) char buffer[16384];
    for (ssize_t n; (n = ::read(fd_, buffer, sizeof buffer)) > 0;)
      for (char* p = buffer; p < buffer + n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(p);
        if (e->len > 0 && !(e->mask & IN_ISDIR)) ++opened[folders_[e->wd] / e->name];
        p += sizeof(inotify_event) + e->len;
      }
    return opened;
  }

 private:
  void watch(const fs::path& folder) {
    const int wd = ::inotify_add_watch(fd_, folder.c_str(), IN_OPEN);
    if (wd < 0) throw std::runtime_error("cannot watch " + folder.string());
    folders_[wd] = folder;
  }
  int fd_;
  std::map<int, fs::path> folders_;
};

TEST_F(Journal, AResumedRunLoadsTheModelOnceAndReadsEachInputOnce) {
  EXPECT_THROW(resumable("out", 150), std::runtime_error);  // chunks 0 and 1 committed, 2..4 to run
  OpenCount opens(dir_ / "images");
  int loads = 0;
  const ResumeReport r = resumable("out", std::nullopt, &loads);
  EXPECT_EQ(r.reused, 2);
  EXPECT_EQ(loads, 1);
  const auto opened = opens.take();
  EXPECT_EQ(opened.size(), 300u);  // the taken chunks' inputs for their keys, the others by the pipeline
  for (const auto& [file, n] : opened) EXPECT_EQ(n, 1) << file;
}

TEST_F(Journal, AnEmbeddingIndexResumesToTheSingleRunsBytes) {
  // No list of sink types: embedding_index says its output merges (stacked safetensors), so it resumes.
  dir_.write("run.yaml", config_text("  - {type: embedding_index, path: gallery.safetensors}\n"));
  single("single");
  EXPECT_THROW(resumable("out", 150), std::runtime_error);
  EXPECT_EQ(resumable("out").reused, 2);
  expect_same("single", "out", {"gallery.safetensors", "predictions.jsonl"});
  const auto gallery = SafetensorsFile::open(dir_ / "out" / "gallery.safetensors");
  EXPECT_EQ(boost::json::parse(gallery.metadata().at("content_keys")).as_array().size(), 300u);
}

TEST_F(Journal, SinksThatAreNotWrittenInChunksAreAConfigErrorNamingThem) {
  dir_.write("run.yaml", config_text("  - {type: contact_sheet, path: sheet.png}\n"));
  std::string err = message_of([&] { resumable("out"); });
  EXPECT_NE(err.find("run.yaml:11:"), std::string::npos) << err;
  EXPECT_NE(err.find("sink 'contact_sheet'"), std::string::npos) << err;
  EXPECT_NE(err.find("outputs merge into one file"), std::string::npos) << err;
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

// The same config under another algorithm from the environment computes other bits: its chunks are not taken
// from a journal written under the default, and its records carry other keys (Backbone::numerics()).
TEST_F(Journal, AnAlgorithmFromTheEnvironmentIsPartOfTheKeys) {
  EXPECT_THROW(resumable("out", 150), std::runtime_error);  // chunks 0 and 1 committed under the default
  const std::string config = (dir_ / "run.yaml").string(), out = (dir_ / "out").string();
  auto r = testing::run_visbone({"run", config, "--output", out, "--resume", "--chunk", "64", "--progress", "none"},
                                {{"VISBONE_CONV_ALGORITHM", "direct"}, {"VISBONE_WINOGRAD", std::nullopt}});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_NE(r.out.find("chunks: 5 (0 taken from the journal)"), std::string::npos) << r.all();
  single("single");
  const std::vector<std::string> direct = keys("out"), by_default = keys("single");
  ASSERT_EQ(direct.size(), by_default.size());
  for (std::size_t i = 0; i < direct.size(); ++i) EXPECT_NE(direct[i], by_default[i]) << i;
}

}  // namespace
}  // namespace visbone::pipeline
