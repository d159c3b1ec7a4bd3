// Paths in a pipeline YAML resolve against the YAML file's folder and nothing else; a missing one is a
// ConfigError (exit 2 in the CLI) naming the absolute path looked for and the YAML line:column, raised before
// any model loads.
#include <gtest/gtest.h>

#include <boost/json.hpp>

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

const std::string kImage = kData + "/digits/images/digit_0000.png";
const std::string kDigitsModel = kData + "/models/bit-tiny-digits";

// Restores the working folder when the test ends.
class InFolder {
 public:
  explicit InFolder(const fs::path& dir) : old_(fs::current_path()) { fs::current_path(dir); }
  ~InFolder() { fs::current_path(old_); }
  InFolder(const InFolder&) = delete;
  InFolder& operator=(const InFolder&) = delete;

 private:
  fs::path old_;
};

std::string build_error(const fs::path& cfg) {
  return visbone::testing::message_of([&] { Pipeline p(load_config(cfg), register_pipeline_builtins); });
}

TEST(ConfigPaths, ARelativeCheckpointResolvesAgainstTheYamlFolderNotTheWorkingFolder) {
  TempDir d;
  fs::create_directory_symlink(kDigitsModel, d / "model");
  const std::string body = "source: {type: files, paths: [" + kImage +
                           "]}\nmodel: {checkpoint: model}\nheads: [{type: classification}]\n";
  const fs::path nested = d.write("sub/c.yaml", body);
  const fs::path beside = d.write("c.yaml", body);
  const InFolder cwd(d.path());  // `model` exists here, but not beside sub/c.yaml
  EXPECT_EQ(build_error(nested), nested.string() + ":2:21: model.checkpoint: 'model' does not exist: no folder " +
                                     "'model' at " + (d / "sub/model").string() +
                                     ", and it is not a hub repository id (NAMESPACE/NAME, like google/bit-50); "
                                     "expected a checkpoint folder, a .npz file or a hub id");
  EXPECT_NO_THROW(Pipeline p(load_config(beside), register_pipeline_builtins));
}

TEST(ConfigPaths, MissingPathsAreConfigErrorsWithTheAbsolutePathAndLine) {
  TempDir d;
  const std::string model = "model: {checkpoint: " + kDigitsModel + "}\nheads: [{type: classification}]\n";
  const auto check = [&](const std::string& yaml, const std::string& at, const std::string& missing) {
    const fs::path cfg = d.write("c.yaml", yaml);
    try {
      Pipeline p(load_config(cfg), register_pipeline_builtins);
      ADD_FAILURE() << "no error for:\n" << yaml;
    } catch (const ConfigError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(cfg.string() + ":" + at + ": "), std::string::npos) << m;
      EXPECT_NE(m.find((d / missing).string()), std::string::npos) << m;
    }
  };
  // Sources check their paths when built, at the value's position.
  check("source: {type: folder, path: imgs}\n" + model, "1:30", "imgs");
  check("source: {type: files, paths: [a.png]}\n" + model, "1:30", "a.png");
  check("source: {type: list, path: l.txt}\n" + model, "1:28", "l.txt");
  check("source: {type: files, paths: [" + kImage + "]}\n" + model + "plugins: [libs/p.so]\n", "4:11",
        "libs/p.so");
  check("source: {type: files, paths: [" + kImage + "]}\n" + model + "preprocess: {from: pp.json}\n", "4:20",
        "pp.json");
  check("source: {type: files, paths: [" + kImage +
            "]}\nmodel: {config: {depths: [1], hidden_sizes: [8], num_groups: 8}, weights: w.safetensors}\n"
            "heads: [{type: classification}]\n",
        "2:75", "w.safetensors");
  // A head's files are checked before the model loads: here the model is missing too, and the head is named.
  const std::string source =
      "source: {type: files, paths: [" + kImage + "]}\nmodel: {checkpoint: no-such-model}\n";
  check(source + "heads: [{type: classification, weights: w/c.safetensors}]\n", "3:41", "w/c.safetensors");
  check(source + "heads:\n  - {type: embedding}\n  - {type: knn, gallery: g.safetensors, k: 3}\n", "5:26",
        "g.safetensors");
}

TEST(ConfigPaths, RunWithAMissingInputExitsTwoBeforeTheModelLoads) {
  TempDir d;
  const fs::path cfg = d.write("c.yaml", "source: {type: files, paths: [" + kImage + "]}\nmodel: {checkpoint: " +
                                             kDigitsModel +
                                             "}\nheads: [{type: classification}]\n"
                                             "sinks: [{type: jsonl, path: out.jsonl}]\n");
  d.write("out.jsonl", "earlier run\n");
  const auto r = testing::run_visbone({"run", cfg.string(), "--input", (d / "nowhere").string()});
  EXPECT_EQ(r.status, 2) << r.all();
  EXPECT_NE(r.err.find("--input: " + (d / "nowhere").string() + " does not exist"), std::string::npos) << r.err;
  EXPECT_EQ(testing::read_file(d / "out.jsonl"), "earlier run\n") << "the old output is left alone";

  // A checkpoint missing beside the YAML: exit 2 with the line and column and the absolute path.
  const fs::path bad = d.write("bad.yaml", "source: {type: files, paths: [" + kImage +
                                               "]}\nmodel: {checkpoint: ../models/x}\nheads: [{type: "
                                               "classification}]\n");
  const auto b = testing::run_visbone({"run", bad.string()});
  EXPECT_EQ(b.status, 2) << b.all();
  EXPECT_NE(b.err.find(bad.string() + ":2:21: model.checkpoint:"), std::string::npos) << b.err;
  EXPECT_NE(b.err.find((d.path().parent_path() / "models/x").string()), std::string::npos) << b.err;
}

// A record names its input by one clean absolute path, however the config was named and whether the folder
// came from the YAML (relative to it, through `..`) or from --input (relative to the working folder): never
// `configs/../data/...`.
TEST(ConfigPaths, RecordPathsAreCleanAbsolutePathsFromTheYamlAsFromInput) {
  TempDir d;
  d.write("data/digits/3/a.png", testing::png_bytes(32, 32, 1, 3));
  d.write("configs/c.yaml", "source: {type: folder, path: ../data/digits, labels_from_folders: true}\n"
                            "model: {checkpoint: " + kDigitsModel + "}\nheads: [{type: classification}]\n"
                            "sinks: [{type: jsonl, path: out.jsonl}]\n");
  const std::string expected = (d / "data/digits/3/a.png").string();
  int run = 0;
  const auto record_path = [&](const fs::path& cwd, std::vector<std::string> args) {
    const InFolder in(cwd);
    const fs::path out = d / ("out" + std::to_string(run++));
    args.insert(args.begin(), "run");
    args.insert(args.end(), {"--output", out.string()});
    const auto r = testing::run_visbone(args);
    EXPECT_EQ(r.status, 0) << r.all();
    const auto lines = testing::read_lines(out / "out.jsonl");
    if (lines.size() != 1) return "(" + std::to_string(lines.size()) + " records)";
    return std::string(boost::json::parse(lines[0]).at("path").as_string());
  };
  EXPECT_EQ(record_path(d.path(), {"configs/c.yaml"}), expected);
  EXPECT_EQ(record_path(d / "configs", {"c.yaml"}), expected);
  EXPECT_EQ(record_path(d / "data", {"../configs/./c.yaml"}), expected);
  EXPECT_EQ(record_path(d / "configs", {"c.yaml", "--input", "../data/./digits"}), expected);
}

}  // namespace
}  // namespace visbone::pipeline
