#include "yaml_fields.h"

#include <algorithm>
#include <sstream>

#include "visbone/core/closest_match.h"
#include "visbone/core/errors.h"
#include "visbone/yaml/yaml_scalars.h"

namespace visbone::pipeline::detail {

ConfigPlace place_of(const YAML::Node& node, const std::string& file) {
  ConfigPlace p;
  p.file = file;
  if (node.IsDefined()) {
    const YAML::Mark m = node.Mark();
    // Nodes built in code (not parsed) carry a null mark (-1).
    if (m.line >= 0) {
      p.line = m.line + 1;
      p.column = m.column + 1;
    }
  }
  return p;
}

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing (null)";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "'" + node.Scalar() + "'";
}

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string best = closest_match(word, candidates);
  if (best.empty()) return best;
  const std::size_t best_d = edit_distance(word, best);
  // Beyond this the "suggestion" would be a guess, which misleads more than it helps...
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  if (best_d <= limit) return best;
  // ...unless the word is the start of a key ("batch" for "batch_size").
  if (word.size() >= 3)
    for (const auto& c : candidates)
      if (c.starts_with(word)) return c;
  return std::string();
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

// Scalars are typed as every visbone YAML reader types them: YAML 1.2's core schema.
using yaml::scalar_integer;

MapReader::MapReader(const YAML::Node& node, std::string file, std::string context)
    : node_(node), file_(std::move(file)), context_(std::move(context)) {
  if (!node.IsMap()) {
    const std::string what = context_.empty() ? "the config" : context_;
    fail_at(node, what + ": expected a mapping of keys, found " + describe(node));
  }
  for (const auto& kv : node) {
    if (!kv.first.IsScalar())
      fail_at(kv.first, key_path("") + "keys must be plain names, found " + describe(kv.first));
    const std::string key = kv.first.Scalar();
    for (const auto& [k, n] : keys_)
      if (k == key)
        fail_at(kv.first, "key '" + key + "' is given twice" + (context_.empty() ? "" : " in " + context_) +
                              " (first at line " + std::to_string(place_of(n, file_).line) + ")");
    keys_.emplace_back(key, kv.first);
  }
}

void MapReader::check_keys(const std::vector<std::string>& allowed) const {
  for (const auto& [key, key_node] : keys_) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string msg =
        "unknown key '" + key + "'" + (context_.empty() ? " at the top level" : " in " + context_);
    if (const auto near = closest(key, allowed); !near.empty()) msg += "; did you mean '" + near + "'?";
    msg += " (valid keys: " + join(allowed) + ")";
    fail_at(key_node, msg);
  }
}

bool MapReader::has(std::string_view key) const {
  return std::any_of(keys_.begin(), keys_.end(), [&](const auto& k) { return k.first == key; });
}

YAML::Node MapReader::get(std::string_view key) const {
  if (!has(key)) return YAML::Node(YAML::NodeType::Undefined);
  return node_[std::string(key)];
}

ConfigPlace MapReader::place(std::string_view key) const {
  return has(key) ? place_of(get(key), file_) : place();
}

std::string MapReader::key_path(std::string_view key) const {
  if (key.empty()) return context_.empty() ? std::string() : context_ + ": ";
  return context_.empty() ? std::string(key) : context_ + "." + std::string(key);
}

void MapReader::fail_at(const YAML::Node& at, const std::string& message) const {
  throw ConfigError(place_of(at, file_).str() + ": " + message);
}

void MapReader::fail_value(std::string_view key, const std::string& expected) const {
  const YAML::Node v = get(key);
  fail_at(v, key_path(key) + ": expected " + expected + ", found " + describe(v));
}

void MapReader::fail_missing(std::string_view key, const std::string& expected) const {
  fail_at(node_, (context_.empty() ? std::string("the config") : context_) + ": missing required key '" +
                     std::string(key) + "' (" + expected + ")");
}

std::optional<std::string> MapReader::string(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  const YAML::Node v = get(key);
  if (!v.IsScalar() || v.Scalar().empty()) fail_value(key, "a non-empty string");
  return v.Scalar();
}

std::string MapReader::required_string(std::string_view key, const std::string& expected) const {
  if (!has(key)) fail_missing(key, expected);
  return *string(key);
}

std::optional<std::int64_t> MapReader::integer(std::string_view key, std::int64_t min,
                                               std::int64_t max) const {
  if (!has(key)) return std::nullopt;
  const auto v = scalar_integer(get(key));
  if (!v || *v < min || *v > max)
    fail_value(key, "an integer from " + std::to_string(min) + " to " + std::to_string(max));
  return v;
}

std::optional<double> MapReader::number(std::string_view key, double min, double max) const {
  if (!has(key)) return std::nullopt;
  const auto v = yaml::scalar_number(get(key));
  if (!v || *v < min || *v > max) {
    const auto fmt = [](double x) {
      std::ostringstream o;
      o << x;
      return o.str();
    };
    fail_value(key, "a number from " + fmt(min) + " to " + fmt(max));
  }
  return v;
}

std::optional<bool> MapReader::boolean(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  const auto b = yaml::scalar_bool(get(key));
  if (!b) fail_value(key, "true or false");
  return b;
}

std::optional<std::vector<std::string>> MapReader::string_list(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  const YAML::Node n = get(key);
  // A single name is accepted for a one-element list, as YAML users often write `out_features: stage4`.
  if (n.IsScalar() && !n.Scalar().empty()) return std::vector<std::string>{n.Scalar()};
  if (!n.IsSequence()) fail_value(key, "a list of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar() || n[i].Scalar().empty())
      fail_at(n[i], key_path(key) + "[" + std::to_string(i) + "]: expected a non-empty string, found " +
                        describe(n[i]));
    out.push_back(n[i].Scalar());
  }
  return out;
}

std::optional<std::vector<int>> MapReader::int_list(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  const YAML::Node n = get(key);
  if (const auto one = scalar_integer(n)) {
    if (*one < -1000 || *one > 1000) fail_value(key, "a list of integers");
    return std::vector<int>{static_cast<int>(*one)};
  }
  if (!n.IsSequence()) fail_value(key, "a list of integers");
  std::vector<int> out;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const auto v = scalar_integer(n[i]);
    if (!v || *v < -1000 || *v > 1000)
      fail_at(n[i],
              key_path(key) + "[" + std::to_string(i) + "]: expected an integer, found " + describe(n[i]));
    out.push_back(static_cast<int>(*v));
  }
  return out;
}

std::optional<std::string> MapReader::choice(std::string_view key,
                                             const std::vector<std::string>& choices) const {
  const auto v = string(key);
  if (!v) return v;
  if (std::find(choices.begin(), choices.end(), *v) != choices.end()) return v;
  std::string msg = key_path(key) + ": '" + *v + "' is not one of " + join(choices);
  if (const auto near = closest(*v, choices); !near.empty()) msg += "; did you mean '" + near + "'?";
  fail_at(get(key), msg);
}

void require_path(const std::filesystem::path& path, const ConfigPlace& place, const std::string& key,
                  const std::string& hint) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return;
  throw ConfigError(place.str() + ": " + key + ": " +
                    std::filesystem::absolute(path, ec).lexically_normal().string() + " does not exist" + hint);
}

}  // namespace visbone::pipeline::detail
