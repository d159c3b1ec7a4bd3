// A run's output folder holds exactly that run's outputs when it ends with _SUCCESS (issue 16; issue 14
// point 6): files an earlier run wrote that this run does not (another input set's per-input images, a sink
// the config no longer has, a killed run's images) are removed at its end, through the run record
// (pipeline/src/run_record.h); a user's own files stay; a killed run leaves no _SUCCESS.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>

#include "pipeline_test_support.h"

namespace visbone::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::kData;
using testing::read_lines;
using testing::run_visbone;
using testing::TempDir;

fs::path digits() {
  return testing::project_dir() / "data/digits";
}

// Every file under `dir` (relative, generic form), hidden ones too.
std::set<std::string> files_under(const fs::path& dir) {
  std::set<std::string> all;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (!e.is_directory()) all.insert(e.path().lexically_relative(dir).generic_string());
  return all;
}

// A folder of the first `n` digit images (sorted), as inputs/N/x/digit_k.png.
fs::path inputs(const TempDir& d, const std::string& name, std::size_t n) {
  std::set<fs::path> all;
  for (const auto& e : fs::recursive_directory_iterator(digits()))
    if (e.path().extension() == ".png") all.insert(e.path());
  const fs::path dir = d / name;
  for (const auto& p : all) {
    if (n-- == 0) break;
    const fs::path to = dir / p.lexically_relative(digits());
    fs::create_directories(to.parent_path());
    fs::copy_file(p, to);
  }
  return dir;
}

fs::path config(const TempDir& d, const std::string& name, const std::string& heads, const std::string& sinks,
                const std::string& summary = "summary: summary.json\n") {
  return d.write(name, "source: {type: folder, path: in}\nmodel: {checkpoint: " + kData +
                           "/models/bit-tiny-digits}\nheads: [" + heads + "]\nsinks:\n" + sinks + summary +
                           "batch_size: 8\nthreads: 1\n");
}

int run(const fs::path& cfg, const fs::path& input, const fs::path& out, const std::string& extra = "") {
  std::vector<std::string> args = {"run",      cfg.string(), "--input",    input.string(),
                                   "--output", out.string(), "--progress", "none"};
  if (!extra.empty()) args.push_back(extra);
  const auto r = run_visbone(args);
  EXPECT_EQ(r.status, 0) << r.all();
  return r.status;
}

// The audit's first case: run 1 on inputs a and b with an embedding head and a safetensors sink, run 2 on a
// only without them. b's annotated image and run 1's tensors go; the user's notes stay.
TEST(RunRecord, ASecondRunLeavesExactlyItsOwnFilesAndTheUsersOnes) {
  TempDir d;
  const fs::path both = inputs(d, "both", 2), one = inputs(d, "one", 1), out = d / "out";
  const std::string annotated = "  - {type: annotated_images, path: annotated}\n";
  const auto first = config(
      d, "1.yaml", "{type: classification}, {type: embedding}, {type: feature_maps, out_features: [stage2]}",
      "  - {type: jsonl, path: predictions.jsonl}\n" + annotated +
          "  - {type: safetensors, path: tensors.safetensors, heads: [embedding]}\n"
          "  - {type: heatmap, path: heat, stage: stage2}\n");
  ASSERT_EQ(run(first, both, out), 0);
  EXPECT_EQ(files_under(out / "annotated").size(), 2u);
  EXPECT_EQ(files_under(out / "heat").size(), 2u);
  d.write("out/notes.txt", "mine");
  d.write("out/annotated/README.txt", "mine too");  // not an image: not a sink's per-input file

  const auto second = config(d, "2.yaml", "{type: classification}",
                             "  - {type: jsonl, path: predictions.jsonl}\n" + annotated);
  ASSERT_EQ(run(second, one, out), 0);
  const std::string a = fs::path(*files_under(one).begin()).generic_string();
  EXPECT_EQ(files_under(out),
            (std::set<std::string>{"_SUCCESS", ".visbone-outputs.json", "notes.txt", "annotated/README.txt",
                                   "annotated/" + a + ".png", "predictions.jsonl", "summary.json"}));
  EXPECT_EQ(read_lines(out / "predictions.jsonl").size(), 1u);
  EXPECT_FALSE(fs::exists(out / "heat")) << "the folder of a sink the run does not have goes when emptied";
}

// The audit's second case: annotated images over 12 inputs, then 6 into the same folder: 6 images, 6 lines.
TEST(RunRecord, FewerInputsLeaveNoImagesOfTheEarlierRun) {
  TempDir d;
  const fs::path many = inputs(d, "many", 12), few = inputs(d, "few", 6), out = d / "out";
  const auto cfg = config(d, "c.yaml", "{type: classification}",
                          "  - {type: jsonl, path: predictions.jsonl}\n"
                          "  - {type: annotated_images, path: annotated}\n");
  ASSERT_EQ(run(cfg, many, out), 0);
  ASSERT_EQ(files_under(out / "annotated").size(), 12u);
  ASSERT_EQ(run(cfg, few, out), 0);
  EXPECT_EQ(files_under(out / "annotated").size(), 6u);
  EXPECT_EQ(read_lines(out / "predictions.jsonl").size(), 6u);
  EXPECT_TRUE(fs::exists(out / "_SUCCESS"));
}

// A file an earlier run left that cannot be removed (here: on a read-only bind mount) is printed and the run
// fails without _SUCCESS; the next run, with the mount gone, removes it.
TEST(RunRecord, AFileThatCannotBeRemovedIsPrintedAndTheFolderIsNotMarkedComplete) {
  TempDir d;
  const fs::path out = d / "out";
  for (const char* label : {"1", "2"})
    for (int k = 0; k < 2; ++k) {
      std::set<fs::path> all;
      for (const auto& e : fs::directory_iterator(digits() / label)) all.insert(e.path());
      const fs::path from = *std::next(all.begin(), k);
      for (const char* set : {"both", "ones"})
        if (std::string(set) == "both" || std::string(label) == "1")
          fs::create_directories(d / set / label), fs::copy_file(from, d / set / label / from.filename());
    }
  const auto cfg = config(d, "c.yaml", "{type: classification}",
                          "  - {type: jsonl, path: predictions.jsonl}\n"
                          "  - {type: annotated_images, path: annotated}\n");
  ASSERT_EQ(run(cfg, d / "both", out), 0);
  const fs::path twos = out / "annotated/2";
  ASSERT_EQ(files_under(twos).size(), 2u);
  if (::mount(twos.c_str(), twos.c_str(), nullptr, MS_BIND, nullptr) != 0)
    GTEST_SKIP() << "cannot bind-mount (" << std::strerror(errno) << "); needs root";
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{twos};
  ASSERT_EQ(::mount(nullptr, twos.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr), 0)
      << std::strerror(errno);

  const auto r = run_visbone({"run", cfg.string(), "--input", (d / "ones").string(), "--output", out.string(),
                              "--progress", "none"});
  EXPECT_NE(r.status, 0) << r.all();
  EXPECT_NE(r.err.find((twos / *files_under(twos).begin()).string() + ": cannot remove"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("is not marked complete"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out / "_SUCCESS"));

  ::umount2(twos.c_str(), MNT_DETACH);
  ASSERT_EQ(run(cfg, d / "ones", out), 0);
  EXPECT_FALSE(fs::exists(twos)) << "the next run removes what the failed one could not";
}

// A resumed run (--resume) leaves its merged files only, as an uninterrupted run does.
TEST(RunRecord, AResumedRunLeavesExactlyItsOwnFiles) {
  TempDir d;
  const fs::path both = inputs(d, "both", 2), out = d / "out";
  const auto first = config(d, "1.yaml", "{type: classification}",
                            "  - {type: jsonl, path: predictions.jsonl}\n"
                            "  - {type: annotated_images, path: annotated}\n");
  ASSERT_EQ(run(first, both, out), 0);
  const auto resumable =
      config(d, "2.yaml", "{type: classification}", "  - {type: csv, path: predictions.csv}\n", "");
  ASSERT_EQ(run(resumable, both, out, "--resume"), 0);
  EXPECT_EQ(files_under(out),
            (std::set<std::string>{"_SUCCESS", ".visbone-outputs.json", "predictions.csv"}));
}

// A run killed while it writes images leaves no _SUCCESS; the next run (without that sink) removes the killed
// run's images too, which no finished run recorded: the killed run recorded their folder when it began.
TEST(RunRecord, AKilledRunLeavesNoSuccessAndTheNextRunRemovesItsImages) {
  TempDir d;
  const fs::path one = inputs(d, "one", 1), out = d / "out";
  const auto first =
      config(d, "1.yaml", "{type: classification}", "  - {type: jsonl, path: predictions.jsonl}\n");
  ASSERT_EQ(run(first, one, out), 0);
  ASSERT_TRUE(fs::exists(out / "_SUCCESS"));

  const auto slow = config(d, "2.yaml", "{type: classification}",
                           "  - {type: jsonl, path: predictions.jsonl}\n"
                           "  - {type: annotated_images, path: annotated, min_size: 2048}\n");
  const int pid = visbone::testing::start_visbone(
      {"run", slow.string(), "--input", digits().string(), "--output", out.string(), "--progress", "none"});
  // Killed once it has written a few of its 300 (large) images.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         !(fs::exists(out / "annotated") && files_under(out / "annotated").size() >= 3))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended before it was killed";
  EXPECT_FALSE(fs::exists(out / "_SUCCESS"));
  std::size_t images = 0;
  for (const auto& f : files_under(out / "annotated")) images += f[0] != '.';
  EXPECT_GE(images, 3u);

  ASSERT_EQ(run(first, one, out), 0);
  EXPECT_EQ(files_under(out), (std::set<std::string>{"_SUCCESS", ".visbone-outputs.json", "predictions.jsonl",
                                                     "summary.json"}));
}

}  // namespace
}  // namespace visbone::pipeline
