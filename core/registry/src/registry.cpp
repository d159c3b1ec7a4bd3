#include "visbone/registry/registry.h"

#include <algorithm>
#include <exception>

namespace visbone::registry {
namespace {

std::string quoted_list(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "(none)" : s;
}

// The node in a head's spec that names `stage` (a scalar value, or an element of a list value) and its key.
std::pair<std::string, YAML::Node> node_naming(const YAML::Node& spec, const std::string& stage) {
  if (!spec.IsMap()) return {};
  for (const auto& kv : spec) {
    const YAML::Node& v = kv.second;
    if (v.IsScalar() && v.Scalar() == stage) return {kv.first.Scalar(), v};
    if (v.IsSequence())
      for (const auto& e : v)
        if (e.IsScalar() && e.Scalar() == stage) return {kv.first.Scalar(), e};
  }
  return {};
}

// check_head_needs, with a stage the backbone does not have reported as the config mistake it is: at the
// value that names it (ConfigError) with the closest stage the backbone has. Other mismatches (channels) stay
// ShapeErrors naming the spec.
void check_needs(const Params& spec, const HeadNeeds& needs, const Backbone& backbone, const std::string& head) {
  try {
    check_head_needs(needs, backbone, head);
  } catch (const ShapeError& err) {
    const auto shapes = backbone.output_shape();
    const auto missing = std::find_if(needs.stages.begin(), needs.stages.end(),
                                      [&](const StageNeed& n) { return !shapes.count(n.stage); });
    if (missing == needs.stages.end()) throw ShapeError(spec.where() + ": " + err.what());
    std::vector<std::string> names = backbone.stage_names();
    for (const auto& [name, shape] : shapes)
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    const auto [key, node] = node_naming(spec.node(), missing->stage);
    std::string at = spec.where();
    if (node && node.Mark().line >= 0) {
      // Appended piece by piece: GCC 12 warns (-Wrestrict, falsely) on "literal" + std::string here.
      at.append(":").append(std::to_string(node.Mark().line + 1));
      at.append(":").append(std::to_string(node.Mark().column + 1));
    }
    if (!key.empty()) at.append(": ").append(key);
    std::string msg = at + ": " + err.what();
    if (const auto near = closest_match(missing->stage, names); !near.empty())
      msg += "; did you mean '" + near + "'?";
    throw ConfigError(msg);
  }
}

// Rethrows the exception in flight naming the component (and the spec's place, unless the message already
// gives it), keeping its visbone type so callers can still tell a bad config from a missing file.
[[noreturn]] void rethrow_with(const std::string& where, const std::string& what) {
  std::string prefix = what + ": ";
  try {
    throw;
  } catch (const std::exception& e) {
    if (std::string_view(e.what()).find(where) == std::string_view::npos) prefix = where + ": " + prefix;
  }
  try {
    throw;
  } catch (const ConfigError& e) {
    throw ConfigError(prefix + e.what());
  } catch (const ShapeError& e) {
    throw ShapeError(prefix + e.what());
  } catch (const NotFoundError& e) {
    throw NotFoundError(prefix + e.what());
  } catch (const IoError& e) {
    throw IoError(prefix + e.what());
  } catch (const FormatError& e) {
    throw FormatError(prefix + e.what());
  } catch (const NetworkError& e) {
    throw NetworkError(prefix + e.what());
  } catch (const std::exception& e) {
    throw Error(prefix + e.what());
  }
}

ComponentInfo make_info(ComponentKind kind, const std::string& name, const std::string& description,
                        std::string origin, std::vector<ParamInfo> params = {},
                        std::string default_checkpoint = {}) {
  ComponentInfo info;
  info.kind = kind;
  info.name = name;
  info.description = description;
  info.origin = std::move(origin);
  info.params = std::move(params);
  info.default_checkpoint = std::move(default_checkpoint);
  return info;
}

template <typename Factory>
void require_factory(const std::string& kind, const std::string& name, const Factory& f) {
  if (name.empty()) throw ConfigError("cannot register a " + kind + " with an empty name");
  if (!f) throw ConfigError("cannot register " + kind + " '" + name + "' without a factory");
}

}  // namespace

std::string_view to_string(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::backbone:
      return "backbone";
    case ComponentKind::head:
      return "head";
    case ComponentKind::source:
      return "source";
    case ComponentKind::sink:
      return "sink";
  }
  return "?";
}

void Registry::add(Entry e) {
  auto& table = entries_[e.info.kind];
  if (const auto it = table.find(e.info.name); it != table.end())
    throw DuplicateComponentError(std::string(to_string(e.info.kind)) + " '" + e.info.name +
                                  "' is registered twice: first by " + it->second.info.origin +
                                  ", again by " + e.info.origin);
  const std::string name = e.info.name;
  table.emplace(name, std::move(e));
}

void Registry::add_backbone(const std::string& name, const std::string& description, BackboneFactory factory,
                            std::vector<ParamInfo> params, std::string default_checkpoint) {
  require_factory("backbone", name, factory);
  Entry e;
  e.info = make_info(ComponentKind::backbone, name, description, std::string(kBuiltin), std::move(params),
                     std::move(default_checkpoint));
  e.backbone = std::move(factory);
  add(std::move(e));
}
void Registry::add_head(const std::string& name, const std::string& description, HeadFactory factory,
                        std::vector<ParamInfo> params) {
  require_factory("head", name, factory);
  Entry e;
  e.info = make_info(ComponentKind::head, name, description, std::string(kBuiltin), std::move(params));
  e.head = std::move(factory);
  add(std::move(e));
}
void Registry::add_source(const std::string& name, const std::string& description, SourceFactory factory,
                          std::vector<ParamInfo> params) {
  require_factory("source", name, factory);
  Entry e;
  e.info = make_info(ComponentKind::source, name, description, std::string(kBuiltin), std::move(params));
  e.source = std::move(factory);
  add(std::move(e));
}
void Registry::add_sink(const std::string& name, const std::string& description, SinkFactory factory,
                        std::vector<ParamInfo> params) {
  require_factory("sink", name, factory);
  Entry e;
  e.info = make_info(ComponentKind::sink, name, description, std::string(kBuiltin), std::move(params));
  e.sink = std::move(factory);
  add(std::move(e));
}

bool Registry::contains(ComponentKind kind, std::string_view name) const {
  const auto t = entries_.find(kind);
  return t != entries_.end() && t->second.find(name) != t->second.end();
}

const Registry::Entry& Registry::entry(ComponentKind kind, std::string_view name) const {
  if (const auto t = entries_.find(kind); t != entries_.end())
    if (const auto it = t->second.find(name); it != t->second.end()) return it->second;
  const auto known = names(kind);
  std::string msg = "no " + std::string(to_string(kind)) + " named '" + std::string(name) + "'";
  if (const auto best = closest_match(name, known); !best.empty()) msg += "; closest match: '" + best + "'";
  msg += "; registered " + std::string(to_string(kind)) + "s: " + quoted_list(known);
  if (known.empty() || kind == ComponentKind::backbone || kind == ComponentKind::head)
    msg += " (plugins add more: VISBONE_PLUGIN_PATH or `plugins:`)";
  throw NotFoundError(msg);
}

const ComponentInfo& Registry::info(ComponentKind kind, std::string_view name) const {
  return entry(kind, name).info;
}

const Registry::Entry& Registry::entry_for(ComponentKind kind, const Params& spec) const {
  const auto type = spec.get<std::string>("type");
  try {
    return entry(kind, type);
  } catch (const NotFoundError& e) {
    throw NotFoundError(spec.where("type") + ": " + e.what());
  }
}

std::vector<std::string> Registry::names(ComponentKind kind) const {
  std::vector<std::string> out;
  if (const auto t = entries_.find(kind); t != entries_.end())
    for (const auto& [name, e] : t->second) out.push_back(name);
  return out;
}

std::vector<ComponentInfo> Registry::list() const {
  std::vector<ComponentInfo> out;
  for (const auto& [kind, table] : entries_)
    for (const auto& [name, e] : table) out.push_back(e.info);
  return out;
}

std::unique_ptr<Backbone> Registry::build_backbone(const Params& spec) const {
  const auto& e = entry_for(ComponentKind::backbone, spec);
  const std::string what = "backbone '" + e.info.name + "'";
  std::unique_ptr<Backbone> b;
  try {
    b = e.backbone(spec);
    spec.check_all_read(what);
  } catch (...) {
    rethrow_with(spec.where(), what);
  }
  if (!b) throw Error(spec.where() + ": " + what + " (from " + e.info.origin + ") returned no backbone");
  return b;
}

std::unique_ptr<Head> Registry::build_head(const Params& spec, HeadContext& context) const {
  const auto& e = entry_for(ComponentKind::head, spec);
  const std::string what = "head '" + e.info.name + "'";
  std::unique_ptr<Head> h;
  try {
    h = e.head(spec, context);
    spec.check_all_read(what);
  } catch (...) {
    rethrow_with(spec.where(), what);
  }
  if (!h) throw Error(spec.where() + ": " + what + " (from " + e.info.origin + ") returned no head");
  check_needs(spec, h->needs(), context.backbone, e.info.name);
  return h;
}

std::unique_ptr<Source> Registry::build_source(const Params& spec, const SourceContext& context) const {
  const auto& e = entry_for(ComponentKind::source, spec);
  const std::string what = "source '" + e.info.name + "'";
  std::unique_ptr<Source> s;
  try {
    s = e.source(spec, context);
    spec.check_all_read(what);
  } catch (...) {
    rethrow_with(spec.where(), what);
  }
  if (!s) throw Error(spec.where() + ": " + what + " (from " + e.info.origin + ") returned no source");
  return s;
}

std::unique_ptr<Sink> Registry::build_sink(const Params& spec, const SinkContext& context) const {
  const auto& e = entry_for(ComponentKind::sink, spec);
  const std::string what = "sink '" + e.info.name + "'";
  std::unique_ptr<Sink> s;
  try {
    s = e.sink(spec, context);
    spec.check_all_read(what);
  } catch (...) {
    rethrow_with(spec.where(), what);
  }
  if (!s) throw Error(spec.where() + ": " + what + " (from " + e.info.origin + ") returned no sink");
  return s;
}

void Staging::add_backbone(const std::string& name, const std::string& description, BackboneFactory factory,
                           std::vector<ParamInfo> params, std::string default_checkpoint) {
  require_factory("backbone", name, factory);
  Registry::Entry e;
  e.info = make_info(ComponentKind::backbone, name, description, origin_, std::move(params),
                     std::move(default_checkpoint));
  e.backbone = std::move(factory);
  staged_.push_back(std::move(e));
}
void Staging::add_head(const std::string& name, const std::string& description, HeadFactory factory,
                       std::vector<ParamInfo> params) {
  require_factory("head", name, factory);
  Registry::Entry e;
  e.info = make_info(ComponentKind::head, name, description, origin_, std::move(params));
  e.head = std::move(factory);
  staged_.push_back(std::move(e));
}
void Staging::add_source(const std::string& name, const std::string& description, SourceFactory factory,
                         std::vector<ParamInfo> params) {
  require_factory("source", name, factory);
  Registry::Entry e;
  e.info = make_info(ComponentKind::source, name, description, origin_, std::move(params));
  e.source = std::move(factory);
  staged_.push_back(std::move(e));
}
void Staging::add_sink(const std::string& name, const std::string& description, SinkFactory factory,
                       std::vector<ParamInfo> params) {
  require_factory("sink", name, factory);
  Registry::Entry e;
  e.info = make_info(ComponentKind::sink, name, description, origin_, std::move(params));
  e.sink = std::move(factory);
  staged_.push_back(std::move(e));
}

void Staging::commit(Registry& registry) {
  for (std::size_t i = 0; i < staged_.size(); ++i) {
    const auto& info = staged_[i].info;
    if (registry.contains(info.kind, info.name))
      throw DuplicateComponentError(std::string(to_string(info.kind)) + " '" + info.name +
                                    "' is registered twice: first by " +
                                    registry.info(info.kind, info.name).origin + ", again by " + info.origin);
    for (std::size_t j = 0; j < i; ++j)
      if (staged_[j].info.kind == info.kind && staged_[j].info.name == info.name)
        throw DuplicateComponentError(std::string(to_string(info.kind)) + " '" + info.name +
                                      "' is registered twice by " + info.origin);
  }
  for (auto& e : staged_) registry.add(std::move(e));
  staged_.clear();
}

}  // namespace visbone::registry
