#include "visbone/api/heads.h"

#include <yaml-cpp/yaml.h>

#include <string>

#include "visbone/api/register_builtins.h"
#include "visbone/core/errors.h"
#include "visbone/yaml/yaml_limits.h"

namespace visbone {
namespace {

registry::Params parse_spec(std::string_view spec, const std::filesystem::path& base_dir) {
  static const std::string kWhere = "head spec";
  YAML::Node node = yaml::load_yaml(spec, kWhere + " '" + std::string(spec) + "'");
  if (node.IsScalar()) {
    // A bare type name: "embedding" means {type: embedding}.
    YAML::Node map(YAML::NodeType::Map);
    map["type"] = node.Scalar();
    node = map;
  }
  if (!node.IsMap())
    throw ConfigError(
        kWhere + ": '" + std::string(spec) +
        "' is not a head: expected a type name or a mapping such as {type: classification, top_k: 5}");
  return registry::Params(node, kWhere, base_dir);
}

}  // namespace

registry::Registry& default_registry() {
  // Function-local statics: initialised once, by the first caller, while concurrent callers wait.
  static registry::Registry registry;
  static const bool registered = [] {
    register_builtins(registry);
    return true;
  }();
  (void)registered;
  return registry;
}

std::unique_ptr<Head> make_head(std::string_view spec, Backbone& backbone, const HeadOptions& options) {
  return make_head(parse_spec(spec, options.base_dir), backbone, default_registry(), options);
}

std::unique_ptr<Head> make_head(std::string_view spec, Backbone& backbone, const registry::Registry& registry,
                                const HeadOptions& options) {
  return make_head(parse_spec(spec, options.base_dir), backbone, registry, options);
}

std::unique_ptr<Head> make_head(const registry::Params& spec, Backbone& backbone,
                                const registry::Registry& registry, const HeadOptions& options) {
  HeadContext context{
      backbone, [processor = options.processor.value_or(ImageProcessor())](
                    const std::vector<std::filesystem::path>& paths) { return processor.process(paths); }};
  return registry.build_head(spec, context);
}

std::vector<HeadResult> run_head(Backbone& backbone, const Head& head, const Tensor& batch) {
  return head.run(backbone.forward(batch, head.needs().request()));
}

std::vector<std::vector<HeadResult>> run_heads(Backbone& backbone,
                                               const std::vector<std::unique_ptr<Head>>& heads,
                                               const Tensor& batch) {
  ForwardRequest request;
  for (const auto& h : heads) {
    if (!h) throw ConfigError("run_heads: heads[] holds an empty pointer");
    merge_into(request, h->needs());
  }
  const ForwardResult features = backbone.forward(batch, request);
  std::vector<std::vector<HeadResult>> results;
  results.reserve(heads.size());
  for (const auto& h : heads) results.push_back(h->run(features));
  return results;
}

}  // namespace visbone
