// The flow graph's batcher as a plain class (tested on its own in tests/pipeline/batcher_test.cpp): items
// arrive in input order; consecutive good items of one pixel shape form a batch of up to `batch_size`.
// Failed items ride along in whatever batch is open (so a batch is always a contiguous run of inputs, which
// keeps the graph's in-flight limiter from starving the batcher) and count towards its size.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "visbone/core/tensor.h"

namespace visbone::pipeline {

template <typename T>
class Batcher {
 public:
  // `good_shape(item)`: the pixel shape of a good item, nullopt for a failed one.
  Batcher(std::size_t batch_size, std::function<std::optional<Shape>(const T&)> good_shape)
      : batch_size_(batch_size < 1 ? 1 : batch_size), good_shape_(std::move(good_shape)) {}

  // Adds the next item; returns the batches it completed, oldest first (none, one, or two when a new shape
  // closes the open batch and the item itself fills the next one).
  std::vector<std::vector<T>> add(T item) {
    std::vector<std::vector<T>> done;
    if (const auto shape = good_shape_(item)) {
      if (shape_ && *shape != *shape_) flush(done);
      shape_ = *shape;
    }
    pending_.push_back(std::move(item));
    if (pending_.size() >= batch_size_) flush(done);
    return done;
  }

  // The open batch (maybe empty) at the end of the input.
  std::vector<T> finish() {
    std::vector<std::vector<T>> done;
    flush(done);
    return done.empty() ? std::vector<T>{} : std::move(done.front());
  }

 private:
  void flush(std::vector<std::vector<T>>& done) {
    if (pending_.empty()) return;
    done.push_back(std::move(pending_));
    pending_.clear();
    shape_.reset();
  }

  std::size_t batch_size_;
  std::function<std::optional<Shape>(const T&)> good_shape_;
  std::vector<T> pending_;
  std::optional<Shape> shape_;  // of the open batch's good items, once it has one
};

}  // namespace visbone::pipeline
