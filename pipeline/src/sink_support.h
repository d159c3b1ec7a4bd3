// Pieces the sinks share: finding the head a sink reads, and the image sinks' constructors.
#pragma once

#include <memory>
#include <string>

#include "visbone/core/sink.h"
#include "visbone/pipeline/sink.h"

namespace visbone::pipeline::detail {

// The head a sink reads: the one named `name` (any type: a plugin's head may classify too), or (name empty)
// the only head of `type`. Returns its index in ctx.heads. ConfigError at the sink's place when there is
// none or several.
std::size_t find_head(const SinkConfig& c, const std::string& context, const SinkContext& ctx,
                      const std::string& name, const std::string& type);

// Predictions shown per input: the sink's top_k capped by the head's, or the head's.
int columns_top_k(const SinkConfig& c, const HeadInfo& head);

// "FILE:LINE:COL: sinks[i] (type)"
std::string sink_where(const SinkConfig& c, const std::string& context);

std::unique_ptr<Sink> make_annotated_images(const SinkConfig& c, const std::string& context,
                                            const SinkContext& ctx);
std::unique_ptr<Sink> make_heatmap(const SinkConfig& c, const std::string& context, const SinkContext& ctx);
std::unique_ptr<Sink> make_contact_sheet(const SinkConfig& c, const std::string& context,
                                         const SinkContext& ctx);

// A plugin's sink (the registry's Sink interface, fed SinkRecords) as a pipeline sink.
std::unique_ptr<Sink> adapt_sink(std::unique_ptr<visbone::Sink> sink, std::vector<HeadInfo> heads,
                                 std::string name);

}  // namespace visbone::pipeline::detail
