// The command line as a new user meets it: --version, help, suggestions for a mistyped command, the README's
// command table, forward's --key, convert's --dtype, JSON numbers and inspect --pretty, run --plugin.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "support/support.h"
#include "visbone/core/json_writer.h"
#include "visbone/core/safetensors.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kData = VISBONE_TEST_DATA;

testing::RunResult run(const std::string& args) { return testing::run_visbone_line(args); }

TEST(CliUsability, VersionAndHelp) {
  auto r = run("--version");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "visbone " VISBONE_VERSION_TEXT "\n");
  r = run("help inspect");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("visbone inspect MODEL"));
  EXPECT_THAT(r.out, HasSubstr("--out-features"));
  r = run("help");
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.out, HasSubstr("download"));
  r = run("help nosuch");
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command 'nosuch'"));
}

// Every subcommand says which required arguments are missing, with its usage line, and exits 2 (one parser:
// apps/visbone/args.h's parse_command).
TEST(CliUsability, AMissingArgumentIsNamedWithTheUsage) {
  const std::pair<const char*, const char*> cases[] = {
      {"inspect", "visbone inspect: MODEL is required (usage: visbone inspect MODEL [options])"},
      {"bench --size 64", "visbone bench: MODEL is required (usage: visbone bench MODEL [options])"},
      {"forward m --key x", "visbone forward: --input and --output are required (usage: visbone forward MODEL"},
      {"convert", "visbone convert: SRC, --to and DEST are required"},
      {"run", "visbone run: CONFIG.yaml is required (usage: visbone run CONFIG.yaml [options])"},
      {"serve", "visbone serve: CONFIG.yaml is required"},
      {"fit c.yaml --input d", "visbone fit: --output is required"},
      {"merge", "visbone merge: OUTPUT_DIR is required (usage: visbone merge OUTPUT_DIR)"},
      {"download", "visbone download: REPO_ID is required"},
      {"preprocess a.png", "visbone preprocess: --output is required"},
      {"preprocess --output o.safetensors", "visbone preprocess: IMAGE... is required"},
  };
  for (const auto& [line, message] : cases) {
    const auto r = run(line);
    EXPECT_EQ(r.status, 2) << line;
    EXPECT_THAT(r.err, HasSubstr(message)) << line;
  }
}

TEST(CliUsability, UnknownCommandGetsTheClosestOne) {
  auto r = run("inpsect x");
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command 'inpsect'; did you mean 'inspect'?"));
  r = run("convrt x");
  EXPECT_THAT(r.err, HasSubstr("did you mean 'convert'?"));
  r = run("zzzzzz");
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, Not(HasSubstr("did you mean")));
}

TEST(CliUsability, ReadmeCommandTableListsEverySubcommand) {
  const auto r = run("help");
  ASSERT_EQ(r.status, 0);
  const std::string readme = testing::read_file(fs::path(VISBONE_PROJECT_DIR) / "README.md");
  // The command list of `visbone help`: two-space indented lines after "commands:".
  const std::regex line(R"(\n  ([a-z]+) )");
  int n = 0;
  for (std::sregex_iterator it(r.out.begin(), r.out.end(), line), end; it != end; ++it, ++n)
    EXPECT_THAT(readme, HasSubstr("| `visbone " + (*it)[1].str())) << "README's command table lacks " << (*it)[1];
  EXPECT_GE(n, 8);
}

TEST(CliUsability, ForwardWithAWrongKeyListsTheTensors) {
  testing::TempDir d;
  const auto r = run("forward " + kData + "/models/tiny-preact --input " + kData +
                     "/models/tiny-preact/reference.safetensors --key pixel_values --output " +
                     (d / "o.safetensors").string());
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("has no tensor 'pixel_values'"));
  EXPECT_THAT(r.err, HasSubstr(".pixel_values'?"));                  // a suggestion
  EXPECT_THAT(r.err, HasSubstr("Its tensors: a.backbone.feature_maps.0 [2, 16, 16, 16], "));  // with shapes
  EXPECT_THAT(r.err, HasSubstr("b.pixel_values [1, 3, 75, 93]"));
  EXPECT_FALSE(fs::exists(d / "o.safetensors"));
}

DType stored_dtype(const fs::path& file) { return SafetensorsFile::open(file).tensors().front().dtype; }

TEST(CliUsability, ConvertKeepsTheSourceDtypeUnlessTold) {
  testing::TempDir d;
  const std::string src = kData + "/models/tiny-preact";
  ASSERT_EQ(stored_dtype(src + "/model.safetensors"), DType::F32);
  auto r = run("convert " + src + " " + (d / "f16").string() + " --to hf --dtype f16");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(stored_dtype(d / "f16" / "model.safetensors"), DType::F16);
  // An F16 source stays F16 (it used to double to F32), in either naming.
  r = run("convert " + (d / "f16").string() + " " + (d / "again").string() + " --to timm");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(stored_dtype(d / "again" / "model.safetensors"), DType::F16);
  EXPECT_LT(fs::file_size(d / "again" / "model.safetensors"), fs::file_size(src + "/model.safetensors") * 6 / 10);
  r = run("convert " + (d / "again").string() + " " + (d / "bf16").string() + " --to hf --dtype bf16");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(stored_dtype(d / "bf16" / "model.safetensors"), DType::BF16);
  // The converted model still runs: inspect reads it back.
  EXPECT_EQ(run("inspect " + (d / "bf16").string()).status, 0);
  r = run("convert " + src + " " + (d / "x").string() + " --to hf --dtype f8");
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("--dtype 'f8': expected f32, f16 or bf16"));
}

TEST(CliUsability, ConvertWritesConfigNumbersAsPythonDoes) {
  testing::TempDir d;
  const auto r = run("convert " + kData + "/models/tiny-preact " + (d / "t").string() + " --to timm");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string config = testing::read_file(d / "t" / "config.json");
  EXPECT_THAT(config, HasSubstr("\"conv_eps\": 1e-08"));  // Boost.JSON alone writes 1E-8
  EXPECT_THAT(config, HasSubstr("\"preact\": true"));
}

TEST(CliUsability, InspectPrettyIsIndentedJson) {
  const auto compact = run("inspect " + kData + "/models/tiny-preact");
  const auto pretty = run("inspect " + kData + "/models/tiny-preact --pretty");
  ASSERT_EQ(pretty.status, 0) << pretty.err;
  EXPECT_EQ(compact.out.find('\n'), compact.out.size() - 1) << "not a terminal: one line";
  EXPECT_THAT(pretty.out, HasSubstr("{\n  \"model\": \""));
  EXPECT_THAT(pretty.out, HasSubstr("\n  \"stage_names\": [\"stem\", \"stage1\", \"stage2\", \"stage3\", \"stage4\"],\n"));
  EXPECT_THAT(pretty.out, HasSubstr("\n  \"output_shape\": {\n    \"stem\": {\n      \"channels\": "));
  EXPECT_EQ(boost::json::parse(pretty.out), boost::json::parse(compact.out));
}

TEST(CliUsability, InspectListsAndSelectsStemConvOnTimmModels) {
  const auto r = run("inspect " + kData + "/models/timm-tiny-w2/timm --out-features stem_conv,stage2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(R"("out_features":["stem_conv","stage2"],"out_indices":[2])"));
  EXPECT_THAT(r.out, HasSubstr(R"("output_shape":{"stem_conv":{"channels":32,"stride":2},"stem":)"));
}

// Scores in the jsonl records are float32: written with float32's shortest digits, as Python prints them.
TEST(CliUsability, JsonlScoresAtFloat32Precision) {
  testing::TempDir d;
  const auto r = run("run " + (fs::path(VISBONE_PROJECT_DIR) / "configs" / "default.yaml").string() + " --input " +
                     (fs::path(VISBONE_PROJECT_DIR) / "data" / "digits" / "3").string() + " --output " +
                     d.path().string() + " --progress none");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string jsonl = testing::read_file(d / "predictions.jsonl");
  const std::regex score(R"("score":([-0-9.e+]+))");
  int n = 0;
  for (std::sregex_iterator it(jsonl.begin(), jsonl.end(), score), end; it != end; ++it, ++n) {
    const std::string text = (*it)[1].str();
    const float value = std::strtof(text.c_str(), nullptr);
    EXPECT_EQ(json_number_text(value), text) << "not float32's shortest form";
    EXPECT_EQ(text.find('E'), std::string::npos);
  }
  EXPECT_GT(n, 10);
  const std::string summary = testing::read_file(d / "summary.json");
  EXPECT_THAT(summary, HasSubstr("\"failed\":0,"));
  EXPECT_EQ(summary.find("E-"), std::string::npos) << summary;
}

TEST(CliUsability, RunLoadsPluginsGivenOnTheCommandLine) {
  testing::TempDir d;
  d.write("in/a.png", testing::read_file(kData + "/preprocess/images/chelsea.png"));
  const auto config = d.write("p.yaml",
                              "source: {type: folder, path: in}\n"
                              "model: {type: tiny_cnn, channels: [8, 16], seed: 7}\n"
                              "preprocess: {from: defaults, size: {shortest_edge: 32}, crop_size: 32}\n"
                              "heads: [{type: embedding}]\n"
                              "sinks: [{type: jsonl, path: out.jsonl, tensors: true}]\n");
  const std::map<std::string, std::optional<std::string>> no_path = {{"VISBONE_PLUGIN_PATH", std::nullopt}};
  auto r = testing::run_visbone_line("run " + config.string() + " --progress none", no_path);
  EXPECT_NE(r.status, 0) << "tiny_cnn is a plugin's: unknown without it";
  r = testing::run_visbone_line("run " + config.string() + " --progress none --plugin " + TINY_CNN_PLUGIN, no_path);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(testing::read_file(d / "out.jsonl"), HasSubstr("\"embedding\":["));
}

// A plugin backbone gets the build-time input check BiT gets, through the Backbone contract: preprocessing
// that makes 3-channel images for a 1-channel tiny_cnn is refused before any input is read.
TEST(CliUsability, PluginBackboneInputsAreCheckedWhenThePipelineIsBuilt) {
  const testing::TempDir d;
  d.write("in/a.png", testing::read_file(kData + "/preprocess/images/chelsea.png"));
  const auto config = d.write("p.yaml",
                              "source: {type: folder, path: in}\n"
                              "model: {type: tiny_cnn, in_channels: 1, channels: [8, 16], seed: 7}\n"
                              "preprocess: {from: defaults, size: {shortest_edge: 32}, crop_size: 32}\n"
                              "heads: [{type: embedding}]\n"
                              "sinks: [{type: jsonl, path: out.jsonl}]\n");
  const auto r = testing::run_visbone_line("run " + config.string() + " --progress none --plugin " + TINY_CNN_PLUGIN,
                                           {{"VISBONE_PLUGIN_PATH", std::nullopt}});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("preprocess: image_mean has 3 entries but the model takes 1-channel inputs"));
  EXPECT_FALSE(fs::exists(d / "out.jsonl"));
}

// Without `preprocess:`, a plugin backbone is preprocessed with the defaults it declares, not BiT's (the
// notice names them); one that declares none (tiny_cnn over other than 3 channels) asks for the settings,
// exit 2.
TEST(CliUsability, APluginBackboneGetsItsOwnPreprocessingDefaults) {
  const testing::TempDir d;
  d.write("in/a.png", testing::read_file(kData + "/preprocess/images/chelsea.png"));
  const auto run_model = [&](const std::string& name, const std::string& model) {
    const auto config =
        d.write(name, "source: {type: folder, path: in}\nmodel: " + model +
                          "\nheads: [{type: embedding}]\nsinks: [{type: jsonl, path: out.jsonl, tensors: true}]\n");
    return testing::run_visbone_line(
        "run " + config.string() + " --progress none --plugin " + TINY_CNN_PLUGIN,
        {{"VISBONE_PLUGIN_PATH", std::nullopt}});
  };
  auto r = run_model("rgb.yaml", "{type: tiny_cnn, channels: [8, 16], seed: 7}");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err,
            "note: the model has no checkpoint folder; preprocessing with tiny_cnn's defaults (64x64 crop, "
            "mean/std 0.5)\n");
  EXPECT_THAT(testing::read_file(d / "out.jsonl"), HasSubstr("\"embedding\":["));
  r = run_model("gray.yaml", "{type: tiny_cnn, in_channels: 1, channels: [8, 16], seed: 7}");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("the backbone declares no preprocessing defaults; give the settings inline"));
}

// Config mistakes found when the pipeline is built: exit 2, the YAML line:column of the value, the closest valid
// value. Each would otherwise surface later or elsewhere (a needs error without a position; a missing file
// named "default"; a bare list of choices).
TEST(CliUsability, ConfigMistakesNameTheirLineAndTheClosestValue) {
  const testing::TempDir d;
  d.write("a.png", testing::read_file(kData + "/preprocess/images/chelsea.png"));
  const std::string model = "model: {checkpoint: " + kData + "/models/tiny-preact";
  const auto run_config = [&](const std::string& name, const std::string& rest) {
    return testing::run_visbone_line(
        "run " + d.write(name, "source: {type: files, paths: [a.png]}\n" + rest).string() + " --progress none");
  };
  auto r = run_config("stage.yaml", model + "}\npreprocess: {from: defaults}\nheads:\n  - {type: feature_maps, "
                                            "out_features: [stage1, stage9]}\n");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("stage.yaml:5:49: out_features: head 'feature_maps' cannot be fed by this backbone: "
                               "it needs stage 'stage9', which the backbone does not have."));
  EXPECT_THAT(r.err, HasSubstr("stage4 (256 channels, stride 32), pooled (256 channels); did you mean 'stage1'?"));
  r = run_config("stag.yaml", model + "}\npreprocess: {from: defaults}\nheads: [{type: feature_maps, out_features: "
                                      "[stag4]}]\n");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("stag.yaml:4:45: out_features: head 'feature_maps' cannot be fed by this backbone: "
                               "it needs stage 'stag4'"));
  EXPECT_THAT(r.err, HasSubstr("did you mean 'stage4'?"));
  r = run_config("from.yaml", model + "}\npreprocess: {from: default}\nheads: [{type: classification}]\n");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("from.yaml:3:20: preprocess.from: " + (d / "default").string() +
                               " does not exist; did you mean 'defaults'?"));
  r = run_config("scalar.yaml", model + "}\npreprocess: checkpont\nheads: [{type: classification}]\n");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("scalar.yaml:3:13: preprocess.from: " + (d / "checkpont").string() +
                               " does not exist; did you mean 'checkpoint'?"));
  r = run_config("prec.yaml", model + ", precision: bf61}\nheads: [{type: classification}]\n");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("precision: is 'bf61', expected f32, bf16 or auto; did you mean 'bf16'?"));
  EXPECT_THAT(r.err, HasSubstr("prec.yaml:2:"));
  r = run_config("algo.yaml", model + ", algorithm: winogard}\nheads: [{type: classification}]\n");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("algorithm: is 'winogard', expected auto, direct or winograd; did you mean "
                               "'winograd'?"));
}

}  // namespace
}  // namespace visbone
