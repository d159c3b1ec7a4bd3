#include "visbone/registry/params.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <optional>

#include "visbone/core/errors.h"
#include "visbone/yaml/yaml_limits.h"
#include "visbone/yaml/yaml_scalars.h"

namespace visbone::registry {
namespace {

using yaml::mark_suffix;

std::string kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "'" + n.Scalar() + "'";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Undefined:
      return "nothing";
  }
  return "?";
}

template <typename T>
const char* type_name();
template <>
const char* type_name<bool>() {
  return "true or false";
}
template <>
const char* type_name<int>() {
  return "an integer";
}
template <>
const char* type_name<std::int64_t>() {
  return "an integer";
}
template <>
const char* type_name<double>() {
  return "a number";
}
template <>
const char* type_name<std::string>() {
  return "a string";
}
template <>
const char* type_name<std::vector<std::string>>() {
  return "a list of strings";
}
template <>
const char* type_name<std::vector<int>>() {
  return "a list of integers";
}
template <>
const char* type_name<std::vector<double>>() {
  return "a list of numbers";
}

// A scalar typed by YAML's core schema (visbone/yaml/yaml_scalars.h), as every visbone YAML reader types it.
template <typename T>
T scalar_as(const YAML::Node& n) {
  std::optional<T> v;
  if constexpr (std::is_same_v<T, bool>) {
    v = yaml::scalar_bool(n);
  } else if constexpr (std::is_same_v<T, int>) {
    const auto i = yaml::scalar_integer(n);
    if (i && *i >= std::numeric_limits<int>::min() && *i <= std::numeric_limits<int>::max())
      v = static_cast<int>(*i);
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    v = yaml::scalar_integer(n);
  } else if constexpr (std::is_same_v<T, double>) {
    v = yaml::scalar_number(n);
  } else {
    if (n.IsScalar()) v = n.Scalar();
  }
  if (!v) throw YAML::BadConversion(n.Mark());
  return *v;
}

}  // namespace

Params::Params() : node_(YAML::NodeType::Map), asked_(std::make_shared<std::set<std::string>>()) {}

Params::Params(YAML::Node node, std::string where, std::filesystem::path base_dir)
    : node_(std::move(node)),
      where_(std::move(where)),
      base_dir_(std::move(base_dir)),
      asked_(std::make_shared<std::set<std::string>>()) {
  if (!node_ || node_.IsNull()) node_ = YAML::Node(YAML::NodeType::Map);
  if (!node_.IsMap())
    throw ConfigError(where_ + mark_suffix(node_.Mark()) +
                      ": expected a mapping of parameters (key: value), got " + kind_of(node_));
}

Params Params::parse(std::string_view yaml, std::string where, std::filesystem::path base_dir) {
  YAML::Node node = yaml::load_yaml(yaml, where);
  return Params(std::move(node), std::move(where), std::move(base_dir));
}

std::string Params::where(std::string_view key) const {
  const YAML::Node v = node_[std::string(key)];
  return where_ + (v ? mark_suffix(v.Mark()) : mark_suffix(node_.Mark())) + ": " + std::string(key);
}

bool Params::has(std::string_view key) const {
  asked_->insert(std::string(key));
  const YAML::Node v = node_[std::string(key)];
  return v && !v.IsNull();
}

void Params::fail(std::string_view key, const std::string& message) const {
  throw ConfigError(where(key) + ": " + message);
}

template <typename T>
T Params::get(std::string_view key) const {
  if (!has(key)) fail(key, std::string("is required (") + type_name<T>() + ")");
  const YAML::Node v = node_[std::string(key)];
  try {
    if constexpr (std::is_same_v<T, std::vector<std::string>> || std::is_same_v<T, std::vector<int>> ||
                  std::is_same_v<T, std::vector<double>>) {
      if (!v.IsSequence()) throw YAML::BadConversion(v.Mark());
      T out;
      for (const auto& e : v) out.push_back(scalar_as<typename T::value_type>(e));
      return out;
    } else {
      return scalar_as<T>(v);
    }
  } catch (const YAML::BadConversion&) {
    fail(key, "has value " + kind_of(v) + ", expected " + type_name<T>());
  }
}

template bool Params::get<bool>(std::string_view) const;
template int Params::get<int>(std::string_view) const;
template std::int64_t Params::get<std::int64_t>(std::string_view) const;
template double Params::get<double>(std::string_view) const;
template std::string Params::get<std::string>(std::string_view) const;
template std::vector<std::string> Params::get<std::vector<std::string>>(std::string_view) const;
template std::vector<int> Params::get<std::vector<int>>(std::string_view) const;
template std::vector<double> Params::get<std::vector<double>>(std::string_view) const;

std::filesystem::path Params::path(std::string_view key) const {
  const std::filesystem::path p = get<std::string>(key);
  if (p.empty()) fail(key, "is an empty path");
  return (p.is_relative() && !base_dir_.empty() ? base_dir_ / p : p).lexically_normal();
}

Params Params::child(std::string_view key) const {
  if (!has(key)) fail(key, "is required (a mapping)");
  const YAML::Node v = node_[std::string(key)];
  if (!v.IsMap()) fail(key, "has value " + kind_of(v) + ", expected a mapping");
  return Params(v, where_ + "." + std::string(key), base_dir_);
}

boost::json::value Params::json(std::string_view key) const {
  if (!has(key)) fail(key, "is required");
  return yaml::yaml_to_json(node_[std::string(key)], where(key));
}

std::vector<std::string> Params::unread() const {
  std::vector<std::string> keys;
  for (const auto& kv : node_) {
    const auto k = kv.first.Scalar();
    if (k != "type" && !asked_->count(k)) keys.push_back(k);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

void Params::check_all_read(const std::string& component) const {
  const auto unknown = unread();
  if (unknown.empty()) return;
  std::vector<std::string> known;
  for (const auto& k : *asked_)
    if (k != "type") known.push_back(k);
  std::string msg = "unknown parameter '" + unknown.front() + "' for " + component;
  if (const auto best = closest_match(unknown.front(), known); !best.empty())
    msg += "; closest match: '" + best + "'";
  if (!known.empty()) {
    msg += "; it takes: ";
    for (std::size_t i = 0; i < known.size(); ++i) msg += (i ? ", " : "") + known[i];
  } else {
    msg += "; it takes no parameters";
  }
  fail(unknown.front(), msg);
}

}  // namespace visbone::registry
