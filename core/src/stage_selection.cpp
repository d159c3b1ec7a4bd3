#include "visbone/core/stage_selection.h"

#include <algorithm>
#include <set>

#include "visbone/core/errors.h"

namespace visbone {

std::string py_repr(const std::vector<std::string>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", '" : "'") + v[i] + "'";
  return s + "]";
}

std::string py_repr(const std::vector<int>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

namespace {

std::string py_tuple(const std::vector<int>& v) {
  if (v.size() == 1) return "(" + std::to_string(v[0]) + ",)";
  std::string s = py_repr(v);
  return "(" + s.substr(1, s.size() - 2) + ")";
}

void check_features(const std::vector<std::string>& stage_names, const std::vector<std::string>& features) {
  for (const auto& f : features)
    if (std::find(stage_names.begin(), stage_names.end(), f) == stage_names.end())
      throw ConfigError("out_features must be a subset of stage_names: " + py_repr(stage_names) + " got " +
                        py_repr(features));
  if (std::set<std::string>(features.begin(), features.end()).size() != features.size())
    throw ConfigError("out_features must not contain any duplicates, got " + py_repr(features));
  std::vector<std::string> sorted;
  for (const auto& s : stage_names)
    if (std::find(features.begin(), features.end(), s) != features.end()) sorted.push_back(s);
  if (sorted != features)
    throw ConfigError("out_features must be in the same order as stage_names, expected " + py_repr(sorted) +
                      " got " + py_repr(features));
}

std::vector<int> check_indices(const std::vector<std::string>& stage_names, const std::vector<int>& indices) {
  const int n = static_cast<int>(stage_names.size());
  std::vector<int> positive;
  for (int i : indices) {
    if (i < -n || i >= n)
      throw ConfigError("out_indices must be valid indices for stage_names " + py_repr(stage_names) + ", got " +
                        py_repr(indices));
    positive.push_back(i < 0 ? i + n : i);
  }
  if (std::set<int>(positive.begin(), positive.end()).size() != positive.size())
    throw ConfigError("out_indices must not contain any duplicates, got " + py_repr(indices) + "(equivalent to " +
                      py_tuple(positive) + "))");
  if (!std::is_sorted(positive.begin(), positive.end())) {
    std::vector<std::pair<int, int>> pairs;
    for (std::size_t k = 0; k < indices.size(); ++k) pairs.emplace_back(positive[k], indices[k]);
    std::stable_sort(pairs.begin(), pairs.end(), [](auto& a, auto& b) { return a.first < b.first; });
    std::vector<int> expected;
    for (auto& p : pairs) expected.push_back(p.second);
    throw ConfigError("out_indices must be in the same order as stage_names, expected " + py_repr(expected) +
                      " got " + py_repr(indices));
  }
  return positive;
}

}  // namespace

int StageSelection::deepest(std::size_t num_stages) const {
  int d = -1;
  for (int i : out_indices) d = std::max(d, i < 0 ? i + static_cast<int>(num_stages) : i);
  return d;
}

StageSelection resolve_stage_selection(const std::vector<std::string>& stage_names,
                                       const std::optional<std::vector<std::string>>& out_features,
                                       const std::optional<std::vector<int>>& out_indices, bool allow_empty) {
  if (out_features) check_features(stage_names, *out_features);
  std::vector<int> positive;
  if (out_indices) positive = check_indices(stage_names, *out_indices);
  if (out_features && out_indices) {
    if (out_features->size() != out_indices->size())
      throw ConfigError("out_features and out_indices should have the same length if both are set");
    for (std::size_t k = 0; k < positive.size(); ++k)
      if ((*out_features)[k] != stage_names[static_cast<std::size_t>(positive[k])])
        throw ConfigError("out_features and out_indices should correspond to the same stages if both are set");
  }

  StageSelection s;
  if (!out_features && !out_indices) {
    s.out_features = {stage_names.back()};
    s.out_indices = {static_cast<int>(stage_names.size()) - 1};
  } else if (out_features && !out_indices) {
    s.out_features = *out_features;
    for (const auto& f : *out_features)
      s.out_indices.push_back(
          static_cast<int>(std::find(stage_names.begin(), stage_names.end(), f) - stage_names.begin()));
  } else if (!out_features) {
    s.out_indices = *out_indices;
    for (int p : positive) s.out_features.push_back(stage_names[static_cast<std::size_t>(p)]);
  } else {
    s.out_features = *out_features;
    s.out_indices = *out_indices;
  }
  if (!allow_empty && s.out_features.empty())
    throw ConfigError("the stage selection is empty: give at least one stage in out_features or out_indices (from " +
                      py_repr(stage_names) + ")");
  return s;
}

}  // namespace visbone
