#include "visbone/yaml/yaml_scalars.h"

#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "visbone/core/errors.h"

namespace visbone::yaml {

namespace {

enum class Number { integer, real };

// Whether `s` is a decimal integer ([-+]?[0-9]+) or a float
// ([-+]?(.[0-9]+|[0-9]+(.[0-9]*)?)([eE][-+]?[0-9]+)?) in YAML's core schema; nullopt for anything else.
// (Hand-written: libstdc++'s <regex> warns under the sanitizers.)
std::optional<Number> core_schema_number(const std::string& s) {
  std::size_t i = 0;
  auto digits = [&] {
    const std::size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  const std::size_t whole = digits();
  std::size_t fraction = 0;
  bool real = false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    fraction = digits();
    real = true;
  }
  if (whole == 0 && fraction == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return std::nullopt;
    real = true;
  }
  if (i != s.size()) return std::nullopt;
  return real ? Number::real : Number::integer;
}

bool plain_scalar(const YAML::Node& n) {
  return n.IsDefined() && n.IsScalar() && n.Tag() != "!";
}

bool is_null_word(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

}  // namespace

std::string mark_suffix(const YAML::Mark& m) {
  if (m.is_null() || m.line < 0) return "";
  // A std::string first, not "literal" + std::string&&: GCC 12 warns falsely (-Wrestrict) on the latter.
  return std::string(":") + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

std::optional<bool> scalar_bool(const YAML::Node& n) {
  if (!plain_scalar(n)) return std::nullopt;
  const std::string& s = n.Scalar();
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::optional<std::int64_t> scalar_integer(const YAML::Node& n) {
  if (!plain_scalar(n) || core_schema_number(n.Scalar()) != Number::integer) return std::nullopt;
  const std::string& s = n.Scalar();
  const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(begin, s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;  // out of range
  return v;
}

std::optional<double> scalar_number(const YAML::Node& n) {
  if (!plain_scalar(n) || !core_schema_number(n.Scalar())) return std::nullopt;
  try {
    const double v = std::stod(n.Scalar());
    return std::isfinite(v) ? std::optional(v) : std::nullopt;
  } catch (const std::out_of_range&) {
    return std::nullopt;
  }
}

boost::json::value yaml_to_json(const YAML::Node& node, const std::string& where,
                                std::map<std::string, YAML::Mark>* marks) {
  // `path` is the dotted key path of `n` inside the tree, for `marks`.
  const auto convert = [&](const auto& self, const YAML::Node& n, const std::string& path) -> boost::json::value {
    if (marks && !path.empty()) marks->emplace(path, n.Mark());
    switch (n.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return nullptr;
      case YAML::NodeType::Sequence: {
        boost::json::array a;
        for (std::size_t i = 0; i < n.size(); ++i) a.push_back(self(self, n[i], path + "[" + std::to_string(i) + "]"));
        return a;
      }
      case YAML::NodeType::Map: {
        boost::json::object o;
        for (const auto& kv : n) {
          if (!kv.first.IsScalar())
            throw ConfigError(where + mark_suffix(kv.first.Mark()) + ": a key is not a string");
          const std::string& key = kv.first.Scalar();
          o[key] = self(self, kv.second, path.empty() ? key : path + "." + key);
        }
        return o;
      }
      case YAML::NodeType::Scalar:
        break;
    }
    const std::string& s = n.Scalar();
    if (n.Tag() == "!") return boost::json::string(s);  // quoted: a string whatever it looks like
    if (is_null_word(s)) return nullptr;
    if (const auto b = scalar_bool(n)) return *b;
    if (const auto kind = core_schema_number(s)) {
      if (*kind == Number::integer) {
        if (const auto i = scalar_integer(n)) return *i;
      } else if (const auto d = scalar_number(n)) {
        return *d;
      }
      throw ConfigError(where + mark_suffix(n.Mark()) + ": number " + s + " is out of range");
    }
    return boost::json::string(s);
  };
  return convert(convert, node, "");
}

}  // namespace visbone::yaml
