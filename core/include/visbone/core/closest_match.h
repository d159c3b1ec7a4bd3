// Suggestions for misspelt names (config keys, component types, parameters): the nearest candidate by
// edit distance, so every "did you mean" in visbone agrees.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace visbone {

// Levenshtein distance (insertions, deletions, substitutions), case-sensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word`, ignoring case; on a tie, one that `word` begins ("top" -> "top_k").
// Empty when there are no candidates.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace visbone
