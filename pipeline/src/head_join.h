// The flow graph's head join as a plain class (tested on its own in tests/pipeline/head_join_test.cpp): the
// heads run on a batch in parallel and report here in any order; the last to report learns it is the last,
// and the batch's items then get every head's result in config order, or, when a head failed or gave other
// than one result per item, the error of the first such head (in config order) naming it.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "visbone/core/head.h"

namespace visbone::pipeline {

class HeadJoin {
 public:
  // `heads`: the heads' names in config order; `items`: how many items each head's results must cover.
  HeadJoin(std::vector<std::string> heads, std::size_t items);

  // Head `head`'s results, one per item in order; or its failure. Thread-safe; each head reports once
  // (Error for a second report or an index out of range). Returns true for the report that completes the
  // join: the caller then owns the results.
  bool put(std::size_t head, std::vector<HeadResult> results);
  bool fail(std::size_t head, std::string message);

  struct Failure {
    std::size_t index = 0;  // the head's, in config order
    std::string head;       // its name
    std::string message;    // what it threw, or "gave 3 results for a batch of 4"
  };
  // Once complete: the first head in config order that failed or did not give one result per item.
  // Error when called before every head reported.
  std::optional<Failure> failure() const;
  // Once complete and without failure: item `item`'s results, in head order (moved out).
  std::vector<HeadResult> take(std::size_t item);

 private:
  bool report(std::size_t head, std::optional<std::vector<HeadResult>> results, std::string message);
  void require_complete(const char* what) const;

  std::vector<std::string> heads_;
  std::size_t items_;
  std::mutex mutex_;
  std::size_t reported_ = 0;
  std::vector<bool> seen_;
  std::vector<std::optional<std::vector<HeadResult>>> results_;  // per head; nullopt when it failed
  std::vector<std::string> errors_;                              // per head
};

}  // namespace visbone::pipeline
