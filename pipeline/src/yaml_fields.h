// Strict reading of YAML mappings: every key must be known, every value of the expected type, and every
// error says "FILE:LINE:COLUMN: KEY: what was expected, what was found" so a config mistake is found at
// once instead of becoming a silent default.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "visbone/pipeline/config.h"

namespace visbone::pipeline::detail {

// The position of a node ("FILE:LINE:COL").
ConfigPlace place_of(const YAML::Node& node, const std::string& file);
// How a node reads in a message: "'abc'", "a list", "a mapping", "nothing (null)".
std::string describe(const YAML::Node& node);
// The closest candidate to `word` (edit distance), or "" when none is close enough to be a likely typo.
std::string closest(std::string_view word, const std::vector<std::string>& candidates);
// "a, b, c"
std::string join(const std::vector<std::string>& items, std::string_view sep = ", ");
// A path named in the config must exist: ConfigError "PLACE: KEY: ABSOLUTE_PATH does not exist" + `hint`
// ("; did you mean ...") otherwise, checked before anything is loaded.
void require_path(const std::filesystem::path& path, const ConfigPlace& place, const std::string& key,
                  const std::string& hint = "");

class MapReader {
 public:
  // `context` names the mapping in messages ("" for the top level, "model", "sinks[1]"). Throws ConfigError
  // when the node is not a mapping or repeats a key.
  MapReader(const YAML::Node& node, std::string file, std::string context);

  // Every key must be one of `allowed`; otherwise ConfigError at the key with the closest valid key.
  void check_keys(const std::vector<std::string>& allowed) const;

  bool has(std::string_view key) const;
  // The value node (an undefined node when absent).
  YAML::Node get(std::string_view key) const;
  ConfigPlace place() const { return place_of(node_, file_); }
  ConfigPlace place(std::string_view key) const;
  // "model.checkpoint" for key "checkpoint" in context "model".
  std::string key_path(std::string_view key) const;
  const std::string& file() const { return file_; }
  const std::string& context() const { return context_; }

  [[noreturn]] void fail_at(const YAML::Node& at, const std::string& message) const;
  [[noreturn]] void fail_value(std::string_view key, const std::string& expected) const;
  [[noreturn]] void fail_missing(std::string_view key, const std::string& expected) const;

  std::optional<std::string> string(std::string_view key) const;
  std::string required_string(std::string_view key, const std::string& expected) const;
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) const;
  std::optional<double> number(std::string_view key, double min, double max) const;
  std::optional<bool> boolean(std::string_view key) const;
  std::optional<std::vector<std::string>> string_list(std::string_view key) const;
  std::optional<std::vector<int>> int_list(std::string_view key) const;
  // A string that must be one of `choices` (ConfigError with the closest one otherwise).
  std::optional<std::string> choice(std::string_view key, const std::vector<std::string>& choices) const;

 private:
  YAML::Node node_;
  std::string file_;
  std::string context_;
  std::vector<std::pair<std::string, YAML::Node>> keys_;  // key node, in file order
};

}  // namespace visbone::pipeline::detail
