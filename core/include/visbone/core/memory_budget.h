// A cap on the memory that reading one input may take, for what grows with the input's content (a parsed
// JSON document, a tensor table): a small or hostile file cannot make a reader allocate without bound, and
// the reader says which limit was hit instead of running the process out of memory.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace visbone {

class MemoryBudget {
 public:
  // `what` names the input and the setting in the error, e.g. "model.safetensors: the header" and
  // "SafetensorsLimits::max_memory_bytes".
  MemoryBudget(std::uint64_t limit, std::string what, std::string setting);

  // Records `bytes` more in use. FormatError "<what> needs more than <limit> bytes of memory (<setting>)"
  // when that would go over the limit (nothing is recorded then).
  void charge(std::uint64_t bytes) const;
  void release(std::uint64_t bytes) const noexcept;

  std::uint64_t used() const { return state_->used.load(std::memory_order_relaxed); }
  std::uint64_t peak() const { return state_->peak.load(std::memory_order_relaxed); }
  std::uint64_t limit() const { return state_->limit; }

 private:
  // Shared so that copies (such as the one a JSON document's allocator keeps) count against one total.
  struct State {
    std::uint64_t limit = 0;
    std::string what, setting;
    std::atomic<std::uint64_t> used{0}, peak{0};
  };
  std::shared_ptr<State> state_;
};

}  // namespace visbone
