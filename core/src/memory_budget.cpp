#include "visbone/core/memory_budget.h"

#include "visbone/core/errors.h"

namespace visbone {

MemoryBudget::MemoryBudget(std::uint64_t limit, std::string what, std::string setting)
    : state_(std::make_shared<State>()) {
  state_->limit = limit;
  state_->what = std::move(what);
  state_->setting = std::move(setting);
}

void MemoryBudget::charge(std::uint64_t bytes) const {
  State& s = *state_;
  std::uint64_t used = s.used.load(std::memory_order_relaxed);
  std::uint64_t next;
  do {
    if (bytes > s.limit || used > s.limit - bytes)
      throw FormatError(s.what + " needs more than " + std::to_string(s.limit) +
                        " bytes of memory (the limit, " + s.setting + ")");
    next = used + bytes;
  } while (!s.used.compare_exchange_weak(used, next, std::memory_order_relaxed));
  std::uint64_t peak = s.peak.load(std::memory_order_relaxed);
  while (next > peak && !s.peak.compare_exchange_weak(peak, next, std::memory_order_relaxed)) {
  }
}

void MemoryBudget::release(std::uint64_t bytes) const noexcept {
  state_->used.fetch_sub(bytes, std::memory_order_relaxed);
}

}  // namespace visbone
