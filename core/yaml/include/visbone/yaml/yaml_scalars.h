// How every visbone YAML reader types a scalar: YAML 1.2's core schema, whatever yaml-cpp's own
// conversions accept. `true`/`false` (and True/TRUE/False/FALSE) are booleans; `yes`, `no`, `on`, `off`
// stay strings (YAML 1.1 read them as booleans; 1.2 does not, and neither does Python's ruamel in 1.2
// mode); `~`, `null` and an empty plain scalar are null; decimal integers and floats are numbers. A quoted
// scalar is always a string. yaml_to_json applies the same rules to a whole tree.
#pragma once

#include <yaml-cpp/yaml.h>

#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace visbone::yaml {

// ":LINE:COLUMN" (1-based) of a node's mark, or "" when the node has none.
std::string mark_suffix(const YAML::Mark& mark);

// The scalar as a core-schema boolean / integer / finite number; nullopt when it is not one (including
// quoted scalars and non-scalars).
std::optional<bool> scalar_bool(const YAML::Node& node);
std::optional<std::int64_t> scalar_integer(const YAML::Node& node);
std::optional<double> scalar_number(const YAML::Node& node);

// A YAML tree as JSON, scalars typed as above. `where` names the tree in messages (ConfigError for a key
// that is not a scalar, or a number out of range). When `marks` is given, it receives the mark of every
// value by its dotted path ("a.b", "list[2]"), so a later check of the JSON can point at the YAML line.
boost::json::value yaml_to_json(const YAML::Node& node, const std::string& where,
                                std::map<std::string, YAML::Mark>* marks = nullptr);

}  // namespace visbone::yaml
