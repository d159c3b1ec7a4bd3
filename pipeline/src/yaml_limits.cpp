#include "visbone/pipeline/yaml_limits.h"

#include "visbone/core/errors.h"

namespace visbone::pipeline {
namespace {

std::string at(const YAML::Node& node, const std::string& file) {
  const YAML::Mark m = node.Mark();
  if (m.line < 0) return file;
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

class Walk {
 public:
  Walk(const std::string& file, const YamlLimits& limits) : file_(file), limits_(limits) {}

  void visit(const YAML::Node& node, int depth) {
    if (++nodes_ > limits_.max_nodes)
      throw ConfigError(
          at(node, file_) + ": the document has more than " + std::to_string(limits_.max_nodes) +
          " nodes when every alias is counted where it is used (the limit, YamlLimits::max_nodes)");
    if (!node.IsSequence() && !node.IsMap()) return;
    if (depth > limits_.max_depth)
      throw ConfigError(at(node, file_) + ": mappings and lists nested " + std::to_string(depth) +
                        " deep, more than the limit of " + std::to_string(limits_.max_depth) +
                        " (YamlLimits::max_depth)");
    if (node.IsSequence()) {
      for (const auto& child : node) visit(child, depth + 1);
    } else {
      for (const auto& kv : node) {
        visit(kv.first, depth + 1);
        visit(kv.second, depth + 1);
      }
    }
  }

 private:
  const std::string& file_;
  const YamlLimits& limits_;
  std::uint64_t nodes_ = 0;
};

}  // namespace

void check_yaml_size(std::string_view text, const std::string& file, const YamlLimits& limits) {
  if (text.size() > limits.max_bytes)
    throw ConfigError(file + ": the YAML text is " + std::to_string(text.size()) +
                      " bytes, more than the limit of " + std::to_string(limits.max_bytes) +
                      " (YamlLimits::max_bytes)");
}

void check_yaml_limits(const YAML::Node& root, const std::string& file, const YamlLimits& limits) {
  Walk(file, limits).visit(root, 1);
}

}  // namespace visbone::pipeline
