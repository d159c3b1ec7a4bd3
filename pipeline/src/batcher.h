// The flow graph's batcher as a plain class (tested on its own in tests/pipeline/batcher_test.cpp): items
// arrive in input order and are grouped by pixel shape, one open group per shape, so a stream of mixed sizes
// (detector inputs, photos of several aspect ratios) still forms batches; images are never padded to a common
// size (BiT's GroupNorm takes its statistics over the whole map). A group is sent when it holds `batch_size`
// items, or when `window` inputs have arrived since its oldest item, whichever comes first, oldest group
// first; the graph's sequencer after the heads puts results back in input order.
//
// The window bounds how long an item may wait: every input from the oldest held one on is in flight (held
// here, or sent and waiting for it in the output sequencer), so the window must not exceed the graph's
// in-flight limit or the limiter would stop the inputs that could complete the group.
//
// Failed items ride along in the oldest open group (the next to be sent: they add no wait) and count towards
// its size; without an open group they open one that the next good item gives its shape.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "visbone/core/tensor.h"

namespace visbone::pipeline {

template <typename T>
class Batcher {
 public:
  // `good_shape(item)`: the pixel shape of a good item, nullopt for a failed one. `window` >= 1 (1 sends
  // every item at once).
  Batcher(std::size_t batch_size, std::size_t window,
          std::function<std::optional<Shape>(const T&)> good_shape)
      : batch_size_(std::max<std::size_t>(batch_size, 1)),
        window_(std::max<std::size_t>(window, 1)),
        good_shape_(std::move(good_shape)) {}

  // Adds the next item; returns the batches it completed, oldest first.
  std::vector<std::vector<T>> add(T item) {
    std::vector<std::vector<T>> done;
    const std::uint64_t index = added_++;
    const auto shape = good_shape_(item);
    auto group = groups_.begin();
    if (shape) {
      if (groups_.size() == 1 && !groups_.front().shape) {
        groups_.front().shape = shape;  // failed items only so far: this item gives the group its shape
      } else {
        group =
            std::find_if(groups_.begin(), groups_.end(), [&](const Group& g) { return g.shape == shape; });
      }
    }
    if (group == groups_.end()) group = groups_.insert(groups_.end(), Group{shape, {}, index});
    group->items.push_back(std::move(item));
    if (group->items.size() >= batch_size_) send(group, done);
    while (!groups_.empty() && index - groups_.front().first + 1 >= window_) send(groups_.begin(), done);
    return done;
  }

  // The open groups (maybe none) at the end of the input, oldest first.
  std::vector<std::vector<T>> finish() {
    std::vector<std::vector<T>> done;
    while (!groups_.empty()) send(groups_.begin(), done);
    return done;
  }

 private:
  struct Group {
    std::optional<Shape> shape;  // of its good items; unset while it holds failed items only
    std::vector<T> items;
    std::uint64_t first = 0;  // the position of its oldest item among all added
  };

  void send(typename std::vector<Group>::iterator group, std::vector<std::vector<T>>& done) {
    done.push_back(std::move(group->items));
    groups_.erase(group);
  }

  std::size_t batch_size_;
  std::size_t window_;
  std::function<std::optional<Shape>(const T&)> good_shape_;
  std::vector<Group> groups_;  // open groups, oldest first item first
  std::uint64_t added_ = 0;
};

}  // namespace visbone::pipeline
