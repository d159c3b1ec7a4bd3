// A component's parameters: the YAML mapping that chose it (`type:` plus its keys, mmengine/detectron2
// style), read with typed getters whose errors name the file, line, column and key. Every key a factory asks
// about is remembered, so a key nobody asked about is reported as unknown with the closest valid one; a typo
// never silently falls back to a default.
#pragma once

#include "visbone/core/closest_match.h"

#include <yaml-cpp/yaml.h>

#include <boost/json/value.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace visbone::registry {

class Params {
 public:
  // No parameters.
  Params();
  // `node` is a mapping (or null: no parameters); `where` names it in messages ("pipeline.yaml: heads[0]");
  // relative paths resolve against `base_dir` (the YAML file's folder; empty: the working folder).
  // ConfigError when `node` is not a mapping.
  Params(YAML::Node node, std::string where, std::filesystem::path base_dir = {});
  // Parses YAML text (a mapping). ConfigError with the line and column for invalid YAML.
  static Params parse(std::string_view yaml, std::string where, std::filesystem::path base_dir = {});

  const std::string& where() const { return where_; }
  const std::filesystem::path& base_dir() const { return base_dir_; }
  const YAML::Node& node() const { return node_; }
  // "where:LINE:COL: key" when the key's value came from text, else "where: key".
  std::string where(std::string_view key) const;

  bool has(std::string_view key) const;
  // A required value; ConfigError naming the key when it is absent or of the wrong type. T is bool, int,
  // std::int64_t, double, std::string, std::vector<std::string>, std::vector<int> or std::vector<double>.
  template <typename T>
  T get(std::string_view key) const;
  template <typename T>
  T get(std::string_view key, T fallback) const {
    return has(key) ? get<T>(key) : fallback;
  }
  template <typename T>
  std::optional<T> find(std::string_view key) const {
    return has(key) ? std::optional<T>(get<T>(key)) : std::nullopt;
  }
  // A path, resolved against base_dir() when relative, lexically normalised (`configs/../data` is `data`).
  std::filesystem::path path(std::string_view key) const;
  // A nested mapping, for components that take a block of settings (an inline config).
  Params child(std::string_view key) const;
  // The value at `key` as JSON (visbone/yaml/yaml_scalars.h: YAML 1.2 core schema).
  boost::json::value json(std::string_view key) const;
  // ConfigError at `key` with `message` (for checks beyond the type: ranges, combinations).
  [[noreturn]] void fail(std::string_view key, const std::string& message) const;

  // Keys present but never asked about, sorted ("type" excluded: the registry reads it).
  std::vector<std::string> unread() const;
  // ConfigError for the first unread key: "unknown parameter 'top_kk' for head 'classification'; closest
  // match: 'top_k'; it takes: function_to_apply, labels, top_k, weights".
  void check_all_read(const std::string& component) const;

 private:
  YAML::Node node_;
  std::string where_;
  std::filesystem::path base_dir_;
  // Shared with copies so that keys asked about through a copy count too.
  std::shared_ptr<std::set<std::string>> asked_;
};

using visbone::closest_match;  // core/closest_match.h

}  // namespace visbone::registry
