// Bounds on a YAML document read from outside, checked once after parsing and before anything walks it.
// yaml-cpp keeps an alias as a reference to its anchor, so a few lines of nested aliases ("billion laughs")
// parse into a small document whose every recursive walk (converting a spec to JSON, copying it, printing it)
// visits billions of nodes; counting nodes the way such a walk does (each alias where it is used) stops it.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace visbone::pipeline {

struct YamlLimits {
  // The text itself; configs are written by hand and a few hundred kilobytes at most.
  std::uint64_t max_bytes = 4u << 20;
  // Mappings and sequences inside each other (the top-level mapping is level 1).
  int max_depth = 64;
  // Nodes a walk of the whole document visits, counting an alias's nodes at every use.
  std::uint64_t max_nodes = 1'000'000;
};

// Throws ConfigError "FILE: ..." naming the limit when `text` is over max_bytes.
void check_yaml_size(std::string_view text, const std::string& file, const YamlLimits& limits = {});
// Throws ConfigError "FILE:LINE:COLUMN: ..." naming the limit and where it was crossed when `root` nests
// deeper than max_depth or a walk of it visits more than max_nodes nodes.
void check_yaml_limits(const YAML::Node& root, const std::string& file, const YamlLimits& limits = {});

}  // namespace visbone::pipeline
