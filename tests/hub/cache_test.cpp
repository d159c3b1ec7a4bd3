// The cache side: where the cache is (the same environment rules as huggingface_hub), names, refs, and a
// cache written by hand following huggingface_hub's layout, found offline.
#include "visbone/hub/cache.h"

#include <gtest/gtest.h>

#include "hub_test_support.h"
#include "visbone/core/errors.h"
#include "visbone/hub/hub.h"
#include "visbone/hub/sha256.h"

namespace visbone::hub {
namespace {

namespace fs = std::filesystem;
using test::ScopedEnv;
using test::TempDir;
using test::thrown;

class CacheTest : public ::testing::Test {
 protected:
  TempDir tmp;
  test::HubEnvironment env{tmp.path() / "hf_home"};
};

TEST_F(CacheTest, CacheDirFollowsHuggingFaceHubPrecedence) {
  {
    ScopedEnv home("HF_HOME", std::nullopt);
    ScopedEnv h("HOME", "/home/someone");
    EXPECT_EQ(default_cache_dir(), fs::path("/home/someone/.cache/huggingface/hub"));
    ScopedEnv xdg("XDG_CACHE_HOME", "/xdg");
    EXPECT_EQ(default_cache_dir(), fs::path("/xdg/huggingface/hub"));
    EXPECT_EQ(hf_home(), fs::path("/xdg/huggingface"));
  }
  ScopedEnv xdg("XDG_CACHE_HOME", "/xdg");
  ScopedEnv hf_home_var("HF_HOME", "/hf");
  EXPECT_EQ(default_cache_dir(), fs::path("/hf/hub"));
  ScopedEnv legacy("HUGGINGFACE_HUB_CACHE", "/legacy");
  EXPECT_EQ(default_cache_dir(), fs::path("/legacy"));
  ScopedEnv cache("HF_HUB_CACHE", "/explicit/cache");
  EXPECT_EQ(default_cache_dir(), fs::path("/explicit/cache"));
}

TEST_F(CacheTest, CacheDirExpandsUserAndVariablesAsPythonDoes) {
  ScopedEnv home("HOME", "/home/someone");
  ScopedEnv base("VISBONE_TEST_BASE", "/data");
  ScopedEnv cache("HF_HUB_CACHE", "~/models");
  EXPECT_EQ(default_cache_dir(), fs::path("/home/someone/models"));
  ScopedEnv cache2("HF_HUB_CACHE", "$VISBONE_TEST_BASE/hub/${VISBONE_TEST_BASE}/$VISBONE_TEST_UNSET_VAR");
  // Unknown variables stay as written, as os.path.expandvars leaves them.
  EXPECT_EQ(default_cache_dir(), fs::path("/data/hub//data/$VISBONE_TEST_UNSET_VAR"));
}

TEST_F(CacheTest, EndpointTokenAndOfflineFromEnvironment) {
  EXPECT_EQ(default_endpoint(), "https://huggingface.co");
  {
    ScopedEnv e("HF_ENDPOINT", "http://mirror.local:8080//");
    EXPECT_EQ(default_endpoint(), "http://mirror.local:8080");
  }

  EXPECT_EQ(default_token(), std::nullopt);
  test::write_bytes(tmp.path() / "hf_home" / "token",
                    "hf_fromfile\n");  // as `huggingface-cli login` writes it
  EXPECT_EQ(default_token(), "hf_fromfile");
  test::write_bytes(tmp.path() / "other_token", "  hf_other\r\n");
  {
    ScopedEnv path("HF_TOKEN_PATH", (tmp.path() / "other_token").string());
    EXPECT_EQ(default_token(), "hf_other");
  }
  {
    ScopedEnv legacy("HUGGING_FACE_HUB_TOKEN", "hf_legacy");
    EXPECT_EQ(default_token(), "hf_legacy");
    ScopedEnv token("HF_TOKEN", "hf_env");
    EXPECT_EQ(default_token(), "hf_env");
    ScopedEnv empty("HF_TOKEN", "");
    EXPECT_EQ(default_token(), std::nullopt);  // set but empty means no token, as in huggingface_hub
  }

  EXPECT_FALSE(default_offline());
  for (const char* yes : {"1", "ON", "yes", "True"}) {
    ScopedEnv offline("HF_HUB_OFFLINE", yes);
    EXPECT_TRUE(default_offline()) << yes;
  }
  for (const char* no : {"0", "off", "", "nope"}) {
    ScopedEnv offline("HF_HUB_OFFLINE", no);
    EXPECT_FALSE(default_offline()) << no;
  }
  ScopedEnv transformers("TRANSFORMERS_OFFLINE", "1");
  EXPECT_TRUE(default_offline());
}

TEST_F(CacheTest, NamesAndPathsFollowTheLayout) {
  EXPECT_EQ(repo_folder_name("google/bit-50"), "models--google--bit-50");
  EXPECT_EQ(repo_folder_name("gpt2"), "models--gpt2");
  EXPECT_TRUE(is_repo_id("google/bit-50"));
  EXPECT_TRUE(is_repo_id("gpt2"));
  EXPECT_TRUE(is_repo_id("Org_1/model.v2"));
  for (const char* bad : {"", "/abs", "a/b/c", "../x", "a/..", "a--b/c", "a/b c", "a/", ".hidden/x", "a/b-"})
    EXPECT_FALSE(is_repo_id(bad)) << bad;
  EXPECT_THROW(validate_repo_id("a/b/c"), ConfigError);

  for (const char* bad : {"", "/etc/passwd", "../x", "a/../../x", "a\\b", "./x"})
    EXPECT_THROW(validate_repo_filename(bad), ConfigError) << bad;
  EXPECT_NO_THROW(validate_repo_filename("sub/dir/model.safetensors"));
  EXPECT_THROW(validate_revision("../../etc"), ConfigError);
  EXPECT_NO_THROW(validate_revision("refs/pr/1"));

  EXPECT_TRUE(is_commit_hash("0123456789abcdef0123456789abcdef01234567"));
  EXPECT_FALSE(is_commit_hash("0123456789ABCDEF0123456789abcdef01234567"));
  EXPECT_FALSE(is_commit_hash("main"));

  const RepoCache cache(tmp.path() / "c", "org/name");
  const std::string commit(40, 'a');
  EXPECT_EQ(cache.folder(), tmp.path() / "c" / "models--org--name");
  EXPECT_EQ(cache.pointer_path(commit, "sub/f.json"),
            cache.folder() / "snapshots" / commit / "sub" / "f.json");
  EXPECT_EQ(cache.no_exist_path(commit, "f.json"), cache.folder() / ".no_exist" / commit / "f.json");
  EXPECT_EQ(cache.lock_path("abc"), tmp.path() / "c" / ".locks" / "models--org--name" / "abc.lock");
}

TEST_F(CacheTest, RefsAreWrittenAsHuggingFaceHubWritesThem) {
  const RepoCache cache(tmp.path() / "c", "org/name");
  const std::string c1(40, '1'), c2(40, '2');
  EXPECT_EQ(cache.resolve_revision("main"), std::nullopt);
  EXPECT_EQ(cache.resolve_revision(c1), c1);  // a commit is its own resolution, no ref needed
  cache.write_ref("main", c1);
  EXPECT_EQ(test::read_bytes(cache.folder() / "refs" / "main"), c1);  // the bare hash, no newline
  cache.write_ref("refs/pr/3", c2);
  EXPECT_EQ(test::read_bytes(cache.folder() / "refs" / "refs" / "pr" / "3"), c2);
  cache.write_ref("main", c2);
  EXPECT_EQ(cache.resolve_revision("main"), c2);
  cache.write_ref(c1, c1);  // no ref for a commit
  EXPECT_FALSE(fs::exists(cache.folder() / "refs" / c1));
  // Nothing but the refs themselves: the temporary files were renamed into place.
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(cache.folder() / "refs"))
    files += e.is_regular_file();
  EXPECT_EQ(files, 2);

  test::write_bytes(cache.folder() / "refs" / "broken", "not a hash");
  EXPECT_THROW(cache.resolve_revision("broken"), FormatError);
}

// A cache laid out by hand exactly as huggingface_hub leaves it (blobs, refs/main holding the commit,
// relative snapshot symlinks, a .no_exist marker) is what Python users already have on disk.
class HandWrittenCacheTest : public CacheTest {
 protected:
  void SetUp() override {
    const fs::path repo = cache_dir / "models--someorg--some-model";
    auto add = [&](const std::string& name, const fs::path& source) {
      const std::string bytes = test::read_bytes(source);
      const std::string etag = sha256_hex(bytes);
      test::write_bytes(repo / "blobs" / etag, bytes);
      fs::create_directories(repo / "snapshots" / commit);
      fs::create_symlink(fs::path("../../blobs") / etag, repo / "snapshots" / commit / name);
    };
    add("config.json", test::kModels / "bit-tiny-digits" / "config.json");
    add("preprocessor_config.json", test::kModels / "bit-tiny-digits" / "preprocessor_config.json");
    add("model.safetensors", test::kModels / "bit-tiny-digits" / "model.safetensors");
    test::write_bytes(repo / "refs" / "main", commit);

    // A sharded one whose model.safetensors is known to be absent.
    const fs::path sharded = cache_dir / "models--someorg--sharded";
    const fs::path src = test::kModels / "bit-50-random-fp16";
    for (const char* name : {"config.json", "model.safetensors.index.json",
                             "model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
                             "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors"}) {
      const std::string etag = std::string(name) + "-blob";  // blob names are opaque to readers of the cache
      fs::create_directories(sharded / "blobs");
      fs::create_symlink(src / name, sharded / "blobs" / etag);  // saves copying 50 MB; readers follow it
      fs::create_directories(sharded / "snapshots" / commit);
      fs::create_symlink(fs::path("../../blobs") / etag, sharded / "snapshots" / commit / name);
    }
    test::write_bytes(sharded / ".no_exist" / commit / "model.safetensors", "");
    test::write_bytes(sharded / ".no_exist" / commit / "preprocessor_config.json", "");
    test::write_bytes(sharded / "refs" / "main", commit + "\n");  // tolerated: other tools add a newline
  }

  ResolveOptions offline() const {
    ResolveOptions o;
    o.cache_dir = cache_dir;
    o.offline = true;
    o.endpoint = "http://127.0.0.1:9";  // would fail at once if anything tried the network
    return o;
  }

  fs::path cache_dir = tmp.path() / "hub";
  std::string commit = "4a1c5dcb7e2a4a25c07a5e1f6b0b7c2bdfc0ad13";
};

TEST_F(HandWrittenCacheTest, FoundOffline) {
  const fs::path folder = resolve_model("someorg/some-model", offline());
  EXPECT_EQ(folder, cache_dir / "models--someorg--some-model" / "snapshots" / commit);
  EXPECT_EQ(test::read_bytes(folder / "model.safetensors"),
            test::read_bytes(test::kModels / "bit-tiny-digits" / "model.safetensors"));
  EXPECT_EQ(hub_file("someorg/some-model", "config.json", offline()), folder / "config.json");

  ResolveOptions by_commit = offline();
  by_commit.revision = commit;
  EXPECT_EQ(resolve_model("someorg/some-model", by_commit), folder);

  EXPECT_EQ(resolve_model("someorg/sharded", offline()),
            cache_dir / "models--someorg--sharded" / "snapshots" / commit);
  EXPECT_EQ(hub_file_if_exists("someorg/sharded", "model.safetensors", offline()), std::nullopt);
  EXPECT_THROW(hub_file("someorg/sharded", "model.safetensors", offline()), NotFoundError);
}

TEST_F(HandWrittenCacheTest, FoundThroughTheEnvironmentAlone) {
  ScopedEnv cache("HF_HUB_CACHE", cache_dir.string());
  ScopedEnv offline_env("HF_HUB_OFFLINE", "1");
  ScopedEnv endpoint("HF_ENDPOINT", "http://127.0.0.1:9");
  EXPECT_EQ(resolve_model("someorg/some-model"),
            cache_dir / "models--someorg--some-model" / "snapshots" / commit);
}

TEST_F(HandWrittenCacheTest, OfflineMissesSayWhichFileAndRevision) {
  {
    const auto e =
        thrown<NotFoundError>([&] { hub_file("someorg/some-model", "tokenizer.json", offline()); });
    ASSERT_TRUE(e) << "expected NotFoundError";
    const std::string what = e->what();
    EXPECT_NE(what.find("'tokenizer.json'"), std::string::npos) << what;
    EXPECT_NE(what.find("'main'"), std::string::npos) << what;
    EXPECT_NE(what.find(commit), std::string::npos) << what;
    EXPECT_NE(what.find("offline"), std::string::npos) << what;
  }
  ResolveOptions v2 = offline();
  v2.revision = "v2";
  {
    const auto e = thrown<NotFoundError>([&] { resolve_model("someorg/some-model", v2); });
    ASSERT_TRUE(e) << "expected NotFoundError";
    const std::string what = e->what();
    EXPECT_NE(what.find("'config.json'"), std::string::npos) << what;
    EXPECT_NE(what.find("'v2'"), std::string::npos) << what;
    EXPECT_NE(what.find("refs/v2"), std::string::npos) << what;
  }
  EXPECT_THROW(resolve_model("someorg/not-downloaded", offline()), NotFoundError);
  // A snapshot entry whose blob is gone is a miss, not a broken file handed to the loader.
  fs::remove(cache_dir / "models--someorg--some-model" / "blobs" /
             sha256_hex(test::read_bytes(test::kModels / "bit-tiny-digits" / "model.safetensors")));
  EXPECT_THROW(resolve_model("someorg/some-model", offline()), NotFoundError);
}

TEST_F(CacheTest, LocalFoldersAndBadNames) {
  const fs::path local = test::kModels / "bit-tiny-digits";
  EXPECT_EQ(resolve_model(local.string()), local);
  EXPECT_THROW(resolve_model((local / "config.json").string()), ConfigError);
  EXPECT_THROW(resolve_model("./no/such/folder"), NotFoundError);
  ResolveOptions o;
  o.offline = true;
  o.cache_dir = tmp.path() / "hub";
  {
    const auto e = thrown<NotFoundError>([&] { resolve_model("nosuchfolder", o); });
    ASSERT_TRUE(e) << "expected NotFoundError";
    EXPECT_NE(std::string(e->what()).find("no folder 'nosuchfolder'"), std::string::npos) << e->what();
  }
}

}  // namespace
}  // namespace visbone::hub
