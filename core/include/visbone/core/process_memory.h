// This process's memory as the kernel counts it, in MiB (1024 x 1024 bytes): what is resident now and the
// most that was resident at any time. For `visbone bench`, the benchmarks and the memory tests.
#pragma once

namespace visbone {

// VmRSS of /proc/self/status; 0 when it cannot be read (not Linux).
double current_rss_mib();
// getrusage(RUSAGE_SELF)'s ru_maxrss: the peak resident set of the process so far.
double peak_rss_mib();

}  // namespace visbone
