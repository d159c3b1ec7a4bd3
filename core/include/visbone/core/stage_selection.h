// Which stages a backbone returns: transformers' out_features / out_indices semantics (backbone_utils),
// with its error wording, shared by every backbone.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace visbone {

struct StageSelection {
  std::vector<std::string> out_features;  // stage names, in stage order
  std::vector<int> out_indices;           // as given (negative indices stay negative, like transformers)

  // The deepest selected position in stage_names (0 = stem); -1 when nothing is selected.
  int deepest(std::size_t num_stages) const;
};

// Validates and aligns a selection. Neither given: the last stage. Only one given: the other derived.
// Throws ConfigError with transformers' messages; two deliberate differences: an index below
// -len(stage_names) gets the "valid indices" error (transformers raises a bare IndexError), and
// `allow_empty = false` rejects an empty selection (transformers accepts it and returns no feature map).
StageSelection resolve_stage_selection(const std::vector<std::string>& stage_names,
                                       const std::optional<std::vector<std::string>>& out_features,
                                       const std::optional<std::vector<int>>& out_indices, bool allow_empty = false);

// Python-style list repr used in the messages: ['a', 'b'] and [1, 2].
std::string py_repr(const std::vector<std::string>& v);
std::string py_repr(const std::vector<int>& v);

}  // namespace visbone
