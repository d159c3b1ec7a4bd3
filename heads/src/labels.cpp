#include "visbone/heads/labels.h"

#include <boost/json.hpp>
#include <map>
#include <sstream>

#include "visbone/core/errors.h"
#include "visbone/core/json.h"

namespace visbone::heads {

std::vector<std::string> labels_from_id2label(const boost::json::value& v, const std::string& where) {
  if (!v.is_object()) throw ConfigError(where + ": id2label is " + json_kind(v) + ", expected an object");
  std::map<long long, std::string> by_index;
  for (const auto& [key, name] : v.as_object()) {
    const std::string k(key);
    std::size_t used = 0;
    long long i = -1;
    try {
      i = std::stoll(k, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != k.size() || i < 0 || !name.is_string())
      throw ConfigError(where + ": id2label entry \"" + k + "\" must map a class index to a name");
    by_index[i] = std::string(name.as_string());
  }
  std::vector<std::string> out;
  for (const auto& [i, name] : by_index) {
    if (i != static_cast<long long>(out.size()))
      throw ConfigError(where + ": id2label has no entry for class " + std::to_string(out.size()) +
                        " (expected the indices 0.." + std::to_string(by_index.size() - 1) + ")");
    out.push_back(name);
  }
  return out;
}

std::vector<std::string> read_labels(const std::filesystem::path& file) {
  if (file.extension() == ".json") {
    const auto v = read_json_file(file);
    if (v.is_object() && v.as_object().contains("id2label"))
      return labels_from_id2label(v.as_object().at("id2label"), file.string());
    if (v.is_array()) {
      std::vector<std::string> out;
      for (const auto& e : v.as_array()) {
        if (!e.is_string())
          throw ConfigError(file.string() + ": expected a list of class names, found " + json_kind(e));
        out.emplace_back(e.as_string());
      }
      return out;
    }
    throw ConfigError(file.string() + ": expected a config.json with id2label or a JSON list of class names");
  }
  std::istringstream in(read_text_file(file));
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  // A final newline ends the last name; it does not start an empty one.
  if (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

std::vector<std::string> default_labels(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("LABEL_" + std::to_string(i));
  return out;
}

}  // namespace visbone::heads
