// An unknown `type:` names the built-in components as built in and only plugins' as from plugins.
#include <gtest/gtest.h>

#include "pipeline_test_support.h"
#include "visbone/api/register_builtins.h"
#include "visbone/pipeline/config.h"
#include "visbone/pipeline/pipeline.h"

namespace visbone::pipeline {
namespace {

using testing::kData;
using testing::TempDir;

TEST(UnknownType, BuiltInsAreNotCalledPlugins) {
  TempDir d;
  const std::string head = "source: {type: files, paths: [" + kData +
                           "/digits/images/digit_0000.png]}\nmodel: {checkpoint: " + kData +
                           "/models/bit-tiny-digits}\nheads: [{type: clasification}]\n";
  const auto cfg = d.write("c.yaml", head);
  const std::string m = visbone::testing::message_of([&] { Pipeline p(load_config(cfg), register_pipeline_builtins); });
  EXPECT_NE(m.find("(built in: classification, embedding, feature_maps, knn; from plugins: none)"), std::string::npos)
      << m;
  const auto sink_cfg = d.write("s.yaml", head.substr(0, head.find("heads:")) +
                                              "heads: [{type: classification}]\nsinks: [{type: nope, path: x}]\n");
  const std::string s = visbone::testing::message_of([&] { Pipeline p(load_config(sink_cfg), register_pipeline_builtins); });
  // The built-in sinks are registry components like the heads: listed by name.
  EXPECT_NE(s.find("(built in: annotated_images, contact_sheet, csv, embedding_index, heatmap, jsonl, safetensors; "
                   "from plugins: none)"),
            std::string::npos)
      << s;
}

}  // namespace
}  // namespace visbone::pipeline
