#include "visbone/core/json_writer.h"

#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>
#include <limits>

namespace visbone {
namespace {

// Python's repr() layout for the shortest digits of a number: `scientific` is std::to_chars' shortest
// round-trip text in scientific form ("-9.9987954e-01").
std::string python_layout(std::string_view scientific) {
  std::string sign;
  if (scientific.front() == '-') {
    sign = "-";
    scientific.remove_prefix(1);
  }
  const auto e = scientific.find('e');
  std::string digits;
  for (char c : scientific.substr(0, e))
    if (c != '.') digits += c;
  const int exponent = std::stoi(std::string(scientific.substr(e + 1)));
  const int n = static_cast<int>(digits.size());
  const int point = exponent + 1;  // digits before the decimal point (may be <= 0 or > n)
  if (point <= -4 || point > 16) {
    // 1e-05, 1.5e+16: the mantissa, then a signed exponent of at least two digits.
    std::string text = sign + digits.substr(0, 1);
    if (n > 1) text += "." + digits.substr(1);
    const int magnitude = std::abs(exponent);
    return text + (exponent < 0 ? "e-" : "e+") + (magnitude < 10 ? "0" : "") + std::to_string(magnitude);
  }
  if (point <= 0) return sign + "0." + std::string(-point, '0') + digits;
  if (point < n) return sign + digits.substr(0, point) + "." + digits.substr(point);
  return sign + digits + std::string(point - n, '0') + ".0";
}

template <typename T>
std::string shortest(T number) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, number, std::chars_format::scientific);
  return python_layout(std::string_view(buffer, result.ptr));
}

bool is_scalar(const boost::json::value& v) { return !v.is_array() && !v.is_object(); }

void write(const boost::json::value& v, JsonStyle style, int depth, std::string& out) {
  const bool pretty = style == JsonStyle::pretty;
  const auto newline = [&](int level) {
    if (!pretty) return;
    out += '\n';
    out.append(2 * static_cast<std::size_t>(level), ' ');
  };
  switch (v.kind()) {
    case boost::json::kind::null: out += "null"; return;
    case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; return;
    case boost::json::kind::int64: out += std::to_string(v.get_int64()); return;
    case boost::json::kind::uint64: out += std::to_string(v.get_uint64()); return;
    case boost::json::kind::double_: out += json_number_text(v.get_double()); return;
    case boost::json::kind::string: out += boost::json::serialize(v.get_string()); return;
    case boost::json::kind::array: {
      const auto& a = v.get_array();
      bool one_line = !pretty || a.empty();
      if (!one_line) {
        one_line = true;
        for (const auto& item : a) one_line = one_line && is_scalar(item);
      }
      out += '[';
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += pretty && one_line ? ", " : ",";
        if (!one_line) newline(depth + 1);
        write(a[i], style, depth + 1, out);
      }
      if (!one_line) newline(depth);
      out += ']';
      return;
    }
    case boost::json::kind::object: {
      const auto& o = v.get_object();
      out += '{';
      bool first = true;
      for (const auto& [key, item] : o) {
        if (!first) out += ',';
        first = false;
        newline(depth + 1);
        out += boost::json::serialize(key);
        out += pretty ? ": " : ":";
        write(item, style, depth + 1, out);
      }
      if (!o.empty()) newline(depth);
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string json_number_text(double number) {
  if (!std::isfinite(number)) return "null";
  // Exactly a float32 value: float32's shortest digits read back to it (the double's would be 17 digits).
  if (std::fabs(number) <= std::numeric_limits<float>::max()) {
    const float single = static_cast<float>(number);
    if (static_cast<double>(single) == number) return shortest(single);
  }
  return shortest(number);
}

std::string to_json_text(const boost::json::value& value, JsonStyle style) {
  std::string out;
  write(value, style, 0, out);
  return out;
}

}  // namespace visbone
