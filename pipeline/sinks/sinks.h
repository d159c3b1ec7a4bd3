// The built-in sinks, one per file, each registering itself (name, parameters, factory) through the same
// registrar interface a plugin uses, and what they share: picking the head they read by what heads say they
// produce (HeadDescription::kind), never by head type names.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "visbone/core/sink.h"
#include "visbone/registry/params.h"
#include "visbone/registry/registry.h"

namespace visbone::pipeline {

void register_jsonl_sink(registry::ComponentRegistrar& r);
void register_csv_sink(registry::ComponentRegistrar& r);
void register_safetensors_sink(registry::ComponentRegistrar& r);
void register_embedding_index_sink(registry::ComponentRegistrar& r);
void register_annotated_images_sink(registry::ComponentRegistrar& r);
void register_heatmap_sink(registry::ComponentRegistrar& r);
void register_contact_sheet_sink(registry::ComponentRegistrar& r);

namespace detail {

// The head a sink reads: the one named by the `head` parameter (any kind: a plugin's head may classify
// too), or (none named) the only head whose describe() says `kind`. Returns its index in ctx.heads.
// ConfigError at the parameter when there is none or several.
std::size_t find_head(const registry::Params& p, const SinkContext& ctx, const std::string& kind);

// Predictions shown per input: the sink's `top_k` (0 = not given) capped by the head's, or the head's.
int columns_top_k(int top_k, const SinkHead& head);

// The sink's `path` parameter resolved for output: a file of its own per shard (ctx.output_path), or a
// folder of per-input files the shards share (ctx.output_folder).
std::filesystem::path output_path(const registry::Params& p, const SinkContext& ctx);
std::filesystem::path output_folder(const registry::Params& p, const SinkContext& ctx);

registry::ParamInfo head_param(const std::string& kind);

}  // namespace detail
}  // namespace visbone::pipeline
