#include "progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace visbone::app {
namespace {

std::string fixed1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::optional<std::string> eta_text(const ProgressState& p) {
  const double rate = p.seconds > 0 ? static_cast<double>(p.done) / p.seconds : 0.0;
  if (!p.total || p.done < kItemsBeforeEta || rate <= 0) return std::nullopt;
  return clock_text(static_cast<double>(*p.total - std::min(p.done, *p.total)) / rate);
}

}  // namespace

double images_per_second(const ProgressState& p) {
  const std::uint64_t ok = p.done - std::min(p.failed, p.done);
  return p.seconds > 0 ? static_cast<double>(ok) / p.seconds : 0.0;
}

std::string clock_text(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  return buf;
}

std::string bar_text(const ProgressState& p, int columns) {
  const std::size_t room = static_cast<std::size_t>(std::max(columns - 1, 1));  // the last column wraps
  std::string count =
      p.total ? std::to_string(p.done) + "/" + std::to_string(*p.total) : std::to_string(p.done) + " items";
  if (const auto eta = eta_text(p); eta && count.size() + 5 + eta->size() <= room) count += " ETA " + *eta;
  // Parts in order of importance; the least important go first when the line is too long.
  std::vector<std::string> extras;
  extras.push_back(fixed1(images_per_second(p)) + " img/s");
  if (p.failed) extras.push_back(std::to_string(p.failed) + " failed");
  const auto join = [&](std::size_t n) {
    std::string s = count;
    for (std::size_t i = 0; i < n; ++i) s += "  " + extras[i];
    return s;
  };
  std::size_t n = extras.size();
  while (n > 0 && join(n).size() > room) --n;
  std::string text = join(n);
  if (text.size() > room) return text.substr(0, room);
  // The bar takes what is left, up to 30 cells; below 10 it is not worth showing.
  if (p.total && *p.total > 0) {
    const std::size_t cells = std::min<std::size_t>(30, room - text.size() >= 3 ? room - text.size() - 3 : 0);
    if (cells >= 10) {
      const double f = std::min(1.0, static_cast<double>(p.done) / static_cast<double>(*p.total));
      const auto full = static_cast<std::size_t>(f * static_cast<double>(cells));
      // A std::string first, not "literal" + std::string&&: GCC 12 warns falsely (-Wrestrict) on the latter.
      text = std::string("[") + std::string(full, '#') + std::string(cells - full, '.') + "] " + text;
    }
  }
  return text;
}

std::string progress_line(const ProgressState& p) {
  std::ostringstream o;
  o << "progress: " << p.done;
  if (p.total)
    o << "/" << *p.total << " ("
      << fixed1(*p.total ? 100.0 * static_cast<double>(p.done) / static_cast<double>(*p.total) : 100.0) << "%)";
  o << " items, " << p.failed << " failed, " << fixed1(images_per_second(p)) << " images/s, elapsed "
    << clock_text(p.seconds);
  if (const auto eta = eta_text(p)) o << ", ETA " << *eta;
  return o.str();
}

int terminal_columns() {
  winsize ws{};
  if (::isatty(STDERR_FILENO) && ::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS")) {
    const int n = std::atoi(c);
    if (n > 0) return n;
  }
  return 80;
}

}  // namespace visbone::app
