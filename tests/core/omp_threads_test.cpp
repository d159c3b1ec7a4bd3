// OmpThreadsScope: the one way visbone sets OpenMP's thread count, for a scope, restoring the caller's.
#include "visbone/core/omp_threads.h"

#include <gtest/gtest.h>

namespace visbone {
namespace {

TEST(OmpThreadsScope, SetsTheCountForTheScopeAndRestoresIt) {
  omp_set_num_threads(3);
  {
    const OmpThreadsScope scope(1);
    EXPECT_EQ(omp_get_max_threads(), 1);
  }
  EXPECT_EQ(omp_get_max_threads(), 3);
  {
    const OmpThreadsScope scope(0);  // 0: leave OpenMP's setting alone
    EXPECT_EQ(omp_get_max_threads(), 3);
  }
  EXPECT_EQ(omp_get_max_threads(), 3);
}

}  // namespace
}  // namespace visbone
