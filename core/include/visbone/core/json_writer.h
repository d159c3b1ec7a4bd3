// Writing JSON for people and tools: every JSON visbone outputs (jsonl records, summaries, inspect, bench,
// convert's config.json) goes through to_json_text, so numbers read the same everywhere.
//
// Numbers are written as Python's json module writes them: the shortest text that reads back to the same
// value (0.99987954, 66.76, 1e-08, 0.0, 1e+16), fixed notation for decimal exponents -4..15, exponent form
// with at least two digits otherwise. A double that is exactly a float32 value (everything computed in
// float32: scores, logits, embeddings) is written at float32 precision: the shortest text that reads back
// to that float32, not the 17 digits of its double. Integers are written as integers. Non-finite numbers,
// which JSON cannot hold, are written as null.
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace visbone {

enum class JsonStyle {
  compact,  // one line, no spaces: {"a":[1,2],"b":0.5}
  pretty,   // two-space indentation, one key per line; arrays of numbers, strings, booleans and nulls
            // stay on one line: "depths": [3, 4, 6, 3]
};

// The text of `value` (no trailing newline).
std::string to_json_text(const boost::json::value& value, JsonStyle style = JsonStyle::compact);
// One number as to_json_text writes it.
std::string json_number_text(double number);

}  // namespace visbone
