// Busy time per flow-graph stage, summed over the workers that ran it (the summary's "time per stage").
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace visbone::pipeline {

using Clock = std::chrono::steady_clock;

enum Stage { kSource, kDecode, kPreprocess, kBackbone, kHeads, kSinks, kStages };
constexpr const char* kStageNames[kStages] = {"source", "decode", "preprocess", "backbone", "heads", "sinks"};

struct Timers {
  std::atomic<std::int64_t> ns[kStages] = {};
};

class ScopedTimer {
 public:
  ScopedTimer(Timers& t, Stage s) : slot_(t.ns[s]), start_(Clock::now()) {}
  ~ScopedTimer() {
    slot_ += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count();
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  std::atomic<std::int64_t>& slot_;
  Clock::time_point start_;
};

}  // namespace visbone::pipeline
