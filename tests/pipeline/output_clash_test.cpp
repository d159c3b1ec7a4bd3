// Outputs never clobber inputs or each other (issue 16): a sink's path or the summary that is another output,
// an input (a listed file, anything in a source folder), the config or the model is a config error (exit 2)
// at the key's line:column naming both paths, and nothing is written; output_dir is left out of folder
// sources; writing outside output_dir is allowed and printed.
#include <gtest/gtest.h>

#include "pipeline_test_support.h"

namespace visbone::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::kData;
using testing::TempDir;

const char* const kDigits[] = {"digit_0000.png", "digit_0010.png", "digit_0011.png", "digit_0014.png"};

// Four digits in in/, and a config whose source (line 1) and sinks (line 4 on) are given; the model is the
// repository's tiny one unless `model` says otherwise.
fs::path config_with(TempDir& d, const std::string& source, const std::string& rest,
                     const std::string& model = kData + "/models/bit-tiny-digits") {
  for (const char* name : kDigits)
    d.write(std::string("in/") + name, testing::read_file(kData + "/digits/images/" + name));
  return d.write("c.yaml", "source: " + source + "\nmodel: {checkpoint: " + model +
                               "}\nheads: [{type: classification}]\n" + rest);
}

// The run is a config error at `place` (c.yaml:LINE:COL) whose message has every one of `parts`.
void expect_clash(const testing::RunResult& r, const std::string& place,
                  const std::vector<std::string>& parts) {
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("c.yaml:" + place + ": "), std::string::npos) << r.err;
  for (const auto& p : parts) EXPECT_NE(r.err.find(p), std::string::npos) << p << "\n" << r.err;
}

testing::RunResult run(const fs::path& cfg, std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"run", cfg.string(), "--progress", "none"};
  args.insert(args.end(), more.begin(), more.end());
  return testing::run_visbone(args);
}

TEST(OutputClash, TheSummaryOnASinksFile) {
  TempDir d;
  const fs::path cfg = config_with(d, "{type: folder, path: in}",
                                   "sinks: [{type: jsonl, path: predictions.jsonl}]\noutput_dir: out\n"
                                   "summary: predictions.jsonl\n");
  const std::string p = (d.path() / "out/predictions.jsonl").string();
  expect_clash(run(cfg), "6:10", {"summary: " + p + " is written by sinks[0].path too"});
  EXPECT_FALSE(fs::exists(d.path() / "out/predictions.jsonl"));
}

TEST(OutputClash, TwoSinksOnOneFile) {
  TempDir d;
  const fs::path cfg = config_with(d, "{type: folder, path: in}",
                                   "sinks:\n  - {type: jsonl, path: p.txt}\n  - {type: csv, path: ./p.txt}\n"
                                   "output_dir: out\n");
  expect_clash(run(cfg), "6:23", {"sinks[1].path: " + (d.path() / "out/p.txt").string(), "sinks[0].path"});
}

TEST(OutputClash, ASinkOnTheConfig) {
  TempDir d;
  const fs::path cfg = config_with(d, "{type: folder, path: in}",
                                   "sinks: [{type: jsonl, path: ../c.yaml}]\noutput_dir: out\n");
  const std::string before = testing::read_file(cfg);
  expect_clash(run(cfg), "4:29", {"sinks[0].path: " + cfg.string() + " is the config file " + cfg.string()});
  EXPECT_EQ(testing::read_file(cfg), before);
}

TEST(OutputClash, AnAnnotatedImagesSinkOnTheInputFolder) {
  TempDir d;
  const fs::path cfg = config_with(d, "{type: folder, path: in}",
                                   "sinks: [{type: annotated_images, path: ../in}]\noutput_dir: out\n");
  const std::string in = (d.path() / "in").string();
  expect_clash(run(cfg), "4:40", {"sinks[0].path: " + in + " is an input (" + in + ")"});
  EXPECT_EQ(std::distance(fs::directory_iterator(d.path() / "in"), fs::directory_iterator()), 4);
  // A file sink inside a source folder (and outside output_dir) is refused as well.
  const fs::path cfg2 =
      config_with(d, "{type: folder, path: in}", "sinks: [{type: jsonl, path: in/p.jsonl}]\n");
  expect_clash(run(cfg2), "4:29", {(d.path() / "in/p.jsonl").string() + " is inside the input folder " + in});
}

TEST(OutputClash, ASinkOnAListedFileOrTheList) {
  TempDir d;
  d.write("list.txt", "in/digit_0000.png\nin/digit_0010.png\n");
  const fs::path cfg =
      config_with(d, "{type: list, path: list.txt}", "sinks: [{type: jsonl, path: in/digit_0010.png}]\n");
  const std::string listed = (d.path() / "in/digit_0010.png").string();
  const std::string before = testing::read_file(listed);
  expect_clash(run(cfg), "4:29", {listed + " is an input (" + listed + ")"});
  EXPECT_EQ(testing::read_file(listed), before);
  const fs::path cfg2 =
      config_with(d, "{type: list, path: list.txt}", "sinks: [{type: csv, path: list.txt}]\n");
  expect_clash(run(cfg2), "4:27", {(d.path() / "list.txt").string() + " is an input"});
  // files: a folder sink holding a listed file.
  const fs::path cfg3 = config_with(d, "{type: files, paths: [in/digit_0000.png]}",
                                    "sinks: [{type: annotated_images, path: in}]\n");
  expect_clash(run(cfg3), "4:40",
               {"is a folder that holds the input " + (d.path() / "in/digit_0000.png").string()});
}

TEST(OutputClash, ASinkInTheModelFolder) {
  TempDir d;
  fs::copy(kData + "/models/bit-tiny-digits", d.path() / "model");
  const fs::path model = d.path() / "model";
  const fs::path cfg =
      config_with(d, "{type: folder, path: in}",
                  "sinks: [{type: jsonl, path: ../model/config.json}]\noutput_dir: out\n", model.string());
  const std::string before = testing::read_file(model / "config.json");
  expect_clash(
      run(cfg), "4:29",
      {(model / "config.json").string() + " would overwrite the model's files in " + model.string()});
  EXPECT_EQ(testing::read_file(model / "config.json"), before);
}

TEST(OutputClash, OutputDirInsideTheSourceFolderIsLeftOut) {
  TempDir d;
  const fs::path cfg =
      config_with(d, "{type: folder, path: in}",
                  "sinks: [{type: jsonl, path: p.jsonl}, {type: annotated_images, path: ann}]\n");
  for (int i = 0; i < 3; ++i) {
    const auto r = run(cfg, {"--output", (d.path() / "in/out").string()});
    ASSERT_EQ(r.status, 0) << i << "\n" << r.out << r.err;
    EXPECT_NE(r.out.find("items: 4 (4 ok, 0 failed)"), std::string::npos) << "run " << i << ": " << r.out;
    EXPECT_EQ(testing::read_lines(d.path() / "in/out/p.jsonl").size(), 4u) << i;
  }
}

TEST(OutputClash, OutputDirHoldingTheSourceFolderIsAnError) {
  TempDir d;
  const fs::path cfg = config_with(d, "{type: folder, path: in}", "sinks: [{type: jsonl, path: p.jsonl}]\n");
  const auto r = run(cfg, {"--output", d.path().string()});
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--output: output_dir: " + d.path().string() + " holds the input folder " +
                       (d.path() / "in").string()),
            std::string::npos)
      << r.err;
}

TEST(OutputClash, WritingOutsideOutputDirIsPrinted) {
  TempDir d;
  const fs::path cfg =
      config_with(d, "{type: folder, path: in}",
                  "sinks: [{type: jsonl, path: ../elsewhere/p.jsonl}, {type: csv, path: p.csv}]\n"
                  "output_dir: out\n");
  const auto r = run(cfg);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("note: sinks[0].path writes " + (d.path() / "elsewhere/p.jsonl").string() +
                       ", outside output_dir " + (d.path() / "out").string()),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("sinks[1]"), std::string::npos) << r.err;
  EXPECT_EQ(testing::read_lines(d.path() / "elsewhere/p.jsonl").size(), 4u);
}

}  // namespace
}  // namespace visbone::pipeline
