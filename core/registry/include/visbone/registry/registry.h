// Named factories for the pipeline's components: backbones, heads, sources and sinks. A component is chosen
// by `type:` plus its parameters (mmengine/detectron2 style). Built-in libraries register theirs with a
// function (bit::register_components, heads::register_components); plugins register through the same
// ComponentRegistrar interface when loaded (see plugin_loader.h). Every entry remembers its origin, so a name
// registered twice is reported with both origins, and `visbone list` can say where each component came from.
//
// Thread-safety: registration is not synchronised (do it at start-up); building is const and may run
// concurrently once registration is over.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "visbone/core/backbone.h"
#include "visbone/core/errors.h"
#include "visbone/core/head.h"
#include "visbone/core/sink.h"
#include "visbone/core/source.h"
#include "visbone/registry/params.h"

namespace visbone::registry {

enum class ComponentKind { backbone, head, source, sink };
std::string_view to_string(ComponentKind kind);

// The origin of components registered by visbone's own libraries.
inline constexpr std::string_view kBuiltin = "built-in";

// One parameter a component takes, for `visbone list` and messages.
struct ParamInfo {
  std::string name;
  std::string type;           // "string", "path", "int", "number", "bool", "list of strings", ...
  std::string default_value;  // as YAML would spell it; "(required)" when it must be given
  std::string doc;            // one line
};

struct ComponentInfo {
  ComponentKind kind = ComponentKind::backbone;
  std::string name;
  std::string description;       // one line
  std::string origin;            // "built-in" or the plugin file
  std::vector<ParamInfo> params;  // what it takes, when it says (the built-ins do); then a key outside it is
                                  // reported before the component is built (or anything is fetched for it)
  // Backbones: the hub id of the weights it loads when its spec names no checkpoint (a preset's release),
  // so a caller can fetch that folder once and also read its preprocessor_config.json. Empty: none.
  std::string default_checkpoint;
};

// A plugin library loaded into a registry (see plugin_loader.h).
struct PluginInfo {
  std::filesystem::path file;  // canonical
  std::string name, version, description;
  std::vector<ComponentInfo> components;  // what it registered
};

using BackboneFactory = std::function<std::unique_ptr<Backbone>(const Params& params)>;
using HeadFactory = std::function<std::unique_ptr<Head>(const Params& params, HeadContext& context)>;
using SourceFactory = std::function<std::unique_ptr<Source>(const Params& params, const SourceContext& context)>;
using SinkFactory = std::function<std::unique_ptr<Sink>(const Params& params, const SinkContext& context)>;

// What a library sees when it registers components. The calls are virtual so that a plugin's calls run the
// host's code on the host's registry, whatever the plugin linked.
class ComponentRegistrar {
 public:
  // `params` documents what the backbone takes; `default_checkpoint` is the hub id it loads when the spec
  // names no checkpoint (see ComponentInfo).
  virtual void add_backbone(const std::string& name, const std::string& description, BackboneFactory factory,
                            std::vector<ParamInfo> params = {}, std::string default_checkpoint = {}) = 0;
  // `params` documents what the head, source or sink takes (shown by `visbone list`; a `path` parameter that
  // names a missing file is reported before the model loads).
  virtual void add_head(const std::string& name, const std::string& description, HeadFactory factory,
                        std::vector<ParamInfo> params = {}) = 0;
  virtual void add_source(const std::string& name, const std::string& description, SourceFactory factory,
                          std::vector<ParamInfo> params = {}) = 0;
  virtual void add_sink(const std::string& name, const std::string& description, SinkFactory factory,
                        std::vector<ParamInfo> params = {}) = 0;

 protected:
  ~ComponentRegistrar() = default;
};

// A name registered a second time.
class DuplicateComponentError : public Error {
 public:
  using Error::Error;
};

class Registry final : public ComponentRegistrar {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Built-in registration (origin "built-in"). DuplicateComponentError naming both origins when the name is
  // taken; ConfigError for an empty name or a missing factory.
  void add_backbone(const std::string& name, const std::string& description, BackboneFactory factory,
                    std::vector<ParamInfo> params = {}, std::string default_checkpoint = {}) override;
  void add_head(const std::string& name, const std::string& description, HeadFactory factory,
                std::vector<ParamInfo> params = {}) override;
  void add_source(const std::string& name, const std::string& description, SourceFactory factory,
                  std::vector<ParamInfo> params = {}) override;
  void add_sink(const std::string& name, const std::string& description, SinkFactory factory,
                std::vector<ParamInfo> params = {}) override;

  // Builds the component named by spec's `type`, passing it the other keys. NotFoundError listing what is
  // registered and the closest match for an unknown type; ConfigError for a missing `type` or a parameter
  // the component does not take (with the closest one it does). Errors from the factory gain the component
  // and the spec's location.
  std::unique_ptr<Backbone> build_backbone(const Params& spec) const;
  // Also checks the head's needs against context.backbone (ShapeError with both shapes, see
  // check_head_needs).
  std::unique_ptr<Head> build_head(const Params& spec, HeadContext& context) const;
  std::unique_ptr<Source> build_source(const Params& spec, const SourceContext& context = {}) const;
  std::unique_ptr<Sink> build_sink(const Params& spec, const SinkContext& context) const;

  bool contains(ComponentKind kind, std::string_view name) const;
  // NotFoundError as for building.
  const ComponentInfo& info(ComponentKind kind, std::string_view name) const;
  // Every component, by kind and then name.
  std::vector<ComponentInfo> list() const;
  std::vector<std::string> names(ComponentKind kind) const;
  // The plugins loaded into this registry, in load order.
  const std::vector<PluginInfo>& plugins() const { return plugins_; }

 private:
  struct Entry {
    ComponentInfo info;
    BackboneFactory backbone;
    HeadFactory head;
    SourceFactory source;
    SinkFactory sink;
  };
  friend class Staging;
  friend PluginInfo load_plugin(Registry& registry, const std::filesystem::path& file);

  void add(Entry entry);
  const Entry& entry(ComponentKind kind, std::string_view name) const;
  // Reads spec's `type` and finds the entry.
  const Entry& entry_for(ComponentKind kind, const Params& spec) const;

  std::map<ComponentKind, std::map<std::string, Entry, std::less<>>> entries_;
  std::vector<PluginInfo> plugins_;
};

// Declared here for the friend declaration above; see plugin_loader.h.
PluginInfo load_plugin(Registry& registry, const std::filesystem::path& file);

// Collects registrations before they are committed, so that a library whose registration fails part way
// (a duplicate, an exception) adds nothing.
class Staging final : public ComponentRegistrar {
 public:
  explicit Staging(std::string origin) : origin_(std::move(origin)) {}
  void add_backbone(const std::string& name, const std::string& description, BackboneFactory factory,
                    std::vector<ParamInfo> params = {}, std::string default_checkpoint = {}) override;
  void add_head(const std::string& name, const std::string& description, HeadFactory factory,
                std::vector<ParamInfo> params = {}) override;
  void add_source(const std::string& name, const std::string& description, SourceFactory factory,
                  std::vector<ParamInfo> params = {}) override;
  void add_sink(const std::string& name, const std::string& description, SinkFactory factory,
                std::vector<ParamInfo> params = {}) override;
  // Checks every staged name against `registry` and each other (DuplicateComponentError naming both
  // origins), then adds them all.
  void commit(Registry& registry);
  std::size_t size() const { return staged_.size(); }

 private:
  std::string origin_;
  std::vector<Registry::Entry> staged_;
};

}  // namespace visbone::registry
