// What `visbone run` shows on stderr while it works: a bar redrawn in place on a terminal (never wider than
// the terminal, so it does not wrap), or a plain line every few seconds for logs. Pure text functions, so the
// layout is testable without a terminal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace visbone::app {

// What the progress display knows at one moment.
struct ProgressState {
  std::uint64_t done = 0, failed = 0;
  std::optional<std::uint64_t> total;
  double seconds = 0;
};

// Items finished before an ETA is shown: the first ones include warm-up (primitive creation, first
// allocations) and would give a wild estimate.
inline constexpr std::uint64_t kItemsBeforeEta = 5;

// Images per second over the inputs that went through (failed ones cost little and would inflate it).
double images_per_second(const ProgressState& p);
// "1:05" or "1:02:03".
std::string clock_text(double seconds);
// The bar's text (without "\r" or escape codes), at most `columns - 1` characters: the bar shrinks, then the
// optional parts go, so the terminal never wraps it.
std::string bar_text(const ProgressState& p, int columns);
// A plain progress line for logs.
std::string progress_line(const ProgressState& p);
// The terminal's width: of stderr when it is a terminal, else $COLUMNS, else 80.
int terminal_columns();

}  // namespace visbone::app
