// `visbone list [--plugin PATH]... [--json]`: every registered component (backbones, heads, sources, sinks)
// with its one-line description and where it came from, the parameters of those that document them (every
// built-in source and sink: name, type, default, one line), then the plugins that were loaded.
#include <algorithm>
#include <boost/json.hpp>
#include <iostream>

#include "args.h"
#include "components.h"
#include "visbone/core/json_writer.h"

namespace visbone::app {
namespace {

constexpr registry::ComponentKind kKinds[] = {registry::ComponentKind::backbone,
                                              registry::ComponentKind::head, registry::ComponentKind::source,
                                              registry::ComponentKind::sink};

}  // namespace

int list(const Args& args) {
  po::options_description opts("visbone list [options]");
  opts.add_options()("help,h", "show this help")("plugin", po::value<std::vector<std::string>>()->composing(),
                                                 "also load this plugin library (or every .so in this "
                                                 "folder); repeatable. $VISBONE_PLUGIN_PATH is always "
                                                 "loaded")("json", "print JSON instead of a table");
  const auto parsed = parse_command(args, opts, {});
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  registry::Registry registry;
  register_builtin_components(registry);
  load_plugins(registry,
               vm.count("plugin") ? vm["plugin"].as<std::vector<std::string>>() : std::vector<std::string>{});
  const auto components = registry.list();

  if (vm.count("json")) {
    boost::json::object out;
    for (const auto kind : kKinds) {
      boost::json::array items;
      for (const auto& c : components)
        if (c.kind == kind) {
          boost::json::array params;
          for (const auto& p : c.params)
            params.push_back({{"name", p.name}, {"type", p.type}, {"default", p.default_value}, {"doc", p.doc}});
          items.push_back({{"name", c.name},
                           {"description", c.description},
                           {"origin", c.origin},
                           {"params", std::move(params)}});
        }
      out[std::string(registry::to_string(kind)) + "s"] = std::move(items);
    }
    boost::json::array plugins;
    for (const auto& p : registry.plugins())
      plugins.push_back({{"name", p.name},
                         {"version", p.version},
                         {"file", p.file.string()},
                         {"description", p.description}});
    out["plugins"] = std::move(plugins);
    std::cout << to_json_text(out) << "\n";
    return 0;
  }

  std::size_t width = 0;
  for (const auto& c : components) width = std::max(width, c.name.size());
  for (const auto kind : kKinds) {
    std::cout << registry::to_string(kind) << "s:\n";
    bool any = false;
    const registry::ComponentInfo* listed = nullptr;  // the last one whose parameters were printed
    const auto same_params = [](const registry::ComponentInfo& a, const registry::ComponentInfo& b) {
      return std::equal(a.params.begin(), a.params.end(), b.params.begin(), b.params.end(), [](const auto& x, const auto& y) {
        return x.name == y.name && x.type == y.type && x.default_value == y.default_value && x.doc == y.doc;
      });
    };
    for (const auto& c : components) {
      if (c.kind != kind) continue;
      any = true;
      std::cout << "  " << c.name << std::string(width + 2 - c.name.size(), ' ') << c.description << "  ["
                << c.origin << "]\n";
      if (listed && !c.params.empty() && same_params(*listed, c)) {
        std::cout << "      (parameters as " << listed->name << ")\n";  // the BiT presets share theirs
        continue;
      }
      listed = &c;
      for (const auto& p : c.params) {
        const bool required = p.default_value == "(required)";
        std::cout << "      " << p.name << " (" << p.type << ", "
                  << (required ? std::string("required") : "default: " + p.default_value) << ")  " << p.doc << "\n";
      }
    }
    if (!any) std::cout << "  (none registered)\n";
  }
  if (!registry.plugins().empty()) {
    std::cout << "plugins:\n";
    for (const auto& p : registry.plugins())
      std::cout << "  " << p.name << " " << p.version << "  " << p.file.string() << "  " << p.description
                << "\n";
  }
  return 0;
}

}  // namespace visbone::app
