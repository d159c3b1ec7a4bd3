// Component isolation for sources and sinks (issue 16): whatever a plugin source or sink throws (a
// visbone::Error, a std::exception, an int) becomes an error naming the component (its type and plugin file)
// and the input; a sink that fails on one input misses that input while the other sinks and inputs go on;
// the run exits 1 and leaves no _SUCCESS marker (its outputs are incomplete).
#include <gtest/gtest.h>

#include "pipeline_test_support.h"

namespace visbone::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::kData;
using testing::TempDir;

const std::string kPlugin = THROWING_IO_PLUGIN;

std::string thrown_text(const std::string& how) {
  if (how == "int") return "an exception of type int that is not a std::exception";
  if (how == "io") return "disk on fire";
  return "std::runtime_error: thrown on purpose";
}

// Four digits in in/ (unless `source` replaces the folder), a jsonl sink and the given ones, into out/ (which
// holds a previous run's _SUCCESS marker).
fs::path config_with(TempDir& d, const std::string& sinks,
                     const std::string& source = "{type: folder, path: in}") {
  for (const char* name : {"digit_0000.png", "digit_0010.png", "digit_0011.png", "digit_0014.png"})
    d.write(std::string("in/") + name, testing::read_file(kData + "/digits/images/" + name));
  d.write("out/_SUCCESS", "");
  return d.write("c.yaml", "plugins: [" + kPlugin + "]\nsource: " + source +
                               "\nmodel: {checkpoint: " + kData +
                               "/models/bit-tiny-digits}\nheads: [{type: classification}]\n"
                               "sinks: [{type: jsonl, path: p.jsonl}" +
                               sinks + "]\noutput_dir: out\nbatch_size: 1\n");
}

TEST(ComponentIsolation, ASinkThatThrowsOnOneInputMissesOnlyThatInput) {
  for (const std::string how : {"runtime_error", "int", "io"}) {
    TempDir d;
    const fs::path cfg = config_with(d, ", {type: throwing, path: t.txt, fail_at: 1, how: " + how + "}");
    const auto r = testing::run_visbone({"run", cfg.string(), "--progress", "none", "--allow-errors"});
    EXPECT_EQ(r.status, 1) << how << ": a failed sink makes the status 1 whatever --allow-errors says\n"
                           << r.out << r.err;
    EXPECT_NE(r.err.find("error: sinks[1] throwing (plugin " + kPlugin + "): input digit_0010.png (" +
                         (d.path() / "in/digit_0010.png").string() + "): " + thrown_text(how)),
              std::string::npos)
        << how << "\n"
        << r.err;
    EXPECT_NE(r.err.find("outputs are incomplete"), std::string::npos) << r.err;
    EXPECT_EQ(testing::read_lines(d.path() / "out/p.jsonl").size(), 4u) << how << ": the other sink has all";
    EXPECT_EQ(testing::read_lines(d.path() / "out/t.txt").size(), 3u) << how << ": the failing one the rest";
    EXPECT_FALSE(fs::exists(d.path() / "out/_SUCCESS")) << how;
  }
}

TEST(ComponentIsolation, AResumableRunStopsAtTheChunkASinkFailedIn) {
  TempDir d;
  const fs::path cfg = config_with(d, ", {type: throwing, path: t.txt, fail_at: 1, how: int}");
  const auto r =
      testing::run_visbone({"run", cfg.string(), "--progress", "none", "--resume", "--chunk", "2"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("error: chunk 0 of 2 is incomplete; sinks[1] throwing (plugin " + kPlugin +
                       "): input digit_0010.png"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(d.path() / "out/p.jsonl"));
  EXPECT_FALSE(fs::exists(d.path() / "out/_SUCCESS"));
}

TEST(ComponentIsolation, ASinkThatThrowsWhenFinishing) {
  TempDir d;
  const fs::path cfg = config_with(d, ", {type: throwing, path: t.txt, how: int, in: finish}");
  const auto r = testing::run_visbone({"run", cfg.string(), "--progress", "none"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("error: sinks[1] throwing (plugin " + kPlugin + "): " + thrown_text("int")),
            std::string::npos)
      << r.err;
  EXPECT_EQ(testing::read_lines(d.path() / "out/p.jsonl").size(), 4u) << "the other sink finished";
  EXPECT_FALSE(fs::exists(d.path() / "out/_SUCCESS"));
}

TEST(ComponentIsolation, ASourceThatThrowsEndsTheRunWithARecord) {
  for (const std::string how : {"runtime_error", "int"}) {
    TempDir d;
    const fs::path cfg = config_with(d, "", "{type: throwing_frames, fail_at: 2, how: " + how + "}");
    const auto r = testing::run_visbone({"run", cfg.string(), "--progress", "none"});
    EXPECT_EQ(r.status, 1) << how << "\n" << r.out << r.err;
    const std::string want = "source throwing_frames (plugin " + kPlugin +
                             "), throwing_frames: " + thrown_text(how) + " (after input frame/1)";
    EXPECT_NE(r.err.find("error: " + want), std::string::npos) << how << "\n" << r.err;
    const auto lines = testing::read_lines(d.path() / "out/p.jsonl");
    ASSERT_EQ(lines.size(), 3u) << how << ": two frames and the source's error record";
    EXPECT_NE(lines[2].find("\"error\""), std::string::npos) << lines[2];
    EXPECT_NE(lines[2].find("(plugin " + kPlugin + ")"), std::string::npos) << lines[2];
    EXPECT_FALSE(fs::exists(d.path() / "out/_SUCCESS")) << how;
  }
}

// Thrown where no record can hold it (a plugin's factory, while the pipeline is built): an error naming the
// component, exit 1, instead of std::terminate.
TEST(ComponentIsolation, ANonStdExceptionOutsideTheGraphIsAnError) {
  TempDir d;
  const fs::path cfg = config_with(d, "", "{type: throwing_frames, fail_at: -1, how: int}");
  const auto r = testing::run_visbone({"run", cfg.string(), "--progress", "none"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("error: source throwing_frames (plugin " + kPlugin + "): " + thrown_text("int")),
            std::string::npos)
      << r.err;
}

// Whatever reaches `visbone` itself (an int from a plugin head's factory) is an error and exit 1, not
// std::terminate.
TEST(ComponentIsolation, ANonStdExceptionThatReachesTheProgramIsAnError) {
  TempDir d;
  const fs::path cfg =
      d.write("c.yaml", std::string("plugins: [") + MISBEHAVING_PLUGIN + "]\nsource: {type: files, paths: [" +
                            kData + "/digits/images/digit_0000.png]}\nmodel: {checkpoint: " + kData +
                            "/models/bit-tiny-digits}\nheads: [{type: misbehaving, how: int_when_built}]\n");
  const auto r = testing::run_visbone({"run", cfg.string(), "--progress", "none"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("error: " + thrown_text("int")), std::string::npos) << r.err;
}

}  // namespace
}  // namespace visbone::pipeline
