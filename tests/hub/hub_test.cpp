// The hub client against a fake hub on 127.0.0.1 (fake_hub.py) that answers with huggingface.co's headers
// and serves tests/data/models/* as repositories visbone-test/<folder>.
#include "visbone/hub/hub.h"

#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <iostream>
#include <sstream>
#include <thread>

#include "hub_test_support.h"
#include "visbone/core/errors.h"
#include "visbone/hub/cache.h"
#include "visbone/hub/sha256.h"

namespace visbone::hub {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace test;  // hub_test_support.h: FakeHub, TempDir, thrown, contains, kDigits, ...

const fs::path kDigitsDir = test::kModels / "bit-tiny-digits";
const std::string kDigitsWeightsSha = "29bc3ce6ab86698dfa4a7210067c54d2878ec3b85b539ae09c6c068c12b2ba9d";

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The files of one folder that something opened for reading or read, seen with inotify (IN_ACCESS: read(),
// IN_CLOSE_NOWRITE: closed after opening without write access, as an mmap or a read-back does).
class ReadWatch {
 public:
  explicit ReadWatch(const fs::path& dir) : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    if (fd_ < 0 || ::inotify_add_watch(fd_, dir.c_str(), IN_ACCESS | IN_CLOSE_NOWRITE) < 0)
      throw std::runtime_error("cannot watch " + dir.string() + " with inotify");
  }
  ~ReadWatch() { ::close(fd_); }
  ReadWatch(const ReadWatch&) = delete;
  ReadWatch& operator=(const ReadWatch&) = delete;

  // The names of the files read since the last call (the folder's own listings left out).
  std::set<std::string> take() {
    std::set<std::string> names;
    alignas(inotify_event) char buffer[8192];
    for (ssize_t n; (n = ::read(fd_, buffer, sizeof buffer)) > 0;) {
      for (char* p = buffer; p < buffer + n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(p);
        if (e->len > 0 && !(e->mask & IN_ISDIR)) names.insert(e->name);
        p += sizeof(inotify_event) + e->len;
      }
    }
    return names;
  }

 private:
  int fd_;
};

class HubServerTest : public ::testing::Test {
 protected:
  ResolveOptions options(const FakeHub& hub) const { return test::fake_hub_options(hub, cache_dir); }
  fs::path repo_folder(const std::string& repo_id) const { return cache_dir / repo_folder_name(repo_id); }

  TempDir tmp;
  test::HubEnvironment env{tmp.path() / "hf_home"};
  fs::path cache_dir = tmp.path() / "hub";
};

TEST_F(HubServerTest, FirstDownloadFillsTheCacheInHuggingFaceHubLayout) {
  FakeHub hub;
  ResolveOptions o = options(hub);
  o.token = "hf_secret";
  o.with_processor_config = true;
  const fs::path folder = resolve_model(kDigits, o);

  const fs::path repo = repo_folder(kDigits);
  const std::string commit = test::read_bytes(repo / "refs" / "main");
  ASSERT_TRUE(is_commit_hash(commit)) << commit;
  EXPECT_EQ(folder, repo / "snapshots" / commit);
  EXPECT_EQ(commit, hub.log().front().headers.at("X-Repo-Commit"));

  // Every file is a relative symlink to a blob named by its ETag: git sha1 for regular files, sha256 for LFS.
  for (const char* name : {"config.json", "preprocessor_config.json", "model.safetensors"}) {
    const fs::path pointer = folder / name;
    ASSERT_TRUE(fs::is_symlink(pointer)) << pointer;
    const fs::path target = fs::read_symlink(pointer);
    EXPECT_EQ(target.parent_path(), fs::path("../../blobs")) << target;
    EXPECT_EQ(test::read_bytes(pointer), test::read_bytes(kDigitsDir / name)) << name;
  }
  EXPECT_EQ(fs::read_symlink(folder / "model.safetensors").filename(), kDigitsWeightsSha);
  std::string config_etag;
  for (const auto& e : hub.log())
    if (e.method == "HEAD" && e.file == "config.json") config_etag = e.headers.at("ETag");
  EXPECT_EQ("\"" + fs::read_symlink(folder / "config.json").filename().string() + "\"", config_etag);

  EXPECT_EQ(names_in(repo / "blobs").size(), 3u);  // nothing else: no .incomplete left behind
  EXPECT_TRUE(fs::exists(cache_dir / ".locks" / repo_folder_name(kDigits) / (kDigitsWeightsSha + ".lock")));
  EXPECT_TRUE(fs::exists(cache_dir / "CACHEDIR.TAG"));

  // HEAD for metadata then one GET per file; the LFS file came from the "CDN" after a redirect.
  EXPECT_EQ(hub.count("HEAD", "config.json"), 1);
  EXPECT_EQ(hub.count("GET", "model.safetensors"), 1);
  for (const auto& e : hub.log()) {
    // The bytes of a regular file are asked for at the commit the HEAD named, not at a branch that may move.
    if (e.method == "GET" && e.file == "config.json") {
      EXPECT_EQ(e.path, "/" + kDigits + "/resolve/" + commit + "/config.json");
    }
  }
  for (const auto& e : hub.log()) {
    if (contains(e.path, "/cdn/")) {
      EXPECT_EQ(e.auth, "") << "the token must not follow a redirect to another host";
    } else {
      EXPECT_EQ(e.auth, "Bearer hf_secret") << e.path;
    }
  }
}

TEST_F(HubServerTest, FilesInSubfoldersAndTagsFollowTheLayout) {
  FakeHub hub;
  const std::string repo_id = "visbone-test/timm-tiny-w2";
  ResolveOptions tag = options(hub);
  tag.revision = "v1";
  const fs::path path = hub_file(repo_id, "hf/config.json", tag);
  const fs::path repo = repo_folder(repo_id);
  const std::string commit = test::read_bytes(repo / "refs" / "v1");
  EXPECT_EQ(path, repo / "snapshots" / commit / "hf" / "config.json");
  EXPECT_EQ(fs::read_symlink(path).parent_path(), fs::path("../../../blobs"));
  EXPECT_EQ(test::read_bytes(path), test::read_bytes(test::kModels / "timm-tiny-w2" / "hf" / "config.json"));
  EXPECT_FALSE(fs::exists(repo / "refs" / "main")) << "only the revision asked for gets a ref";
}

TEST_F(HubServerTest, EmptyFileNeedsNoTransfer) {
  TempDir root;
  test::write_bytes(root.path() / "empty" / "empty.safetensors", "");
  FakeHub hub(root.path());
  const fs::path path = hub_file("visbone-test/empty", "empty.safetensors", options(hub));
  EXPECT_EQ(fs::file_size(path), 0u);
  EXPECT_EQ(hub.count("GET", "empty.safetensors"), 0);
}

TEST_F(HubServerTest, SecondResolveMakesNoRequestForTheWeights) {
  FakeHub hub;
  const fs::path first = resolve_model(kDigits, options(hub));
  const std::size_t before = hub.log().size();
  const fs::path second = resolve_model(kDigits, options(hub));
  EXPECT_EQ(first, second);
  const auto log = hub.log();
  ASSERT_EQ(log.size(), before + 1) << "only the HEAD that resolves 'main' to a commit";
  EXPECT_EQ(log.back().method, "HEAD");
  EXPECT_EQ(log.back().file, "config.json");

  // Pinned to the commit, the cache answers alone.
  ResolveOptions pinned = options(hub);
  pinned.revision = first.filename().string();
  EXPECT_EQ(resolve_model(kDigits, pinned), first);
  EXPECT_EQ(hub.log().size(), before + 1);
}

TEST_F(HubServerTest, AbsentPreprocessorConfigIsRecordedInNoExist) {
  FakeHub hub;
  const std::string repo_id = "visbone-test/tiny-preact";  // has no preprocessor_config.json
  ResolveOptions with_processor = options(hub);
  with_processor.with_processor_config = true;
  const fs::path folder = resolve_model(repo_id, with_processor);
  const std::string commit = folder.filename().string();
  EXPECT_TRUE(fs::is_regular_file(repo_folder(repo_id) / ".no_exist" / commit / "preprocessor_config.json"));
  EXPECT_FALSE(fs::exists(folder / "preprocessor_config.json"));
  resolve_model(repo_id, with_processor);
  EXPECT_EQ(hub.count("HEAD", "preprocessor_config.json"), 1) << "the marker spares the second request";
  ResolveOptions offline = with_processor;
  offline.offline = true;
  EXPECT_EQ(resolve_model(repo_id, offline), folder);
}

TEST_F(HubServerTest, ShardedCheckpointFetchesTheIndexThenEveryShard) {
  FakeHub hub;
  const std::string repo_id = "visbone-test/bit-50-random-fp16";
  const fs::path folder = resolve_model(repo_id, options(hub));
  const fs::path src = test::kModels / "bit-50-random-fp16";
  EXPECT_EQ(test::read_bytes(folder / "model.safetensors.index.json"),
            test::read_bytes(src / "model.safetensors.index.json"));
  for (int i = 1; i <= 4; ++i) {
    const std::string shard = "model-0000" + std::to_string(i) + "-of-00004.safetensors";
    ASSERT_TRUE(fs::is_symlink(folder / shard)) << shard;
    EXPECT_EQ(fs::file_size(folder / shard), fs::file_size(src / shard)) << shard;
    EXPECT_EQ(hub.count("GET", shard), 1) << shard;
  }
  EXPECT_TRUE(fs::exists(repo_folder(repo_id) / ".no_exist" / folder.filename() / "model.safetensors"));
  EXPECT_FALSE(fs::exists(folder / "reference.safetensors")) << "only what a model needs is fetched";
}

TEST_F(HubServerTest, DroppedConnectionResumesWithARangeRequest) {
  FakeHub hub;
  hub.control(R"({"drop_halfway": 1})");
  const fs::path path = hub_file(kDigits, "model.safetensors", options(hub));
  EXPECT_EQ(test::read_bytes(path), test::read_bytes(kDigitsDir / "model.safetensors"));
  std::vector<test::LogEntry> gets;
  for (const auto& e : hub.log())
    if (e.method == "GET" && contains(e.path, "/cdn/")) gets.push_back(e);
  ASSERT_EQ(gets.size(), 2u);
  EXPECT_TRUE(gets[0].dropped);
  EXPECT_EQ(gets[0].range, "");
  const auto size = fs::file_size(kDigitsDir / "model.safetensors");
  EXPECT_EQ(gets[1].range, "bytes=" + std::to_string(size / 2) + "-");
  EXPECT_EQ(gets[1].status, 206);
}

TEST_F(HubServerTest, PartialFileFromAnEarlierRunIsResumed) {
  FakeHub hub;
  const std::string bytes = test::read_bytes(kDigitsDir / "model.safetensors");
  const fs::path blobs = repo_folder(kDigits) / "blobs";
  // What an interrupted earlier run (ours, or huggingface_hub's) leaves: the first part under
  // <etag>.incomplete.
  test::write_bytes(blobs / (kDigitsWeightsSha + ".incomplete"), bytes.substr(0, 100000));
  const fs::path path = hub_file(kDigits, "model.safetensors", options(hub));
  EXPECT_EQ(test::read_bytes(path), bytes);
  EXPECT_EQ(hub.count("GET", "model.safetensors"), 1);
  for (const auto& e : hub.log()) {
    if (e.method == "GET") {
      EXPECT_EQ(e.range, "bytes=100000-");
    }
  }
  EXPECT_EQ(names_in(blobs), std::vector<std::string>{kDigitsWeightsSha});
}

// Issue 21: a download is hashed from the bytes as they arrive; nothing reads the file back to verify it (a
// multi-gigabyte checkpoint would be read twice). Only a prefix an earlier run left is read, once.
TEST_F(HubServerTest, DownloadIsHashedAsItArrivesNotReadBack) {
  FakeHub hub;
  const fs::path blobs = repo_folder(kDigits) / "blobs";
  fs::create_directories(blobs);
  ReadWatch watch(blobs);
  const fs::path path = hub_file(kDigits, "model.safetensors", options(hub));
  EXPECT_EQ(fs::read_symlink(path).filename(), kDigitsWeightsSha);
  EXPECT_EQ(watch.take(), std::set<std::string>{}) << "the download was read back from disk";
  // The watch sees reads: the test's own, of the finished blob.
  EXPECT_EQ(sha256_file_hex(path), kDigitsWeightsSha);
  EXPECT_EQ(watch.take(), std::set<std::string>{kDigitsWeightsSha});

  // Resumed: the prefix an earlier run left is read to be hashed, the one read a download may make.
  const std::string bytes = test::read_bytes(path);
  fs::remove_all(repo_folder(kDigits));
  fs::create_directories(blobs);
  ReadWatch resumed(blobs);
  test::write_bytes(blobs / (kDigitsWeightsSha + ".incomplete"), bytes.substr(0, 100000));
  EXPECT_EQ(test::read_bytes(hub_file(kDigits, "model.safetensors", options(hub))), bytes);
  EXPECT_EQ(resumed.take(), (std::set<std::string>{kDigitsWeightsSha + ".incomplete", kDigitsWeightsSha}));
}

// The hash covers the bytes an earlier run left, not only what this run received.
TEST_F(HubServerTest, CorruptPartialFileFromAnEarlierRunIsCaughtByTheHash) {
  FakeHub hub;
  std::string prefix = test::read_bytes(kDigitsDir / "model.safetensors").substr(0, 100000);
  prefix[5000] ^= 0x20;
  const fs::path blobs = repo_folder(kDigits) / "blobs";
  test::write_bytes(blobs / (kDigitsWeightsSha + ".incomplete"), prefix);
  const auto e = thrown<NetworkError>([&] { hub_file(kDigits, "model.safetensors", options(hub)); });
  ASSERT_TRUE(e) << "expected NetworkError";
  EXPECT_TRUE(contains(e->what(), "is corrupt: its sha256 is")) << e->what();
  EXPECT_EQ(hub.count("GET", "model.safetensors"), 1);
  EXPECT_EQ(names_in(blobs), std::vector<std::string>{});
}

TEST_F(HubServerTest, ServerIgnoringTheRangeRestartsFromZero) {
  FakeHub hub;
  hub.control(R"({"ignore_range": true})");
  const std::string bytes = test::read_bytes(kDigitsDir / "model.safetensors");
  test::write_bytes(repo_folder(kDigits) / "blobs" / (kDigitsWeightsSha + ".incomplete"),
                    bytes.substr(0, 1000));
  EXPECT_EQ(test::read_bytes(hub_file(kDigits, "model.safetensors", options(hub))), bytes);
}

TEST_F(HubServerTest, CorruptBodyIsRejectedAndLeavesNothingInBlobs) {
  FakeHub hub;
  hub.control(R"({"corrupt": true})");
  {
    const auto e = thrown<NetworkError>([&] { hub_file(kDigits, "model.safetensors", options(hub)); });
    ASSERT_TRUE(e) << "expected NetworkError";
    const std::string what = e->what();
    EXPECT_TRUE(contains(what, "sha256")) << what;
    EXPECT_TRUE(contains(what, kDigitsWeightsSha)) << what;
    EXPECT_TRUE(contains(what, "/cdn/")) << what;
  }
  EXPECT_EQ(names_in(repo_folder(kDigits) / "blobs"), std::vector<std::string>{});
  const std::string commit = test::read_bytes(repo_folder(kDigits) / "refs" / "main");
  EXPECT_FALSE(fs::exists(repo_folder(kDigits) / "snapshots" / commit / "model.safetensors"));

  hub.control("{}");
  EXPECT_EQ(sha256_file_hex(hub_file(kDigits, "model.safetensors", options(hub))), kDigitsWeightsSha);
}

TEST_F(HubServerTest, OfflineModeUsesTheCacheAndNamesWhatIsMissing) {
  FakeHub hub;
  const fs::path folder = resolve_model(kDigits, options(hub));
  const std::size_t requests = hub.log().size();

  test::ScopedEnv offline_env("HF_HUB_OFFLINE", "yes");
  ResolveOptions o = options(hub);
  o.offline.reset();  // from the environment
  EXPECT_EQ(resolve_model(kDigits, o), folder);
  EXPECT_EQ(hub_file(kDigits, "config.json", o), folder / "config.json");
  {
    const auto e = thrown<NotFoundError>([&] { hub_file(kDigits, "tokenizer.json", o); });
    ASSERT_TRUE(e) << "expected NotFoundError";
    const std::string what = e->what();
    EXPECT_TRUE(contains(what, "'tokenizer.json'")) << what;
    EXPECT_TRUE(contains(what, "'main'")) << what;
    EXPECT_TRUE(contains(what, "HF_HUB_OFFLINE")) << what;
  }
  EXPECT_THROW(resolve_model("visbone-test/tiny-preact", o), NotFoundError);
  EXPECT_EQ(hub.log().size(), requests) << "offline means no request at all";
}

TEST_F(HubServerTest, UnauthorizedSaysAuthenticationIsNeeded) {
  FakeHub hub;
  hub.control(R"({"require_token": "hf_right"})");
  {
    const auto e = thrown<HttpError>([&] { resolve_model(kDigits, options(hub)); });
    ASSERT_TRUE(e) << "expected HttpError";
    const std::string what = e->what();
    EXPECT_EQ(e->status(), 401);
    EXPECT_TRUE(contains(what, "401")) << what;
    EXPECT_TRUE(contains(what, hub.endpoint() + "/" + kDigits + "/resolve/main/config.json")) << what;
    EXPECT_TRUE(contains(what, "authentication")) << what;
    EXPECT_TRUE(contains(what, "HF_TOKEN")) << what;
  }
  ResolveOptions wrong = options(hub);
  wrong.token = "hf_wrong";
  {
    const auto e = thrown<HttpError>([&] { resolve_model(kDigits, wrong); });
    ASSERT_TRUE(e) << "expected HttpError";
    EXPECT_EQ(e->status(), 401);
    EXPECT_TRUE(contains(e->what(), "rejected the token")) << e->what();
  }
  // The token file `huggingface-cli login` writes under HF_HOME is used when nothing else is given.
  test::write_bytes(tmp.path() / "hf_home" / "token", "hf_right\n");
  const fs::path folder = resolve_model(kDigits, options(hub));
  EXPECT_TRUE(fs::exists(folder / "model.safetensors"));
}

TEST_F(HubServerTest, NotFoundSaysWhatIsMissing) {
  FakeHub hub;
  {
    const auto e = thrown<HttpError>([&] { resolve_model("visbone-test/no-such-model", options(hub)); });
    ASSERT_TRUE(e) << "expected HttpError";
    EXPECT_EQ(e->status(), 404);
    EXPECT_EQ(e->error_code(), "RepoNotFound");
    EXPECT_TRUE(contains(e->what(), "repository 'visbone-test/no-such-model' not found")) << e->what();
    EXPECT_TRUE(contains(e->what(), "/visbone-test/no-such-model/resolve/main/config.json")) << e->what();
  }
  {
    const auto e = thrown<HttpError>([&] { hub_file(kDigits, "tokenizer.json", options(hub)); });
    ASSERT_TRUE(e) << "expected HttpError";
    EXPECT_EQ(e->status(), 404);
    EXPECT_TRUE(contains(e->what(), "file 'tokenizer.json' not found in repository '" + kDigits + "'"))
        << e->what();
  }
  const std::string commit = test::read_bytes(repo_folder(kDigits) / "refs" / "main");
  EXPECT_TRUE(fs::exists(repo_folder(kDigits) / ".no_exist" / commit / "tokenizer.json"));
  EXPECT_EQ(hub_file_if_exists(kDigits, "tokenizer.json", options(hub)), std::nullopt);

  ResolveOptions rev = options(hub);
  rev.revision = "no-such-branch";
  {
    const auto e = thrown<HttpError>([&] { hub_file(kDigits, "config.json", rev); });
    ASSERT_TRUE(e) << "expected HttpError";
    EXPECT_EQ(e->status(), 404);
    EXPECT_TRUE(contains(e->what(), "revision 'no-such-branch' not found")) << e->what();
  }
}

TEST_F(HubServerTest, RepositoryWithoutSafetensorsWeightsIsAClearError) {
  TempDir root;
  test::write_bytes(root.path() / "no-weights" / "config.json", "{}");
  FakeHub hub(root.path());
  {
    const auto e = thrown<NotFoundError>([&] { resolve_model("visbone-test/no-weights", options(hub)); });
    ASSERT_TRUE(e) << "expected NotFoundError";
    EXPECT_TRUE(contains(e->what(), "neither model.safetensors nor model.safetensors.index.json"))
        << e->what();
  }
}

TEST_F(HubServerTest, IndexNamingAFileOutsideTheRepositoryIsRejected) {
  TempDir root;
  test::write_bytes(root.path() / "evil" / "config.json", "{}");
  test::write_bytes(root.path() / "evil" / "model.safetensors.index.json",
                    R"({"metadata": {}, "weight_map": {"a": "../../../outside.safetensors"}})");
  FakeHub hub(root.path());
  EXPECT_THROW(resolve_model("visbone-test/evil", options(hub)), FormatError);
}

TEST_F(HubServerTest, UnreachableHubIsAnErrorNamingTheUrlOrTheCachedCopy) {
  int port = 0;
  {
    FakeHub hub;  // a port that was just free and is closed again once the server is gone
    port = hub.port();
    resolve_model(kDigits, options(hub));
  }
  ResolveOptions o;
  o.cache_dir = cache_dir;
  o.endpoint = "http://127.0.0.1:" + std::to_string(port);
  o.offline = false;
  o.connect_timeout = 2s;
  o.stall_timeout = 2s;
  // As huggingface_hub: the hub cannot be asked, the cached snapshot serves.
  EXPECT_TRUE(fs::exists(resolve_model(kDigits, o) / "model.safetensors"));
  {
    const auto e = thrown<NetworkError>([&] { resolve_model("visbone-test/tiny-preact", o); });
    ASSERT_TRUE(e) << "expected NetworkError";
    EXPECT_TRUE(
        contains(e->what(), o.endpoint.value() + "/visbone-test/tiny-preact/resolve/main/config.json"))
        << e->what();
  }
}

TEST_F(HubServerTest, HubOutageFallsBackToTheCacheElseSaysTheStatus) {
  FakeHub hub;
  const fs::path folder = resolve_model(kDigits, options(hub));
  hub.control(R"({"status": 503})");
  EXPECT_EQ(resolve_model(kDigits, options(hub)), folder);
  {
    const auto e = thrown<HttpError>([&] { resolve_model("visbone-test/tiny-preact", options(hub)); });
    ASSERT_TRUE(e) << "expected HttpError";
    EXPECT_EQ(e->status(), 503);
    EXPECT_TRUE(contains(e->what(), "HTTP 503")) << e->what();
  }
}

TEST_F(HubServerTest, CdnFailureIsAnHttpErrorNamingTheCdnUrl) {
  FakeHub hub;
  hub.control(R"({"cdn_status": 403})");
  {
    const auto e = thrown<HttpError>([&] { hub_file(kDigits, "model.safetensors", options(hub)); });
    ASSERT_TRUE(e) << "expected HttpError";
    EXPECT_EQ(e->status(), 403);
    EXPECT_TRUE(contains(e->url(), "/cdn/" + kDigitsWeightsSha)) << e->url();
  }
  EXPECT_EQ(names_in(repo_folder(kDigits) / "blobs"), std::vector<std::string>{}) << "no empty leftovers";
}

TEST_F(HubServerTest, StalledTransferTimesOutInsteadOfHanging) {
  FakeHub hub;
  hub.control(R"({"stall": true})");
  ResolveOptions o = options(hub);
  o.stall_timeout = 1s;
  o.max_resume_attempts = 1;
  {
    const auto e = thrown<NetworkError>([&] { hub_file(kDigits, "model.safetensors", o); });
    ASSERT_TRUE(e) << "expected NetworkError";
    EXPECT_TRUE(contains(e->what(), "timed out")) << e->what();
    EXPECT_TRUE(contains(e->what(), "/cdn/")) << e->what();
  }
}

TEST_F(HubServerTest, MetadataWithoutACommitIsRejected) {
  FakeHub hub;
  hub.control(R"({"omit_headers": ["X-Repo-Commit"]})");
  {
    const auto e = thrown<NetworkError>([&] { hub_file(kDigits, "config.json", options(hub)); });
    ASSERT_TRUE(e) << "expected NetworkError";
    EXPECT_TRUE(contains(e->what(), "X-Repo-Commit")) << e->what();
  }
}

TEST_F(HubServerTest, RenamedRepositoryFollowsTheRelativeRedirect) {
  FakeHub hub(test::kModels, {"--rename", "visbone-test/old-digits=" + kDigits});
  const fs::path path = hub_file("visbone-test/old-digits", "config.json", options(hub));
  // Cached under the name asked for, as huggingface_hub does.
  EXPECT_TRUE(contains(path.string(), repo_folder_name("visbone-test/old-digits"))) << path;
  EXPECT_EQ(test::read_bytes(path), test::read_bytes(kDigitsDir / "config.json"));
}

TEST_F(HubServerTest, MovedBranchGetsANewSnapshotAndReusesBlobs) {
  FakeHub hub;
  const fs::path first = resolve_model(kDigits, options(hub));
  hub.control(R"({"commit_salt": "next"})");
  const fs::path second = resolve_model(kDigits, options(hub));
  EXPECT_NE(first, second);
  EXPECT_EQ(test::read_bytes(repo_folder(kDigits) / "refs" / "main"), second.filename().string());
  EXPECT_EQ(hub.count("GET", "model.safetensors"), 1) << "same ETag, same blob: not downloaded again";
  EXPECT_EQ(fs::read_symlink(first / "model.safetensors"), fs::read_symlink(second / "model.safetensors"));
}

TEST_F(HubServerTest, ConcurrentDownloadsOfOneBlobMakeOneTransfer) {
  FakeHub hub;
  hub.control(R"({"body_delay_ms": 500})");
  fs::path a, b;
  std::exception_ptr error_a, error_b;
  std::thread ta([&] {
    try {
      a = hub_file(kDigits, "model.safetensors", options(hub));
    } catch (...) {
      error_a = std::current_exception();
    }
  });
  std::thread tb([&] {
    try {
      b = hub_file(kDigits, "model.safetensors", options(hub));
    } catch (...) {
      error_b = std::current_exception();
    }
  });
  ta.join();
  tb.join();
  if (error_a) std::rethrow_exception(error_a);
  if (error_b) std::rethrow_exception(error_b);
  EXPECT_EQ(a, b);
  EXPECT_EQ(hub.count("HEAD", "model.safetensors"), 2);
  EXPECT_EQ(hub.count("GET", "model.safetensors"), 1) << "the second waited on the lock, then found the blob";
  EXPECT_EQ(sha256_file_hex(a), kDigitsWeightsSha);
}

TEST_F(HubServerTest, ProgressBarShowsTheFileAndItsEnd) {
  FakeHub hub;
  ResolveOptions o = options(hub);
  o.progress = ProgressMode::always;
  std::ostringstream captured;
  std::streambuf* old = std::cerr.rdbuf(captured.rdbuf());
  try {
    hub_file(kDigits, "model.safetensors", o);
  } catch (...) {
    std::cerr.rdbuf(old);
    throw;
  }
  std::cerr.rdbuf(old);
  EXPECT_TRUE(contains(captured.str(), "model.safetensors: 100% 530.8 kB/530.8 kB")) << captured.str();
}

}  // namespace
}  // namespace visbone::hub
