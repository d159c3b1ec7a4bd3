// Range and choice checks on a component's parameters, with messages naming the key and its line.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "visbone/registry/params.h"

namespace visbone::pipeline::detail {

// The value at `key`, which must lie in [lo, hi]; `fallback` (unchecked: it may mean "not given") when absent.
template <typename T>
T in_range(const registry::Params& p, std::string_view key, T fallback, T lo, T hi) {
  if (!p.has(key)) return fallback;
  const T v = p.get<T>(key);
  if (v < lo || v > hi) {
    const auto str = [](T x) {
      std::string s = std::to_string(x);
      if constexpr (std::is_floating_point_v<T>) s.erase(s.find_last_not_of('0') + 1);
      if (!s.empty() && s.back() == '.') s += '0';
      return s;
    };
    p.fail(key, "expected a value from " + str(lo) + " to " + str(hi) + ", found " + str(v));
  }
  return v;
}

// The string at `key` (or `fallback`), which must be one of `choices`.
inline std::string one_of(const registry::Params& p, std::string_view key, const std::string& fallback,
                          const std::vector<std::string>& choices) {
  const auto v = p.get<std::string>(key, fallback);
  if (std::find(choices.begin(), choices.end(), v) == choices.end()) {
    std::string list;
    for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
    p.fail(key, "'" + v + "' is not one of " + list);
  }
  return v;
}

}  // namespace visbone::pipeline::detail
