#include "visbone/core/process_memory.h"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <string>

namespace visbone {
namespace {

// A "Key:  1234 kB" line of /proc/self/status in MiB, or nothing.
double status_mib(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size())) / 1024.0;
  return -1;
}

}  // namespace

double current_rss_mib() {
  return std::max(status_mib("VmRSS:"), 0.0);
}

double peak_rss_mib() {
  if (const double hwm = status_mib("VmHWM:"); hwm >= 0) return hwm;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // KiB on Linux
}

}  // namespace visbone
