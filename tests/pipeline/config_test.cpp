// The YAML config: what a valid file turns into, and one test per class of mistake, each asserting the
// file, line and column the message points at (and the suggested key for a typo).
#include <gtest/gtest.h>

#include "pipeline_test_support.h"
#include "visbone/api/register_builtins.h"
#include "visbone/core/errors.h"
#include "visbone/pipeline/config.h"
#include "visbone/pipeline/pipeline.h"

namespace visbone::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::kData;
using testing::TempDir;

const std::string kModel = kData + "/models/bit-tiny-digits";
const std::string kImage = kData + "/digits/images/digit_0000.png";

// The message of the ConfigError that loading (and, with build, building) `yaml` raises, with the temporary
// file's path shortened to "cfg.yaml".
std::string error_of(const std::string& yaml, bool build = false) {
  TempDir d;
  const fs::path f = d.write("cfg.yaml", yaml);
  try {
    auto c = load_config(f);
    if (build) Pipeline p(std::move(c), register_pipeline_builtins);
  } catch (const ConfigError& e) {
    std::string m = e.what();
    for (std::size_t at; (at = m.find(f.string())) != std::string::npos;)
      m.replace(at, f.string().size(), "cfg.yaml");
    return m;
  }
  return "(no ConfigError)";
}

// A valid config around `heads` and `sinks` blocks (lines 1-3 are source and model).
std::string with(const std::string& rest) {
  return "source: {type: files, paths: [" + kImage +
         "]}\n"  // line 1
         "model: {checkpoint: " +
         kModel + "}\n"  // line 2
         + rest;
}

TEST(Config, ParsesEveryKeyAndResolvesPathsAgainstTheConfigFolder) {
  TempDir d;
  const fs::path f = d.write("sub/cfg.yaml", R"(source:
  type: folder
  path: images
  recursive: false
  extensions: [PNG, .jpg]
  labels_from_folders: true
model: {checkpoint: google/bit-50, out_features: [stage2, stage4]}
preprocess: {from: defaults, size: {shortest_edge: 64}, crop_size: 64}
heads:
  - {type: classification, top_k: 3}
  - {type: feature_maps, name: maps, out_indices: [2, 4]}
sinks:
  - {type: jsonl, path: out.jsonl}
  - {type: heatmap, path: heat, stage: stage2, alpha: 0.25, format: jpg}
  - {type: contact_sheet, path: /abs/sheet.png, columns: 7, tile: 32}
output_dir: results
summary: summary.json
batch_size: 16
threads: 3
max_in_flight: 40
concurrency: {decode: 3, preprocess: 1, heads: 2}
max_pixels: 1000000
fail_on_error: false
plugins: [libs/p.so]
)");
  const auto c = load_config(f);
  const fs::path base = d.path() / "sub";
  ASSERT_EQ(c.sources.size(), 1u);
  // Sources and sinks keep their specs for the registry, which checks their keys when the pipeline is built.
  EXPECT_EQ(c.sources[0].type, "folder");
  EXPECT_EQ(c.sources[0].spec["path"].Scalar(), "images");
  EXPECT_EQ(c.sources[0].spec["recursive"].Scalar(), "false");
  EXPECT_EQ(c.model.type, "bit");
  EXPECT_EQ(c.model.spec["checkpoint"].Scalar(), "google/bit-50");
  EXPECT_EQ(c.preprocess.from, "defaults");
  EXPECT_EQ(c.preprocess.overrides["crop_size"].Scalar(), "64");
  ASSERT_EQ(c.heads.size(), 2u);
  EXPECT_EQ(c.heads[0].name, "classification");
  EXPECT_EQ(c.heads[1].name, "maps");
  EXPECT_EQ(c.heads[1].type, "feature_maps");
  ASSERT_EQ(c.sinks.size(), 3u);
  EXPECT_EQ(c.sinks[1].type, "heatmap");
  EXPECT_EQ(c.sinks[1].spec["stage"].Scalar(), "stage2");
  EXPECT_EQ(c.sinks[2].spec["columns"].Scalar(), "7");
  // Sink paths go under output_dir; absolute ones stay.
  EXPECT_EQ(c.output_path(c.sinks[0].spec["path"].Scalar()), base / "results" / "out.jsonl");
  EXPECT_EQ(c.output_path(c.sinks[2].spec["path"].Scalar()), fs::path("/abs/sheet.png"));
  EXPECT_EQ(c.output_path(*c.summary), base / "results" / "summary.json");
  EXPECT_EQ(c.batch_size, 16);
  EXPECT_EQ(c.threads, 3);
  EXPECT_EQ(c.in_flight(), 40);
  EXPECT_EQ(c.concurrency.decode, 3);
  EXPECT_EQ(c.concurrency.preprocess, 1);
  EXPECT_EQ(c.concurrency.heads, 2);
  EXPECT_EQ(c.max_pixels, 1000000);
  EXPECT_FALSE(c.fail_on_error);
  EXPECT_EQ(c.plugins, (std::vector<fs::path>{base / "libs/p.so"}));
  // The places remembered for build-time checks.
  EXPECT_EQ(c.sinks[1].place.str(), f.string() + ":14:5");
}

TEST(Config, WithoutOutputDirSinkPathsAreRelativeToTheConfigFolder) {
  TempDir d;
  const fs::path f =
      d.write("c.yaml", with("heads: [{type: classification}]\nsinks: [{type: jsonl, path: o/p.jsonl}]\n"));
  const auto c = load_config(f);
  EXPECT_EQ(c.output_path(c.sinks[0].spec["path"].Scalar()), d.path() / "o/p.jsonl");
  EXPECT_EQ(c.batch_size, 8);
  EXPECT_EQ(c.in_flight(), 4 * 8 + 2 + 2);
  EXPECT_EQ(c.in_flight(true), 2 * 8 + 2 + 2);
}

// --- one test per class of error --------------------------------------------------------------------------

TEST(ConfigErrors, InvalidYamlGivesLineAndColumn) {
  EXPECT_EQ(error_of("batch_size: 8\nheads: [1, 2\n").rfind("cfg.yaml:3:1: invalid YAML: ", 0), 0u)
      << error_of("batch_size: 8\nheads: [1, 2\n");
}

TEST(ConfigErrors, UnknownTopLevelKeySuggestsTheClosest) {
  const auto m = error_of(with("heads: [{type: classification}]\nbatch_sise: 8\n"));
  EXPECT_EQ(m.rfind("cfg.yaml:4:1: unknown key 'batch_sise' at the top level; did you mean 'batch_size'?", 0),
            0u)
      << m;
}

TEST(ConfigErrors, UnknownNestedKeySuggestsTheClosest) {
  // The backbone's keys are those its registry entry declares, checked before anything loads or is fetched.
  const auto model = error_of("source: {type: files, paths: [" + kImage + "]}\nmodel: {chekpoint: x}\n" +
                                  "heads: [{type: classification}]\n",
                              true);
  EXPECT_EQ(model.rfind("cfg.yaml:2:9: unknown key 'chekpoint' in model; did you mean 'checkpoint'?", 0), 0u) << model;
  const auto preset = error_of("source: {type: files, paths: [" + kImage + "]}\nmodel: {preset: bit-50, " +
                                   "revison: main}\nheads: [{type: classification}]\n",
                               true);
  EXPECT_EQ(preset.rfind("cfg.yaml:2:25: unknown key 'revison' in model; did you mean 'revision'?", 0), 0u)
      << preset;
  // Source and sink parameters are their components' to check (the registry), when the pipeline is built.
  const auto m = error_of("source:\n  type: folder\n  path: " + kData + "/digits/images\n  recursiv: true\n" +
                              "model: {checkpoint: " + kModel + "}\nheads: [{type: classification}]\n",
                          true);
  EXPECT_NE(m.find("cfg.yaml:4:13: recursiv: unknown parameter 'recursiv' for source 'folder'; closest match: "
                   "'recursive'"),
            std::string::npos)
      << m;
  const auto s =
      error_of(with("heads: [{type: classification}]\nsinks:\n  - {type: csv, path: a.csv, top: 3}\n"), true);
  EXPECT_NE(s.find("cfg.yaml:5:35: top: unknown parameter 'top' for sink 'csv'; closest match: 'top_k'"),
            std::string::npos)
      << s;
}

TEST(ConfigErrors, UnknownHeadParameterIsReportedByItsComponentWithPosition) {
  // Head parameters are the head's to check (the registry), so the message names the component first.
  const auto m = error_of(with("heads:\n  - {type: classification, top_kk: 3}\n"), true);
  EXPECT_NE(
      m.find("cfg.yaml:4:36: top_kk: unknown parameter 'top_kk' for head 'classification'; closest match: "
             "'top_k'"),
      std::string::npos)
      << m;
}

TEST(ConfigErrors, WrongTypeSaysWhatWasExpected) {
  const auto m = error_of(with("heads: [{type: classification}]\nbatch_size: eight\n"));
  EXPECT_EQ(m, "cfg.yaml:4:13: batch_size: expected an integer from 1 to 4096, found 'eight'");
  const auto l = error_of(with("heads: {type: classification}\n"));
  EXPECT_EQ(l, "cfg.yaml:3:8: heads: expected a list of mappings, found a mapping");
  const auto b = error_of("source: {type: folder, path: " + kData + "/digits/images, recursive: maybe}\n" +
                              "model: {checkpoint: " + kModel + "}\nheads: [{type: classification}]\n",
                          true);
  EXPECT_EQ(b.rfind("source 'folder': cfg.yaml:1:", 0), 0u) << b;
  EXPECT_NE(b.find(": recursive: has value 'maybe', expected true or false"), std::string::npos) << b;
  // A head parameter of the wrong type, through the registry.
  const auto h = error_of(with("heads:\n  - {type: classification, top_k: many}\n"), true);
  EXPECT_NE(h.find("cfg.yaml:4:35: top_k: has value 'many', expected an integer"), std::string::npos) << h;
}

TEST(ConfigErrors, MissingRequiredKeyPointsAtItsMapping) {
  const auto f = error_of("source: {type: folder}\nmodel: {checkpoint: " + kModel +
                              "}\nheads: [{type: classification}]\n",
                          true);
  EXPECT_NE(f.find("cfg.yaml:1:9: path: is required"), std::string::npos) << f;
  EXPECT_EQ(error_of("source: {path: x}\n"), "cfg.yaml:1:9: source: missing required key 'type' (a source type "
                                              "such as folder, files, glob, list or video, or a plugin's)");
  const auto s = error_of(with("heads: [{type: classification}]\nsinks:\n  - type: jsonl\n"), true);
  EXPECT_NE(s.find("sink 'jsonl': cfg.yaml:5:5: path: is required"), std::string::npos) << s;
  const auto m = error_of("source: {type: folder, path: x}\nheads: [{type: classification}]\n");
  EXPECT_EQ(m.rfind("cfg.yaml:1:1: the config: missing required key 'model'", 0), 0u) << m;
  const auto h = error_of("source: {type: folder, path: x}\nmodel: {checkpoint: x}\n");
  EXPECT_EQ(h.rfind("cfg.yaml:1:1: the config: missing required key 'heads'", 0), 0u) << h;
}

TEST(ConfigErrors, UnknownTypesSuggestTheClosest) {
  const auto src = error_of("source: {type: foldr, path: x}\nmodel: {checkpoint: " + kModel +
                                "}\nheads: [{type: classification}]\n",
                            true);
  EXPECT_EQ(src.rfind("cfg.yaml:1:16: source.type: unknown source type 'foldr'; did you mean 'folder'?", 0),
            0u)
      << src;
  const auto sink =
      error_of(with("heads: [{type: classification}]\nsinks:\n  - {type: jsnol, path: a}\n"), true);
  EXPECT_EQ(sink.rfind("cfg.yaml:5:12: sinks[0].type: unknown sink type 'jsnol'; did you mean 'jsonl'?", 0),
            0u)
      << sink;
  const auto head = error_of(with("heads:\n  - {type: clasification}\n"), true);
  EXPECT_EQ(head.rfind("cfg.yaml:4:12: heads[0].type: unknown head type 'clasification'; did you mean "
                       "'classification'?",
                       0),
            0u)
      << head;
}

TEST(ConfigErrors, InvalidValuesAndRepeatedKeys) {
  EXPECT_EQ(error_of(with("heads: [{type: classification}]\nbatch_size: 0\n")),
            "cfg.yaml:4:13: batch_size: expected an integer from 1 to 4096, found '0'");
  const auto gif = error_of(
      with("heads: [{type: feature_maps}]\nsinks: [{type: heatmap, path: h, stage: s, format: gif}]\n"), true);
  EXPECT_NE(gif.find("cfg.yaml:4:52: format: 'gif' is not one of png, jpg"), std::string::npos) << gif;
  EXPECT_EQ(error_of(with("heads: [{type: classification}]\nthreads: 2\nthreads: 3\n"))
                .rfind("cfg.yaml:5:1: key 'threads' is given twice (first at line 4)", 0),
            0u);
  EXPECT_EQ(
      error_of(with("heads: [{type: classification}, {type: classification}]\n")),
      "cfg.yaml:3:33: heads[1]: a head named 'classification' already exists (or is a reserved record key); "
      "give this one a different 'name'");
}

TEST(ConfigErrors, ChecksMadeWhenThePipelineIsBuiltStillPointAtTheLine) {
  // A heat map of a stage no head returns.
  const auto heat = error_of(with("heads:\n  - {type: classification}\n  - {type: feature_maps}\n"
                                  "sinks:\n  - {type: heatmap, path: h, stage: stage2}\n"),
                             true);
  EXPECT_NE(heat.find("sink 'heatmap': cfg.yaml:7:37: stage: stage 'stage2' is not returned by any feature_maps "
                      "head (they return: stage4)"),
            std::string::npos)
      << heat;
  // A sink naming a head that does not exist.
  const auto head =
      error_of(with("heads: [{type: classification}]\nsinks: [{type: csv, path: a.csv, head: cls}]\n"), true);
  EXPECT_EQ(head, "sink 'csv': cfg.yaml:4:40: head: no head is named 'cls' (heads: classification)");
  // An inline preprocessing value of the wrong kind, checked by the image processor at its YAML line.
  const auto pre = error_of(
      with("preprocess:\n  from: defaults\n  size: banana\nheads: [{type: classification}]\n"), true);
  EXPECT_EQ(pre.rfind("cfg.yaml:5:9: key 'size'", 0), 0u) << pre;
  // A model selection the backbone rejects, at the model's line.
  const auto sel = error_of("source: {type: files, paths: [" + kImage + "]}\nmodel: {checkpoint: " + kModel +
                                ", out_features: [stage9]}\nheads: [{type: classification}]\n",
                            true);
  EXPECT_EQ(sel.rfind("cfg.yaml:2:" + std::to_string(21 + kModel.size() + 16) +
                          ": backbone 'bit': out_features must be "
                          "a subset of stage_names",
                      0),
            0u)
      << sel;
}

TEST(Config, OverridesReplaceSourcesOutputBatchSizeAndThreads) {
  TempDir d;
  d.write("imgs/a.png", testing::png_bytes(8, 8, 1));
  const fs::path f =
      d.write("c.yaml",
              "source: {type: folder, path: imgs, labels_from_folders: true, extensions: [png]}\n"
              "model: {checkpoint: x}\nheads: [{type: classification}]\n");
  auto c = load_config(f);
  Overrides o;
  o.input = (d.path() / "imgs").string();
  o.output = (d.path() / "out").string();
  o.batch_size = 3;
  o.threads = 1;
  apply_overrides(c, o);
  ASSERT_EQ(c.sources.size(), 1u);
  EXPECT_EQ(c.sources[0].type, "folder");
  EXPECT_EQ(c.sources[0].spec["path"].Scalar(), (d.path() / "imgs").string());
  EXPECT_EQ(c.sources[0].spec["labels_from_folders"].Scalar(), "true");  // carried over: it describes the data
  EXPECT_EQ(c.sources[0].spec["extensions"][0].Scalar(), "png");
  EXPECT_EQ(*c.output_dir, d.path() / "out");
  EXPECT_EQ(c.batch_size, 3);
  EXPECT_EQ(c.threads, 1);

  EXPECT_EQ(source_for_path("x/*.png", "/b").type, "glob");
  EXPECT_EQ(source_for_path("x/*.png", "/b").spec["pattern"].Scalar(), "/b/x/*.png");
  EXPECT_EQ(source_for_path("/v/clip.MP4", "/b").type, "video");
  EXPECT_EQ(source_for_path("list.txt", "/b").type, "list");
  EXPECT_EQ(source_for_path("list.txt", "/b").spec["path"].Scalar(), "/b/list.txt");
  const auto one = source_for_path("a.png", "/b");
  EXPECT_EQ(one.type, "files");
  EXPECT_EQ(one.spec["paths"][0].Scalar(), "/b/a.png");

  Overrides bad;
  bad.batch_size = 0;
  try {
    apply_overrides(c, bad);
    FAIL() << "batch size 0 accepted";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "--batch-size: expected an integer from 1 to 4096, found 0");
  }
}

}  // namespace
}  // namespace visbone::pipeline
