// The flow graph's head join on its own: heads report in any order, the last report completes the join,
// each item gets every head's result in config order, and a head that failed or gave other than one result
// per item is named.
#include "head_join.h"

#include <gtest/gtest.h>

#include "visbone/core/errors.h"

namespace visbone::pipeline {
namespace {

// `n` results whose records read {"head": head, "item": i}.
std::vector<HeadResult> results(const std::string& head, std::size_t n) {
  std::vector<HeadResult> out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i].record = {{"head", head}, {"item", static_cast<std::int64_t>(i)}};
  return out;
}

TEST(HeadJoin, TheLastReportCompletesAndItemsGetResultsInHeadOrder) {
  HeadJoin join({"cls", "emb", "maps"}, 2);
  // Out of config order, as parallel heads finish.
  EXPECT_FALSE(join.put(2, results("maps", 2)));
  EXPECT_FALSE(join.put(0, results("cls", 2)));
  EXPECT_TRUE(join.put(1, results("emb", 2)));
  EXPECT_FALSE(join.failure());
  for (std::size_t i = 0; i < 2; ++i) {
    const auto got = join.take(i);
    ASSERT_EQ(got.size(), 3u);
    const std::vector<std::string> order = {"cls", "emb", "maps"};
    for (std::size_t h = 0; h < 3; ++h) {
      EXPECT_EQ(got[h].record.at("head").as_string(), order[h]);
      EXPECT_EQ(got[h].record.at("item").as_int64(), static_cast<std::int64_t>(i));
    }
  }
}

TEST(HeadJoin, AHeadWithAResultMissingIsNamed) {
  HeadJoin join({"cls", "emb"}, 4);
  EXPECT_FALSE(join.put(0, results("cls", 4)));
  EXPECT_TRUE(join.put(1, results("emb", 3)));
  const auto f = join.failure();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->index, 1u);
  EXPECT_EQ(f->head, "emb");
  EXPECT_EQ(f->message, "gave 3 results for a batch of 4");
  EXPECT_THROW(join.take(0), Error);
}

TEST(HeadJoin, TheFirstFailingHeadInConfigOrderIsReportedWhateverTheArrivalOrder) {
  HeadJoin join({"a", "b", "c"}, 1);
  EXPECT_FALSE(join.fail(2, "c broke"));
  EXPECT_FALSE(join.put(0, results("a", 1)));
  EXPECT_TRUE(join.fail(1, "b broke"));
  const auto f = join.failure();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->head, "b");
  EXPECT_EQ(f->message, "b broke");
}

TEST(HeadJoin, AnEmptyBatchCompletesWithNoResults) {
  HeadJoin join({"a", "b"}, 0);
  EXPECT_FALSE(join.put(1, {}));
  EXPECT_TRUE(join.put(0, {}));
  EXPECT_FALSE(join.failure());
}

TEST(HeadJoin, ReportingTwiceOrAskingEarlyIsAnErrorNamingTheHead) {
  HeadJoin join({"cls", "emb"}, 1);
  EXPECT_FALSE(join.put(0, results("cls", 1)));
  try {
    join.failure();
    ADD_FAILURE() << "failure() before every head reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("before head 'emb' reported"), std::string::npos) << e.what();
  }
  try {
    join.put(0, results("cls", 1));
    ADD_FAILURE() << "a second report";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("head 'cls' reported twice"), std::string::npos) << e.what();
  }
  EXPECT_THROW(join.put(2, {}), Error);
}

}  // namespace
}  // namespace visbone::pipeline
