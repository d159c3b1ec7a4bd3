#include "visbone/yaml/yaml_limits.h"

#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/yaml/yaml_scalars.h"

namespace visbone::yaml {
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

std::string read_yaml_file(const std::filesystem::path& file, const YamlLimits& limits) {
  return read_text_file(file, limits.max_bytes);
}

YAML::Node load_yaml(std::string_view text, const std::string& file, const YamlLimits& limits) {
  if (text.size() > limits.max_bytes)
    throw ConfigError(file + ": the YAML text is " + std::to_string(text.size()) +
                      " bytes, more than the limit of " + std::to_string(limits.max_bytes) +
                      " (YamlLimits::max_bytes)");
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw ConfigError(file + mark_suffix(e.mark) + ": invalid YAML: " + e.msg);
  }
  Walk(file, limits).visit(root, 1);
  return root;
}

}  // namespace visbone::yaml
