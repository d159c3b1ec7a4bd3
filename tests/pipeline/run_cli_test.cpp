// `visbone run` as a user runs it: the default demo, exit statuses for failed inputs and config errors,
// progress lines when stderr is not a terminal, and flat peak memory over many inputs.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "pipeline_test_support.h"
#include "visbone/core/asan.h"
#include "visbone/core/process_memory.h"

namespace visbone::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::kData;
using testing::run_visbone;
using testing::TempDir;

const std::string kDigitsModel = kData + "/models/bit-tiny-digits";

TEST(RunCli, DefaultDemoPrintsSummaryWithAccuracy) {
  TempDir out;
  const auto r = run_visbone(
      {"run", (testing::project_dir() / "configs/default.yaml").string(), "--output", out.path().string()});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("items: 300 (300 ok, 0 failed)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("images/s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("backbone"), std::string::npos) << "per-stage times: " << r.out;
  EXPECT_NE(r.out.find("accuracy: 0.98"), std::string::npos) << r.out;
  // stderr is a file here, so progress comes as plain lines, the last one complete.
  EXPECT_NE(r.err.find("progress: 300/300 (100.0%) items, 0 failed"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << "no bar redraws outside a terminal";
  EXPECT_TRUE(fs::exists(out.path() / "contact_sheet.png"));
  EXPECT_TRUE(fs::exists(out.path() / "predictions.jsonl"));
}

// A plugin source and sink (tests/pipeline/io_plugin.cpp) have every capability of the built-in ones: the
// source's count makes the progress total, its decoded frames reach the backbone and the drawing sink, its
// describe() and the sink's path reach the summary, and the sink finds its head by describe().
TEST(RunCli, PluginSourceAndSinkHaveTheBuiltInsCapabilities) {
  TempDir d;
  const fs::path cfg = d.write(
      "c.yaml", std::string("plugins: [") + IO_PLUGIN + "]\n" +
                    "source: {type: gradient_frames, count: 7, size: 16}\nmodel: {checkpoint: " + kDigitsModel +
                    "}\nheads: [{type: classification, name: digits}]\n"
                    "sinks: [{type: tally, path: tally.txt}, {type: jsonl, path: out.jsonl}]\n"
                    "summary: summary.json\nbatch_size: 3\n");
  const auto r = run_visbone({"run", cfg.string()});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("progress: 7/7 (100.0%) items, 0 failed"), std::string::npos) << "count(): " << r.err;
  EXPECT_NE(r.out.find("items: 7 (7 ok, 0 failed)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wrote tally -> " + (d.path() / "tally.txt").string()), std::string::npos) << r.out;
  const auto lines = testing::read_lines(d.path() / "tally.txt");
  ASSERT_EQ(lines.size(), 7u);
  for (std::size_t i = 0; i < lines.size(); ++i)
    EXPECT_EQ(lines[i].rfind("gradient/" + std::to_string(i) + " 16x16 digits=", 0), 0u)
        << "decoded frames reach the sink, with the top label of the head found by describe(): " << lines[i];
  for (const auto& line : testing::read_lines(d.path() / "out.jsonl"))
    EXPECT_NE(line.find("\"width\":16,\"height\":16"), std::string::npos) << line;
  const auto summary = boost::json::parse(testing::read_file((d.path() / "summary.json").string())).as_object();
  EXPECT_EQ(summary.at("sources").as_array().at(0).as_string(), "gradient_frames (7 frames of 16x16)");
  const auto& outputs = summary.at("outputs").as_array();
  ASSERT_EQ(outputs.size(), 3u);
  EXPECT_EQ(outputs[0].as_object().at("sink").as_string(), "tally");
  EXPECT_EQ(outputs[0].as_object().at("path").as_string(), (d.path() / "tally.txt").string());
}

// The plugin sink says how its file merges (Sink::outputs()), so a sharded run's parts of it merge to the
// single run's bytes like a built-in sink's, and the manifest names it.
TEST(RunCli, PluginSinkTakesPartInShardingAndMerge) {
  TempDir d;
  const fs::path cfg =
      d.write("c.yaml",
              std::string("plugins: [") + IO_PLUGIN + "]\n" +
                  "source: {type: gradient_frames, count: 7, size: 16}\nmodel: {checkpoint: " + kDigitsModel +
                  "}\nheads: [{type: classification, name: digits}]\n"
                  "sinks: [{type: tally, path: tally.txt}]\nbatch_size: 3\n");
  const fs::path out = d.path() / "sharded";
  fs::create_directories(d.path() / "single");  // the plugin sink writes its file, not the folder
  fs::create_directories(out);
  auto r = run_visbone({"run", cfg.string(), "--output", (d.path() / "single").string()});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  for (const std::string shard : {"0/2", "1/2"}) {
    r = run_visbone({"run", cfg.string(), "--output", out.string(), "--shard", shard});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
  }
  EXPECT_TRUE(fs::exists(out / "tally.part-00001-of-00002.txt"));
  const auto manifest =
      boost::json::parse(testing::read_file((out / "_manifest.part-00001-of-00002.json").string()))
          .as_object();
  const auto& listed = manifest.at("outputs").as_array().at(0).as_object();
  EXPECT_EQ(listed.at("kind").as_string(), "tally");
  EXPECT_EQ(listed.at("merge").as_string(), "concatenate");
  EXPECT_EQ(listed.at("merged").as_string(), "tally.txt");
  r = run_visbone({"merge", out.string()});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const std::string single = testing::read_file((d.path() / "single" / "tally.txt").string());
  EXPECT_EQ(testing::read_lines(d.path() / "single" / "tally.txt").size(), 7u);
  EXPECT_TRUE(testing::read_file((out / "tally.txt").string()) == single) << "merged tally differs";
}

TEST(RunCli, FailedInputsMakeTheStatusNonZeroUnlessAllowed) {
  TempDir d;
  d.write("in/a.png", testing::read_file(kData + "/digits/images/digit_0000.png"));
  d.write("in/b.png", "broken");
  const fs::path cfg =
      d.write("c.yaml", "source: {type: folder, path: nowhere}\nmodel: {checkpoint: " + kDigitsModel +
                            "}\nheads: [{type: classification}]\n"
                            "sinks: [{type: jsonl, path: out.jsonl}]\n");
  // --input replaces the config's source (whose folder does not even exist).
  auto r = run_visbone({"run", cfg.string(), "--input", (d.path() / "in").string(), "--progress", "none"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("items: 2 (1 ok, 1 failed)"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("failed: " + (d.path() / "in/b.png").string()), std::string::npos) << r.err;
  EXPECT_EQ(testing::read_lines(d.path() / "out.jsonl").size(), 2u);

  r = run_visbone({"run", cfg.string(), "--input", (d.path() / "in").string(), "--allow-errors"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
}

TEST(RunCli, ConfigErrorsExitWithTwoAndPointAtTheLine) {
  TempDir d;
  const fs::path cfg =
      d.write("c.yaml", "source: {type: folder, path: x}\nmodel: {checkpoint: x}\nheads: []\nbatch: 4\n");
  const auto r = run_visbone({"run", cfg.string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(
      r.err.find(cfg.string() + ":4:1: unknown key 'batch' at the top level; did you mean 'batch_size'?"),
      std::string::npos)
      << r.err;
  EXPECT_EQ(run_visbone({"run", cfg.string(), "--batch-size", "0"}).status, 2);
  EXPECT_EQ(run_visbone({"run"}).status, 2);
}

TEST(RunCli, ProgressLinesArePeriodic) {
  TempDir d;
  const fs::path cfg = d.write("c.yaml", "source: {type: folder, path: " + kData +
                                             "/digits/images}\nmodel: {checkpoint: " + kDigitsModel +
                                             "}\nheads: [{type: classification}]\nbatch_size: 50\n");
  const auto r = run_visbone({"run", cfg.string(), "--progress", "lines", "--progress-interval", "0"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::size_t lines = 0;
  for (std::size_t at = 0; (at = r.err.find("progress: ", at)) != std::string::npos; ++at) ++lines;
  // Interval 0: a line per finished input.
  EXPECT_GE(lines, 300u) << r.err;
  EXPECT_NE(r.err.find("ETA"), std::string::npos);

  // The terminal form redraws one line in place: items, rate and ETA, ending complete.
  const auto bar = run_visbone({"run", cfg.string(), "--progress", "bar"});
  ASSERT_EQ(bar.status, 0) << bar.err;
  EXPECT_NE(bar.err.find("\r[##############################] 300/300 ETA 0:00"), std::string::npos) << bar.err;
  EXPECT_NE(bar.err.find(" img/s"), std::string::npos) << bar.err;
  EXPECT_EQ(bar.err.find("progress: "), std::string::npos) << "no plain lines in bar mode";
}

// Peak memory of a run must not grow with the number of inputs: the limiter bounds what is in flight, sources
// stream, and sinks go straight to their (temporary) files. The peak RSS (KiB) of `visbone run` over `small`
// and over `large` generated 12x12 PNGs with `heads_and_sinks` and `threads`.
std::pair<long, long> peak_rss_at(int small, int large, const std::string& heads_and_sinks, int threads) {
  TempDir d;
  for (int i = 0; i < large; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%s/%05d.png", i < small ? "small" : "rest", i);
    d.write(name, testing::png_bytes(12, 12, i));
  }
  // The larger run reads both folders (a list file names them all).
  {
    std::ofstream list(d.path() / "all.txt");
    for (const auto& dir : {"small", "rest"})
      for (const auto& e : fs::directory_iterator(d.path() / dir)) list << e.path().string() << "\n";
  }
  const fs::path cfg =
      d.write("c.yaml", "source: {type: folder, path: small}\nmodel: {checkpoint: " + kDigitsModel + "}\n" +
                            heads_and_sinks + "batch_size: 8\n");
  const std::string t = std::to_string(threads);
  const auto a = run_visbone({"run", cfg.string(), "--progress", "none", "--threads", t});
  const auto b = run_visbone({"run", cfg.string(), "--input", (d.path() / "all.txt").string(), "--progress",
                              "none", "--threads", t, "--output", (d.path() / "out-large").string()});
  EXPECT_EQ(a.status, 0) << a.err;
  EXPECT_EQ(b.status, 0) << b.err;
  EXPECT_NE(a.out.find("items: " + std::to_string(small) + " (" + std::to_string(small) + " ok"), std::string::npos)
      << a.out;
  EXPECT_NE(b.out.find("items: " + std::to_string(large) + " (" + std::to_string(large) + " ok"), std::string::npos)
      << b.out;
  std::cout << "[ memory ] peak RSS: " << a.peak_rss_kib / 1024.0 << " MiB at " << small << " images, "
            << b.peak_rss_kib / 1024.0 << " MiB at " << large << " images\n";
  // A child's ru_maxrss starts from its parent's peak (it survives posix_spawn's exec): the figures are the
  // child's own only while this test process peaked lower.
  EXPECT_LT(peak_rss_mib() * 1024, static_cast<double>(a.peak_rss_kib)) << "this process's peak hides the child's";
  return {a.peak_rss_kib, b.peak_rss_kib};
}

TEST(RunCli, PeakMemoryStaysFlatFrom500To2000Images) {
#if defined(VISBONE_ASAN)
  // ASan keeps freed memory in quarantine (up to 256 MiB), so RSS grows with the work done, not with what
  // is live; the bound is a property of the Release build, where this test runs.
  GTEST_SKIP() << "peak RSS is not meaningful under AddressSanitizer";
#endif
  // 16x16 model inputs keep the 2,500 forward passes quick; memory is what is measured. One thread: the tiny
  // model runs fastest that way, and the two runs are alike in everything but their input.
  const auto [small, large] = peak_rss_at(500, 2000,
                                          "preprocess: {size: {shortest_edge: 16}, crop_size: 16}\n"
                                          "heads: [{type: classification}]\n"
                                          "sinks: [{type: jsonl, path: out.jsonl}]\n",
                                          1);
  // Four times the inputs: at most a few MiB more (allocator and thread-stack noise), not 4x the per-item
  // cost.
  EXPECT_LE(large, small + 6 * 1024);
}

// The digits pipeline as the scale figures run it (32x32 inputs: 12 KiB of pixels each, an embedding to stacked
// safetensors beside the records) on two threads, where inputs are made on one thread and freed on another.
// Tensors from aligned_alloc made glibc's heap grow by about a tensor per input (96 -> 127-189 MiB from 1,000
// to 10,000 inputs); from malloc, a freed tensor's space serves the next.
TEST(RunCli, PeakMemoryStaysFlatWithStackedTensorsOnTwoThreads) {
#if defined(VISBONE_ASAN)
  GTEST_SKIP() << "peak RSS is not meaningful under AddressSanitizer";
#endif
  const auto [small, large] = peak_rss_at(1000, 5000,
                                          "heads: [{type: classification, top_k: 3}, {type: embedding}]\n"
                                          "sinks:\n  - {type: jsonl, path: predictions.jsonl}\n"
                                          "  - {type: safetensors, path: e.safetensors, heads: [embedding], "
                                          "stack: true}\n",
                                          2);
  EXPECT_LE(large, small + 8 * 1024);
}

// A timm checkpoint (config.json with a pretrained_cfg, no preprocessor_config.json) preprocesses with timm's
// eval transform both by default (with a one-line notice) and as `preprocess: checkpoint` (which without it was
// an error); the numbers differ from BiT's defaults.
TEST(RunCli, TimmCheckpointsPreprocessWithTheirPretrainedCfg) {
  TempDir d;
  d.write("a.png", testing::read_file(kData + "/preprocess/images/chelsea.png"));
  const std::string model = kData + "/models/timm-tiny-os16/timm";
  const auto run_with = [&](const std::string& name, const std::string& preprocess) {
    const fs::path cfg = d.write(name + ".yaml", "source: {type: files, paths: [a.png]}\nmodel: {checkpoint: " +
                                                     model + "}\n" + preprocess +
                                                     "heads: [{type: classification}]\nsinks: [{type: jsonl, "
                                                     "path: " + name + ".jsonl}]\n");
    auto r = run_visbone({"run", cfg.string(), "--progress", "none"});
    EXPECT_EQ(r.status, 0) << r.err;
    return std::pair{r.err, testing::read_file(d / (name + ".jsonl"))};
  };
  const auto [implicit_err, implicit] = run_with("implicit", "");
  EXPECT_EQ(implicit_err, "note: " + model +
                              " has no preprocessor_config.json; preprocessing with timm's eval transform of its "
                              "pretrained_cfg\n");
  const auto [explicit_err, explicit_out] = run_with("explicit", "preprocess: checkpoint\n");
  EXPECT_EQ(explicit_err, "");
  EXPECT_EQ(explicit_out, implicit);
  EXPECT_NE(implicit.find("\"ok\":true"), std::string::npos) << implicit;
  const auto [defaults_err, defaults] = run_with("defaults", "preprocess: {from: defaults}\n");
  EXPECT_NE(defaults, implicit) << "BiT's defaults (CLIP mean/std, bicubic) give other numbers than timm's cfg";
}

}  // namespace
}  // namespace visbone::pipeline
