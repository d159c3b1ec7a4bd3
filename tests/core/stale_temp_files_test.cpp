// Temporary files of killed processes: removed when their PID is gone, kept while it lives.
#include "visbone/core/stale_temp_files.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>

#include "support/support.h"
#include "visbone/core/safetensors.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// The PID of a process that has exited and been reaped: no process has it (until the kernel reuses it).
long dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

TEST(StaleTempFiles, OwnerIsReadFromTheNameOnly) {
  EXPECT_EQ(temp_file_owner(".predictions.jsonl.tmp.1234.0"), 1234);
  EXPECT_EQ(temp_file_owner(".model.safetensors.part.77.12"), 77);
  EXPECT_EQ(temp_file_owner(".out.staging.5.1"), 5);
  EXPECT_EQ(temp_file_owner(".a.b.c.old.9.0"), 9);
  EXPECT_EQ(temp_file_owner("..visbone-journal.removed.999999.0"), 999999);  // journal.cpp's removal
  for (const char* other : {"predictions.jsonl.tmp.1234.0", ".x.tmp.12a.0", ".x.tmp.12.", ".x.cache.12.0",
                            ".tmp.12.0", ".config.json.tmp", "."})
    EXPECT_FALSE(temp_file_owner(other)) << other;
}

TEST(StaleTempFiles, ThoseOfDeadProcessesAreRemovedOthersStay) {
  TempDir d;
  const std::string dead = std::to_string(dead_pid());
  const std::string self = std::to_string(::getpid());
  d.write(".predictions.jsonl.tmp." + dead + ".0", "half a file");
  d.write(".f.safetensors.part." + dead + ".3", "x");
  d.write(".out.staging." + dead + ".1/model.safetensors", "a staged folder");
  d.write(".mine.tmp." + self + ".0", "this process is writing it");
  d.write(".init.tmp.1.0", "pid 1 lives");
  d.write("visible.tmp." + dead + ".0", "not hidden: not ours");
  d.write(".config.json.tmp", "no pid");
  EXPECT_EQ(remove_dead_temp_files(d.path()), 3);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(d.path())) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{".config.json.tmp", ".init.tmp.1.0", ".mine.tmp." + self + ".0",
                                            "visible.tmp." + dead + ".0"}));
  EXPECT_EQ(remove_dead_temp_files(d.path() / "missing"), 0) << "a folder that is not there is no error";
}

// write_safetensors (`visbone forward --output`, `preprocess --output`, the feature cache) is such a writer:
// it clears what a killed one left in its folder, once per folder per process, and leaves its own file only.
TEST(StaleTempFiles, WriteSafetensorsRemovesThoseOfDeadWritersInItsFolder) {
  TempDir d;
  const std::string dead = std::to_string(dead_pid());
  d.write(".out.safetensors.tmp." + dead + ".0", "a killed forward's half file");
  d.write(".init.tmp.1.0", "pid 1 lives");
  write_safetensors(d.path() / "out.safetensors", {{"x", Tensor(Shape{2})}});
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(d.path())) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{".init.tmp.1.0", "out.safetensors"}));
  EXPECT_EQ(SafetensorsFile::open(d.path() / "out.safetensors").load("x").shape(), (Shape{2}));
}

}  // namespace
}  // namespace visbone
