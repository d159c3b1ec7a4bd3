// Batch pipelines (source -> decode -> preprocess -> batch -> backbone -> heads -> sinks on a oneTBB flow
// graph) from a program instead of `visbone run`:
//
//   auto pipeline = visbone::load_pipeline("configs/classify.yaml");
//   visbone::pipeline::Summary summary = pipeline->run();
//
//   // or from code: the same YAML as text, relative paths resolved against base_dir
//   auto p = visbone::make_pipeline(R"(
//     source: {type: folder, path: images}
//     model: {checkpoint: google/bit-50}
//     heads: [{type: classification, top_k: 5}]
//     sinks: [{type: jsonl, path: predictions.jsonl}])", "/data/run1");
//
// The keys are described in pipeline/config.h and the README; a pipeline::PipelineConfig may also be
// filled in code and passed to pipeline::Pipeline's constructor. A `type:` that is not built in and not
// from the config's plugins is looked up in default_registry(), so components the application registered
// there (default_registry().add_head("my_head", ...)) can be named in the YAML.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "visbone/pipeline/config.h"
#include "visbone/pipeline/pipeline.h"

namespace visbone {

// Reads a YAML pipeline file, applies command-line style overrides, and builds the pipeline (sources opened,
// model loaded, heads and sinks checked against it) before any input is read. IoError when the file cannot
// be read; ConfigError "FILE:LINE:COL: ..." for a mistake in it; NotFoundError for a missing input or model.
// Thread-safety: building may happen on any thread; one Pipeline runs on one thread at a time (run() itself
// uses a oneTBB flow graph and the backbone's OpenMP threads).
std::unique_ptr<pipeline::Pipeline> load_pipeline(const std::filesystem::path& yaml_file,
                                                  const pipeline::Overrides& overrides = {});
// The same from YAML text; `base_dir` is where relative paths resolve (and what messages name); default: the
// working folder.
std::unique_ptr<pipeline::Pipeline> make_pipeline(std::string_view yaml,
                                                  const std::filesystem::path& base_dir = {});

}  // namespace visbone
