// Component isolation (issue 16): whatever a component throws becomes an error record naming the component
// (its type and plugin file) and the input, and the run goes on; a crash in plugin code is reported with the
// plugin's file, and the output folder then has no _SUCCESS marker. A folder with _SUCCESS holds exactly
// one complete run's outputs.
#include <gtest/gtest.h>

#include "pipeline_test_support.h"

namespace visbone::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::kData;
using testing::run_visbone;
using testing::TempDir;

// Four digits, one per batch, into `out/`; the plugin head misbehaves on every second batch.
fs::path config_with(TempDir& d, const std::string& how) {
  for (const char* name : {"digit_0000.png", "digit_0010.png", "digit_0011.png", "digit_0014.png"})
    d.write(std::string("in/") + name, testing::read_file(kData + "/digits/images/" + name));
  return d.write("c.yaml", std::string("plugins: [") + MISBEHAVING_PLUGIN + "]\n" +
                               "source: {type: folder, path: in}\nmodel: {checkpoint: " + kData +
                               "/models/bit-tiny-digits}\n"
                               "heads: [{type: classification}, {type: misbehaving, how: " + how +
                               ", every: 2}]\n"
                               "sinks: [{type: jsonl, path: out.jsonl}]\noutput_dir: out\nbatch_size: 1\n");
}

TEST(Isolation, AForeignExceptionIsARecordNamingThePluginAndTheInput) {
  for (const std::string how : {"runtime_error", "int"}) {
    TempDir d;
    const fs::path cfg = config_with(d, how);
    const auto r = run_visbone({"run", cfg.string(), "--progress", "none"});
    EXPECT_EQ(r.status, 1) << how << ": failed items make the status 1\n" << r.out << r.err;
    EXPECT_NE(r.out.find("items: 4 (2 ok, 2 failed)"), std::string::npos) << how << "\n" << r.out;
    const auto lines = testing::read_lines(d.path() / "out/out.jsonl");
    ASSERT_EQ(lines.size(), 4u) << how;
    const std::string want = how == "int" ? "an exception of type int that is not a std::exception"
                                          : "std::runtime_error: misbehaving on purpose";
    int errors = 0;
    for (const auto& line : lines) {
      if (line.find("\"error\"") == std::string::npos) continue;
      ++errors;
      EXPECT_NE(line.find("misbehaving (plugin "), std::string::npos) << line;
      EXPECT_NE(line.find(fs::path(MISBEHAVING_PLUGIN).filename().string()), std::string::npos) << line;
      EXPECT_NE(line.find(want), std::string::npos) << line;
      EXPECT_NE(line.find((d.path() / "in").string()), std::string::npos) << "names the input: " << line;
    }
    EXPECT_EQ(errors, 2) << how;
    EXPECT_TRUE(fs::exists(d.path() / "out/_SUCCESS")) << "the run completed, failed items recorded";
  }
}

TEST(Isolation, ACrashInPluginCodeNamesThePluginAndLeavesNoSuccessMarker) {
  TempDir d;
  const fs::path cfg = config_with(d, "segfault");
  d.write("out/_SUCCESS", "");  // a previous complete run's marker
  const auto r = run_visbone({"run", cfg.string(), "--progress", "none"});
  EXPECT_NE(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("visbone: fatal signal SIGSEGV in " + std::string(MISBEHAVING_PLUGIN)), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("outputs are incomplete"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(d.path() / "out/_SUCCESS")) << "removed before the run changed anything";
}

TEST(SuccessMarker, MarksACompleteRunAndIsGoneWhileOneIsIncomplete) {
  TempDir d;
  const fs::path cfg = config_with(d, "runtime_error");
  // A run that stops at a sink: out.jsonl is a folder, so the sink cannot put its file there.
  d.write("out/_SUCCESS", "");
  fs::create_directories(d.path() / "out/out.jsonl");
  auto r = run_visbone({"run", cfg.string(), "--progress", "none"});
  EXPECT_NE(r.status, 0) << r.out << r.err;
  EXPECT_FALSE(fs::exists(d.path() / "out/_SUCCESS")) << r.err;
  fs::remove(d.path() / "out/out.jsonl");
  r = run_visbone({"run", cfg.string(), "--progress", "none", "--allow-errors"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(fs::exists(d.path() / "out/_SUCCESS"));
  EXPECT_EQ(fs::file_size(d.path() / "out/_SUCCESS"), 0u);
}

}  // namespace
}  // namespace visbone::pipeline
