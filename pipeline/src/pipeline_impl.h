// What a built pipeline holds (Pipeline::Impl): its registry, the components assembled from the config
// (assemble.cpp) and what the flow graph (pipeline.cpp) needs to run them.
#pragma once

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "visbone/core/backbone.h"
#include "visbone/core/head.h"
#include "visbone/image/decode.h"
#include "visbone/image/image_processor.h"
#include "visbone/pipeline/config.h"
#include "visbone/pipeline/pipeline.h"
#include "visbone/core/sink.h"
#include "visbone/core/source.h"
#include "visbone/pipeline/shard.h"
#include "visbone/registry/registry.h"

namespace visbone::pipeline {

struct Pipeline::Impl {
  PipelineConfig config;
  registry::Registry registry;               // built-ins and the config's plugins
  const registry::Registry* app = nullptr;   // the application's components, for types the first lacks
  // The registry that has `name`, or null; and every name of a kind, for messages.
  const registry::Registry* lookup(registry::ComponentKind kind, const std::string& name) const {
    if (registry.contains(kind, name)) return &registry;
    return app && app->contains(kind, name) ? app : nullptr;
  }
  // Every name of a kind that came from `origin` (built-in or not), for messages.
  std::vector<std::string> names(registry::ComponentKind kind, bool builtin) const {
    std::vector<std::string> all;
    for (const auto* r : {&registry, app})
      if (r)
        for (auto& n : r->names(kind))
          if ((r->info(kind, n).origin == registry::kBuiltin) == builtin &&
              std::find(all.begin(), all.end(), n) == all.end())
            all.push_back(std::move(n));
    return all;
  }
  // "TYPE" for a built-in component, "TYPE (plugin FILE)" for a plugin's: how errors name a component.
  std::string label(registry::ComponentKind kind, const std::string& type) const {
    const registry::Registry* r = lookup(kind, type);
    const std::string origin = r ? r->info(kind, type).origin : std::string(registry::kBuiltin);
    return origin == registry::kBuiltin ? type : type + " (" + origin + ")";
  }
  // The config's sources, joined (and their describe() lines into `descriptions` when given).
  std::unique_ptr<Source> build_sources(std::vector<std::string>* descriptions) const;
  // Opens `source` (restricted to the shard's range in a sharded run) and the sinks from the config.
  void open_sources();
  void open_sinks();
  // Both again, for another run after the config's inputs changed (select_shard, select_sources).
  void reopen() {
    open_sources();
    open_sinks();
    ran = false;
  }
  std::unique_ptr<Source> source;
  std::unique_ptr<Backbone> backbone;
  std::unique_ptr<image::ImageProcessor> processor;
  image::DecodeOptions decode;
  std::vector<std::unique_ptr<Head>> heads;
  std::vector<std::string> source_descriptions;  // each source's describe(), for the summary
  std::vector<std::filesystem::path>
      input_paths;  // what the sources read (Source::reads()), for check_outputs
  std::optional<std::filesystem::path> model_folder;  // the checkpoint folder, when the model has one
  std::vector<SinkHead> head_info;
  SinkContext sink_context;  // what the sinks are built from
  std::string model_key;     // content_key.h
  std::vector<std::unique_ptr<Sink>> sinks;
  std::vector<std::string> sink_types;  // each sink's registry type, for the summary
  ForwardRequest request;
  std::set<std::string> labels;  // the classification heads' class names, to spot folder labels they lack
  bool keep_images = false;
  bool ran = false;
  // A sharded run (config.shard): the inputs it takes, of `total`.
  ShardRange range;
  std::uint64_t total = 0;
};

}  // namespace visbone::pipeline
