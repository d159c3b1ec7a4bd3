// The flow graph's batcher on its own: batches are contiguous runs of inputs, one pixel shape each, at most
// batch_size long; failed items ride along and count.
#include "batcher.h"

#include <gtest/gtest.h>

#include <string>

namespace visbone::pipeline {
namespace {

// "a" is an item of shape a, "x" a failed item; a batch reads as the concatenation of its items.
struct Feeder {
  explicit Feeder(std::size_t batch_size)
      : batcher(batch_size, [](const std::string& s) -> std::optional<Shape> {
          if (s == "x") return std::nullopt;
          return Shape{1, 3, s == "a" ? 32 : 64, 32};
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
    const auto last = batcher.finish();
    if (!last.empty()) take(last);
    return out;
  }
  Batcher<std::string> batcher;
};

TEST(Batcher, FullBatchesOfOneShapeThenTheRest) {
  EXPECT_EQ(Feeder(3).feed("aaaaaaa"), (std::vector<std::string>{"aaa", "aaa", "a"}));
  EXPECT_EQ(Feeder(1).feed("aab"), (std::vector<std::string>{"a", "a", "b"}));
  EXPECT_TRUE(Feeder(4).feed("").empty());
}

TEST(Batcher, ANewShapeClosesTheOpenBatch) {
  EXPECT_EQ(Feeder(4).feed("aabbba"), (std::vector<std::string>{"aa", "bbb", "a"}));
  // The item that closes a batch may fill the next one at once: two batches from one add().
  Batcher<std::string> b(1, [](const std::string& s) -> std::optional<Shape> { return Shape{s == "a" ? 1 : 2}; });
  EXPECT_EQ(b.add("a").size(), 1u);
  EXPECT_EQ(b.add("b").size(), 1u);
}

TEST(Batcher, FailedItemsRideAlongAndCount) {
  // A failed item joins the open batch whatever its shape and counts towards batch_size.
  EXPECT_EQ(Feeder(3).feed("axabxb"), (std::vector<std::string>{"axa", "bxb"}));
  EXPECT_EQ(Feeder(2).feed("xxax"), (std::vector<std::string>{"xx", "ax"}));
  // Failed items do not fix the batch's shape: a good item of any shape may follow them.
  EXPECT_EQ(Feeder(3).feed("xba"), (std::vector<std::string>{"xb", "a"}));
}

}  // namespace
}  // namespace visbone::pipeline
