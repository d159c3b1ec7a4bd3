// OpenMP's thread count is a per-thread setting (the nthreads-var ICV of the calling thread), and oneDNN's
// CPU runtime reads it when a pass starts; so `threads` is set on the thread that makes each call, for the
// duration of the call, and the caller's own setting is put back afterwards. The one way visbone sets it (the
// façade, the pipeline's backbone node, `visbone bench`). Header-only: what includes it links OpenMP.
#pragma once

#include <omp.h>

namespace visbone {

class OmpThreadsScope {
 public:
  explicit OmpThreadsScope(int threads) : active_(threads > 0) {
    if (!active_) return;
    previous_ = omp_get_max_threads();
    omp_set_num_threads(threads);
  }
  ~OmpThreadsScope() {
    if (active_) omp_set_num_threads(previous_);
  }
  OmpThreadsScope(const OmpThreadsScope&) = delete;
  OmpThreadsScope& operator=(const OmpThreadsScope&) = delete;

 private:
  bool active_;
  int previous_ = 0;
};

}  // namespace visbone
