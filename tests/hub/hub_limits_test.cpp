// The hub client against servers that would hold a run or the disk hostage: a HEAD claiming a huge metadata
// file or more bytes than the disk has, a silent connection (the stall timeout), a drip of bytes that never
// stalls (the per-file deadline), and error text carrying terminal escape sequences. Which of its limits
// stopped a transfer the client says in its error (the stall watchdog: "no data for S s (the stall limit is
// L s)"; the file's deadline: "the deadline for this file passed"); the tests check that the right one
// fired and not before its limit. No test bounds how soon it fires by a clock: a busy machine only delays
// the client, so "within 3 s of a 2 s limit" would be a bet on the scheduler. Instead the fake hub sends the
// body at a known later time, and a client still listening then gets the file, not the error.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <thread>

#include "hub_test_support.h"
#include "visbone/core/errors.h"
#include "visbone/hub/cache.h"
#include "visbone/hub/hub.h"
#include "visbone/hub/server_text.h"

namespace visbone::hub {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace test;  // hub_test_support.h: FakeHub, TempDir, thrown, contains, kDigits, ...

// The seconds in "no data for 2.04 s" (the stall measured when the client gave up), or -1.
double silent_seconds(const std::string& message) {
  std::smatch m;
  if (!std::regex_search(message, m, std::regex("no data for ([0-9.]+) s"))) return -1;
  return std::atof(m[1].str().c_str());
}

// When the client hung up the `attempt`th GET of `file` under control stall_ms (the server's clock), or -1.
// The server logs it once it sees the hang-up, which may be just after the client's error: waited for, up
// to 20 s (a hang guard; no bound on the client's speed).
double hung_up_ms(const FakeHub& hub, const std::string& file, int attempt) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  do {
    int n = 0;
    for (const auto& entry : hub.log())
      if (entry.method == "GET" && entry.file == file && n++ == attempt && entry.hung_up_ms >= 0)
        return entry.hung_up_ms;
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return -1;
}

class HubLimitsTest : public ::testing::Test {
 protected:
  ResolveOptions options(const FakeHub& hub) const { return test::fake_hub_options(hub, cache_dir); }

  TempDir tmp;
  test::HubEnvironment env{tmp.path() / "hf_home"};
  fs::path cache_dir = tmp.path() / "hub";
};

TEST(ServerText, ControlCharactersAreEscaped) {
  EXPECT_EQ(escape_server_text("plain text: é ✓"), "plain text: é ✓");
  EXPECT_EQ(escape_server_text("\x1b[31mred\x1b]0;title\x07"), "\\x1b[31mred\\x1b]0;title\\x07");
  EXPECT_EQ(escape_server_text("a\tb\r\nc\x7f"), "a\\tb\\r\\nc\\x7f");
  EXPECT_EQ(escape_server_text("C1 CSI \xc2\x9b" "2J, raw \x9b, bad \xff\xc3"), "C1 CSI \\u009b2J, raw \\x9b, bad \\xff\\xc3");
  EXPECT_EQ(escape_server_text("back\\slash"), "back\\\\slash") << "an escape in the output is always ours";
  EXPECT_EQ(escape_server_text(std::string(2000, 'x'), 10), std::string(10, 'x') + "...");
}

TEST_F(HubLimitsTest, AHugeMetadataFileIsRefusedBeforeAnyByteIsFetched) {
  FakeHub hub;
  hub.control(R"({"claim_size": {"config.json": 50000000000}})");
  const auto e = thrown<NetworkError>([&] { hub_file(kDigits, "config.json", options(hub)); });
  ASSERT_TRUE(e) << "expected NetworkError";
  EXPECT_TRUE(contains(e->what(), "config.json is 50000000000 bytes; metadata files (.json) are limited to "
                                  "16777216 bytes"))
      << e->what();
  EXPECT_EQ(hub.count("GET", "config.json"), 0);

  // The cap is an option: the real config.json (a few hundred bytes) passes the default, not a cap of 10.
  hub.control("{}");
  ResolveOptions o = options(hub);
  o.max_metadata_bytes = 10;
  EXPECT_TRUE(thrown<NetworkError>([&] { hub_file(kDigits, "config.json", o); }));
  EXPECT_TRUE(fs::is_regular_file(hub_file(kDigits, "config.json", options(hub))));
}

// config.json one byte under the cap, at it, one over it; each in a fresh cache so nothing is served from it.
TEST_F(HubLimitsTest, TheMetadataCapAtItsBoundary) {
  FakeHub hub;
  const auto size = fs::file_size(test::kModels / "bit-tiny-digits" / "config.json");
  const auto fetch_with_cap = [&](std::uintmax_t cap) {
    ResolveOptions o = test::fake_hub_options(hub, tmp.path() / ("cache-" + std::to_string(cap)));
    o.max_metadata_bytes = cap;
    return hub_file(kDigits, "config.json", o);
  };
  EXPECT_EQ(fs::file_size(fetch_with_cap(size + 1)), size);
  EXPECT_EQ(fs::file_size(fetch_with_cap(size)), size);
  const auto e = thrown<NetworkError>([&] { fetch_with_cap(size - 1); });
  ASSERT_TRUE(e) << "expected NetworkError";
  EXPECT_TRUE(contains(e->what(), "config.json is " + std::to_string(size) +
                                      " bytes; metadata files (.json) are limited to " + std::to_string(size - 1)))
      << e->what();
}

TEST_F(HubLimitsTest, TooLittleFreeSpaceIsRefusedBeforeTheTransfer) {
  FakeHub hub;
  hub.control(R"({"claim_size": {"model.safetensors": 1000000000000000000}})");
  const auto e = thrown<IoError>([&] { hub_file(kDigits, "model.safetensors", options(hub)); });
  ASSERT_TRUE(e) << "expected IoError";
  EXPECT_TRUE(contains(e->what(), "not enough free space in " + (cache_dir / repo_folder_name(kDigits) / "blobs").string() +
                                      " to download model.safetensors: it needs 1000000000000000000 more bytes"))
      << e->what();
  EXPECT_EQ(hub.count("GET", "model.safetensors"), 0) << "no request for the bytes";
}

// The file's deadline is minutes away (its default), so only the stall watchdog can end these attempts. The
// server is silent for 6 s after its headers, then sends the file: an attempt still open then (a watchdog
// firing at 3x the limit or later, as curl's low-speed check did at 8 s) downloads it instead of failing.
TEST_F(HubLimitsTest, TheStallTimeoutFromTheEnvironmentIsTheLimitThatFires) {
  FakeHub hub;
  hub.control(R"({"stall_ms": 6000})");
  const test::ScopedEnv timeout("HF_HUB_DOWNLOAD_TIMEOUT", "2");
  ResolveOptions o = options(hub);
  o.stall_timeout.reset();  // from $HF_HUB_DOWNLOAD_TIMEOUT
  o.max_resume_attempts = 1;
  const auto e = thrown<NetworkError>([&] { hub_file(kDigits, "model.safetensors", o); });
  ASSERT_TRUE(e) << "expected NetworkError";
  EXPECT_TRUE(contains(e->what(), "gave up after 2 attempts without progress")) << e->what();
  EXPECT_EQ(hub.count("GET", "model.safetensors"), 2);
  // The watchdog stopped the last attempt, at the limit from the environment (not connect + stall, the limit
  // before any answer: the headers came), and not before it.
  EXPECT_TRUE(contains(e->what(), "(the stall limit is 2.00 s) after 0 bytes")) << e->what();
  EXPECT_GE(silent_seconds(e->what()), 2.0) << e->what();
  EXPECT_FALSE(contains(e->what(), "deadline")) << e->what();
  // The server's side: the client hung up both connections, each after at least the 2 s limit of silence (a
  // clock started before the headers left, so a slow machine can only make this longer).
  for (int attempt : {0, 1}) {
    const double ms = hung_up_ms(hub, "model.safetensors", attempt);
    EXPECT_GE(ms, 2000) << "attempt " << attempt << "; " << e->what();
  }
}

TEST_F(HubLimitsTest, ADripThatNeverStallsEndsAtTheFileDeadline) {
  FakeHub hub;
  hub.control(R"({"drip_ms": 400})");  // 2.5 bytes per second: curl's low-speed limit calls that progress
  ResolveOptions o = options(hub);
  o.stall_timeout = 2s;
  o.file_deadline = 3s;
  const auto e = thrown<NetworkError>([&] { hub_file(kDigits, "model.safetensors", o); });
  ASSERT_TRUE(e) << "expected NetworkError";
  EXPECT_TRUE(contains(e->what(), "model.safetensors from ")) << e->what();
  EXPECT_TRUE(contains(e->what(), "did not finish within its deadline of 3.0 s (attempts: 1; the last: GET ")) << e->what();
  EXPECT_TRUE(contains(e->what(), "timed out: the deadline for this file passed")) << e->what();
  EXPECT_EQ(hub.count("GET", "model.safetensors"), 1);
}

TEST_F(HubLimitsTest, AnAttemptThatStallsAfterSomeBytesIsEndedByTheStallLimit) {
  // The first byte of the file, then silence; a request for the rest gets its headers, then silence. The
  // first attempt brings a byte (so the attempts start again: two more without progress), and the file's
  // deadline is minutes away: three GETs mean that each attempt, the one with a byte too, was ended by the
  // stall watchdog, at the 2 s limit it names.
  FakeHub hub;
  hub.control(R"({"stall_after": 1})");
  ResolveOptions o = options(hub);
  o.stall_timeout = 2s;
  o.max_resume_attempts = 1;
  const auto e = thrown<NetworkError>([&] { hub_file(kDigits, "model.safetensors", o); });
  ASSERT_TRUE(e) << "expected NetworkError";
  const auto size = fs::file_size(test::kModels / "bit-tiny-digits" / "model.safetensors");
  EXPECT_TRUE(contains(e->what(), "gave up after 2 attempts without progress (3 in all; 1 of " +
                                      std::to_string(size) + " bytes kept in "))
      << e->what();
  EXPECT_EQ(hub.count("GET", "model.safetensors"), 3);
  EXPECT_TRUE(contains(e->what(), "(the stall limit is 2.00 s) after 0 bytes")) << e->what();
  EXPECT_GE(silent_seconds(e->what()), 2.0) << e->what();
  EXPECT_FALSE(contains(e->what(), "deadline")) << e->what();
}

TEST_F(HubLimitsTest, ServerTextIsPrintedWithEscapes) {
  FakeHub hub;
  hub.control(R"({"status": 503, "error_message": "\u001b[2J\u001b]0;pwned\u0007gone"})");
  {
    const auto e = thrown<HttpError>([&] { hub_file(kDigits, "config.json", options(hub)); });
    ASSERT_TRUE(e) << "expected HttpError";
    EXPECT_TRUE(contains(e->what(), "(hub says: \\x1b[2J\\x1b]0;pwned\\x07gone)")) << e->what();
    EXPECT_FALSE(contains(e->what(), "\x1b")) << e->what();
  }
  // A CDN's error page (no X-Error-Message): its body, escaped.
  hub.control(R"({"cdn_status": 403, "omit_headers": ["X-Error-Message"], "error_body": "<Error>\u001b[31mDenied</Error>"})");
  {
    const auto e = thrown<HttpError>([&] { hub_file(kDigits, "model.safetensors", options(hub)); });
    ASSERT_TRUE(e) << "expected HttpError";
    EXPECT_TRUE(contains(e->what(), "answered HTTP 403: <Error>\\x1b[31mDenied</Error>")) << e->what();
    EXPECT_FALSE(contains(e->what(), "\x1b")) << e->what();
  }
}

}  // namespace
}  // namespace visbone::hub
