// The flow graph's sink writer keeps the sinks' promise of input order with this plain class (tested on its
// own in tests/pipeline/output_sequencer_test.cpp): items leave the head join in any order (batches finish
// out of order when heads run concurrently); each is held until every item before it has gone, then they go
// on in input order. Not thread-safe: the node that owns it is serial.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "visbone/core/errors.h"

namespace visbone::pipeline {

template <typename T>
class OutputSequencer {
 public:
  // `seq(item)` numbers an item; `first` is the number of the first one (a shard starts past 0).
  OutputSequencer(std::uint64_t first, std::function<std::uint64_t(const T&)> seq)
      : next_(first), seq_(std::move(seq)) {}

  // Takes an arrival; returns the items whose turn has come, in input order (none while an earlier one is
  // missing; the arrival and those it unblocked otherwise). Error for a number that already went or is
  // already waiting: that would be an input delivered twice.
  std::vector<T> put(T item) {
    const std::uint64_t n = seq_(item);
    if (n < next_ || waiting_.count(n))
      throw Error("output sequencer: item " + std::to_string(n) +
                  " arrived twice (next expected: " + std::to_string(next_) + ")");
    waiting_.emplace(n, std::move(item));
    std::vector<T> ready;
    for (auto it = waiting_.begin(); it != waiting_.end() && it->first == next_; it = waiting_.erase(it)) {
      ready.push_back(std::move(it->second));
      ++next_;
    }
    return ready;
  }

  // Items held for an earlier one (none at the end of a run that delivered every input).
  std::size_t waiting() const { return waiting_.size(); }
  std::uint64_t next() const { return next_; }

 private:
  std::uint64_t next_;
  std::function<std::uint64_t(const T&)> seq_;
  std::map<std::uint64_t, T> waiting_;
};

}  // namespace visbone::pipeline
