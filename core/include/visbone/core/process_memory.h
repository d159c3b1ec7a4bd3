// This process's memory as the kernel counts it, in MiB (1024 x 1024 bytes): what is resident now and the
// most that was resident at any time. For `visbone bench`, the benchmarks and the memory tests.
#pragma once

namespace visbone {

// VmRSS of /proc/self/status; 0 when it cannot be read (not Linux).
double current_rss_mib();
// VmHWM of /proc/self/status: the peak resident set of this program so far. Not getrusage's ru_maxrss, which
// survives exec: a program started by a large one (bench/compare.py with PyTorch loaded) reported its
// parent's peak. ru_maxrss only where /proc is missing.
double peak_rss_mib();

}  // namespace visbone
