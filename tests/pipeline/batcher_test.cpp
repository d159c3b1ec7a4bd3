// The flow graph's batcher on its own: batches hold one pixel shape each, at most batch_size items, grouped
// within a window of inputs; failed items ride along in the oldest open group and count.
#include "batcher.h"

#include <gtest/gtest.h>

#include <string>

namespace visbone::pipeline {
namespace {

// "a" is an item of shape a, "x" a failed item; a batch reads as the concatenation of its items.
// Other letters are items of their own shapes.
struct Feeder {
  explicit Feeder(std::size_t batch_size, std::size_t window = 1000)
      : batcher(batch_size, window, [](const std::string& s) -> std::optional<Shape> {
          if (s == "x") return std::nullopt;
          return Shape{1, 3, 32 + 8 * (s[0] - 'a'), 32};
        }) {}
  std::vector<std::string> feed(const std::string& items) {
    std::vector<std::string> out;
    const auto take = [&](const std::vector<std::string>& batch) {
      std::string b;
      for (const auto& i : batch) b += i;
      out.push_back(b);
    };
    for (const char c : items)
      for (const auto& batch : batcher.add(std::string(1, c))) take(batch);
    for (const auto& batch : batcher.finish()) take(batch);
    return out;
  }
  Batcher<std::string> batcher;
};

TEST(Batcher, FullBatchesOfOneShapeThenTheRest) {
  EXPECT_EQ(Feeder(3).feed("aaaaaaa"), (std::vector<std::string>{"aaa", "aaa", "a"}));
  EXPECT_EQ(Feeder(1).feed("aab"), (std::vector<std::string>{"a", "a", "b"}));
  EXPECT_TRUE(Feeder(4).feed("").empty());
}

// Interleaved sizes are batched by size: a new shape opens a group of its own instead of closing the open
// batch (which made batches of one from a stream alternating between sizes).
TEST(Batcher, InterleavedSizesAreGroupedBySize) {
  EXPECT_EQ(Feeder(2).feed("abababab"), (std::vector<std::string>{"aa", "bb", "aa", "bb"}));
  EXPECT_EQ(Feeder(4).feed("aabbba"), (std::vector<std::string>{"aaa", "bbb"}));
  EXPECT_EQ(Feeder(3).feed("abcabcab"), (std::vector<std::string>{"aaa", "bbb", "cc"}));
  // A group that fills is sent at once, ahead of older open groups; the rest leave oldest first.
  EXPECT_EQ(Feeder(2).feed("abcc"), (std::vector<std::string>{"cc", "a", "b"}));
  // The item that completes a batch may also close the window on an older group: two batches from one add().
  Batcher<std::string> b(
      2, 3, [](const std::string& s) -> std::optional<Shape> { return Shape{s[0] == 'a' ? 1 : 2}; });
  EXPECT_TRUE(b.add("a").empty());
  EXPECT_TRUE(b.add("b").empty());
  EXPECT_EQ(b.add("b"), (std::vector<std::vector<std::string>>{{"b", "b"}, {"a"}}));
}

// An item waits for at most `window` inputs (counted from it): every input after it is in flight meanwhile,
// and the graph lets only so many in.
TEST(Batcher, AGroupIsSentOnceTheWindowHasPassedItsOldestItem) {
  EXPECT_EQ(Feeder(4, 3).feed("abcabc"), (std::vector<std::string>{"a", "b", "c", "a", "b", "c"}));
  EXPECT_EQ(Feeder(4, 4).feed("abcabcabc"), (std::vector<std::string>{"aa", "bb", "cc", "a", "b", "c"}));
  EXPECT_EQ(Feeder(3, 1).feed("aaab"), (std::vector<std::string>{"a", "a", "a", "b"}));
  // A window of at least batch_size leaves a stream of one size in full batches.
  EXPECT_EQ(Feeder(3, 3).feed("aaaaaaa"), (std::vector<std::string>{"aaa", "aaa", "a"}));
}

TEST(Batcher, FailedItemsRideAlongAndCount) {
  // A failed item joins the oldest open group whatever its shape and counts towards batch_size.
  EXPECT_EQ(Feeder(3).feed("axabxb"), (std::vector<std::string>{"axa", "bxb"}));
  EXPECT_EQ(Feeder(3).feed("abxb"), (std::vector<std::string>{"ax", "bb"}));
  EXPECT_EQ(Feeder(2).feed("xxax"), (std::vector<std::string>{"xx", "ax"}));
  // Failed items do not fix the batch's shape: a good item of any shape may follow them.
  EXPECT_EQ(Feeder(3).feed("xba"), (std::vector<std::string>{"xb", "a"}));
}

}  // namespace
}  // namespace visbone::pipeline
