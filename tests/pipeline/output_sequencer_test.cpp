// The sink writer's ordering on its own: whatever order items leave the head join in, they go on to the
// sinks in input order, starting at the run's (or shard's) first item, and none is delivered twice.
#include "output_sequencer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace visbone::pipeline {
namespace {

using Seq = OutputSequencer<std::uint64_t>;
Seq numbers(std::uint64_t first) {
  return Seq(first, [](const std::uint64_t& n) { return n; });
}

TEST(OutputSequencer, HoldsEarlyArrivalsUntilTheirTurn) {
  Seq s = numbers(0);
  EXPECT_TRUE(s.put(2).empty());
  EXPECT_TRUE(s.put(1).empty());
  EXPECT_EQ(s.waiting(), 2u);
  EXPECT_EQ(s.put(0), (std::vector<std::uint64_t>{0, 1, 2}));
  EXPECT_EQ(s.put(3), (std::vector<std::uint64_t>{3}));
  EXPECT_TRUE(s.put(5).empty());
  EXPECT_EQ(s.put(4), (std::vector<std::uint64_t>{4, 5}));
  EXPECT_EQ(s.waiting(), 0u);
  EXPECT_EQ(s.next(), 6u);
}

TEST(OutputSequencer, AnyArrivalOrderLeavesInInputOrder) {
  // A shard's items are numbered from its first input, not from 0.
  std::vector<std::uint64_t> arrivals(200);
  std::iota(arrivals.begin(), arrivals.end(), 1000);
  std::shuffle(arrivals.begin(), arrivals.end(), std::mt19937(7));
  Seq s = numbers(1000);
  std::vector<std::uint64_t> out;
  for (const auto n : arrivals)
    for (const auto r : s.put(n)) out.push_back(r);
  std::vector<std::uint64_t> expected(200);
  std::iota(expected.begin(), expected.end(), 1000);
  EXPECT_EQ(out, expected);
  EXPECT_EQ(s.waiting(), 0u);
}

TEST(OutputSequencer, AnItemArrivingTwiceIsAnError) {
  Seq s = numbers(0);
  EXPECT_EQ(s.put(0).size(), 1u);
  EXPECT_THROW(s.put(0), Error);  // already delivered
  EXPECT_TRUE(s.put(3).empty());
  EXPECT_THROW(s.put(3), Error);  // already waiting
}

}  // namespace
}  // namespace visbone::pipeline
