// Reading a YAML document from outside, bounded: every visbone YAML reader (pipeline, serve and fit configs,
// component parameters) parses through load_yaml. The bounds are checked once after parsing and before
// anything walks the tree: yaml-cpp keeps an alias as a reference to its anchor, so a few lines of nested
// aliases ("billion laughs") parse into a small document whose every recursive walk (converting a spec to
// JSON, copying it, printing it) visits billions of nodes; counting nodes the way such a walk does (each
// alias where it is used) stops it.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace visbone::yaml {

struct YamlLimits {
  // The text itself; configs are written by hand and a few hundred kilobytes at most.
  std::uint64_t max_bytes = 4u << 20;
  // Mappings and sequences inside each other (the top-level mapping is level 1).
  int max_depth = 64;
  // Nodes a walk of the whole document visits, counting an alias's nodes at every use.
  std::uint64_t max_nodes = 1'000'000;
};

// The text of a YAML file, read only when it is at most max_bytes (IoError naming the file when it cannot be
// read or is larger: a wrong path such as a video is not read whole).
std::string read_yaml_file(const std::filesystem::path& file, const YamlLimits& limits = {});

// `text` parsed and checked, `file` naming it in messages. ConfigError "FILE: ..." naming the limit when the
// text is over max_bytes; "FILE:LINE:COLUMN: invalid YAML: ..." when it does not parse; "FILE:LINE:COLUMN:
// ..." naming the limit and where it was crossed when the tree nests deeper than max_depth or a walk of it
// visits more than max_nodes nodes.
YAML::Node load_yaml(std::string_view text, const std::string& file, const YamlLimits& limits = {});

}  // namespace visbone::yaml
