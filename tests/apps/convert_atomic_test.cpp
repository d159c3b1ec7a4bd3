// `visbone convert` replaces its output folder as a set: on a full disk it fails (exit non-zero) and leaves
// the previous folder as it was; killed at random moments it leaves the old folder or the new one, byte for
// byte, never timm weights beside a transformers config.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "support/support.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;
using testing::read_file;
using testing::run_visbone;
using testing::TempDir;

const std::string kModels = std::string(VISBONE_TEST_DATA) + "/models/";

// config.json and model.safetensors of a folder, or "" for what is missing.
std::pair<std::string, std::string> contents(const fs::path& dir) {
  return {read_file(dir / "config.json"), read_file(dir / "model.safetensors")};
}

std::vector<std::string> hidden_entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string()[0] == '.') out.push_back(e.path().filename().string());
  return out;
}

// `old` and `next`: the two conversions a folder may hold, as complete reference folders.
struct References {
  std::pair<std::string, std::string> old, next;
};

References make_references(const TempDir& d) {
  EXPECT_EQ(run_visbone({"convert", kModels + "bit-tiny-digits", (d / "ref_old").string(), "--to", "hf"}).status, 0);
  EXPECT_EQ(run_visbone({"convert", kModels + "tiny-preact", (d / "ref_new").string(), "--to", "timm"}).status, 0);
  return {contents(d / "ref_old"), contents(d / "ref_new")};
}

TEST(ConvertAtomic, KilledAtRandomMomentsLeavesTheOldFolderOrTheNewOne) {
  TempDir d;
  const References refs = make_references(d);
  ASSERT_NE(refs.old, refs.next);
  const fs::path dest = d / "out/model";
  const std::vector<std::string> old_args = {"convert", kModels + "bit-tiny-digits", dest.string(), "--to", "hf"};
  const std::vector<std::string> new_args = {"convert", kModels + "tiny-preact", dest.string(), "--to",
                                             "timm"};

  // How long one conversion takes here: the kills land anywhere from its start to just past its end.
  ASSERT_EQ(run_visbone(old_args).status, 0);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(run_visbone(new_args).status, 0);
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);

  std::mt19937 rng(20261130);
  int killed_before_end = 0, old_seen = 0, new_seen = 0;
  for (int round = 0; round < 20; ++round) {
    if (contents(dest) != refs.old) {
      ASSERT_EQ(run_visbone(old_args).status, 0);
    }
    const pid_t pid = testing::start_visbone(new_args);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % (took.count() * 12 / 10 + 1)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) ++killed_before_end;
    const auto now = contents(dest);
    ASSERT_TRUE(now == refs.old || now == refs.next) << "round " << round << ": a mixed or broken folder";
    (now == refs.old ? old_seen : new_seen)++;
    EXPECT_EQ(run_visbone({"inspect", dest.string()}).status, 0) << "round " << round << ": does not load";
  }
  std::printf("convert kills: 20 rounds, %d killed before the end, %d left the old folder, %d the new one\n",
              killed_before_end, old_seen, new_seen);
  EXPECT_GT(killed_before_end, 0) << "no kill landed inside a conversion (took " << took.count() << " us)";

  // The next conversion removes what the killed ones left beside the folder.
  ASSERT_EQ(run_visbone(old_args).status, 0);
  EXPECT_EQ(hidden_entries(dest.parent_path()), std::vector<std::string>{});
  EXPECT_EQ(hidden_entries(dest), std::vector<std::string>{});
}

TEST(ConvertAtomic, AFullDiskIsAnErrorThatLeavesThePreviousFolder) {
  TempDir d;
  const fs::path mnt = d / "small";
  fs::create_directories(mnt);
  // 1 MiB: room for one converted tiny model (0.53 MB), not for a second one staged beside it.
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs (" << std::strerror(errno) << "); needs root";
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};

  const fs::path dest = mnt / "model";
  ASSERT_EQ(run_visbone({"convert", kModels + "bit-tiny-digits", dest.string(), "--to", "hf"}).status, 0);
  const auto before = contents(dest);
  const auto r = run_visbone({"convert", kModels + "tiny-preact", dest.string(), "--to", "timm"});
  EXPECT_NE(r.status, 0) << r.all();
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("wrote"), std::string::npos) << r.err;
  EXPECT_TRUE(contents(dest) == before) << "the previous folder changed";
  EXPECT_EQ(hidden_entries(mnt), std::vector<std::string>{}) << "the staging folder is removed";
  EXPECT_EQ(run_visbone({"inspect", dest.string()}).status, 0);
}

}  // namespace
}  // namespace visbone
