// `visbone download` end to end: the program against the fake hub, its output and its exit statuses.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>

#include "hub_test_support.h"
#include "visbone/hub/cache.h"

namespace visbone::hub {
namespace {

namespace fs = std::filesystem;
using test::FakeHub;
using test::TempDir;

struct CliResult {
  int status = -1;
  std::string out, err;
};

class DownloadCliTest : public ::testing::Test {
 protected:
  CliResult visbone(const std::string& args) const {
    const fs::path out = tmp.path() / "stdout", err = tmp.path() / "stderr";
    // `timeout` bounds the run: a hang fails the test instead of blocking the suite.
    const std::string command = "timeout 60 '" + std::string(VISBONE_BINARY) + "' " + args + " >'" +
                                out.string() + "' 2>'" + err.string() + "'";
    const int raw = std::system(command.c_str());
    CliResult run;
    run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    run.out = test::read_bytes(out);
    run.err = test::read_bytes(err);
    return run;
  }

  TempDir tmp;
  test::HubEnvironment env{tmp.path() / "hf_home"};
  fs::path cache_dir = tmp.path() / "hub";
};

TEST_F(DownloadCliTest, DownloadsIntoTheCacheAndPrintsTheSnapshotFolder) {
  FakeHub hub;
  const std::string common = " --endpoint " + hub.endpoint() + " --cache-dir '" + cache_dir.string() + "'";
  const CliResult run = visbone("download visbone-test/bit-tiny-digits --progress never" + common);
  ASSERT_EQ(run.status, 0) << run.err;
  const fs::path folder = run.out.substr(0, run.out.find('\n'));
  const fs::path repo = cache_dir / "models--visbone-test--bit-tiny-digits";
  EXPECT_EQ(folder, repo / "snapshots" / test::read_bytes(repo / "refs" / "main"));
  for (const char* name : {"config.json", "preprocessor_config.json", "model.safetensors"})
    EXPECT_TRUE(fs::is_regular_file(folder / name)) << name;

  // The same, offline and by commit, from the cache only.
  const CliResult offline = visbone("download visbone-test/bit-tiny-digits --offline --revision " +
                                    folder.filename().string() + common);
  ASSERT_EQ(offline.status, 0) << offline.err;
  EXPECT_EQ(offline.out, run.out);
}

TEST_F(DownloadCliTest, FailuresExitWithTheReason) {
  FakeHub hub;
  const std::string common = " --endpoint " + hub.endpoint() + " --cache-dir '" + cache_dir.string() + "'";
  CliResult run = visbone("download visbone-test/bit-tiny-digits --revision nope" + common);
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("revision 'nope' not found"), std::string::npos) << run.err;

  run = visbone("download visbone-test/tiny-preact --offline" + common);
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("offline"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("'config.json'"), std::string::npos) << run.err;

  run = visbone("download a/b/c" + common);
  EXPECT_EQ(run.status, 2);
  EXPECT_NE(run.err.find("not a hub repository id"), std::string::npos) << run.err;

  run = visbone("download");
  EXPECT_EQ(run.status, 2);
  EXPECT_NE(run.err.find("visbone download: REPO_ID is required (usage: visbone download REPO_ID [options])"),
            std::string::npos)
      << run.err;

  run = visbone("--help");
  EXPECT_NE(run.out.find("download"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace visbone::hub
