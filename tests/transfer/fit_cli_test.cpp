// `visbone fit` end to end: features through the pipeline, the probe, the checkpoint that `visbone run` then
// loads, compared with scikit-learn's accuracy on the same split; the feature cache; bad configs and folders.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <regex>

#include "support/support.h"
#include "visbone/core/safetensors.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;

const fs::path kData = VISBONE_TEST_DATA;
const fs::path kDigits = kData.parent_path().parent_path() / "data" / "digits";

// The split of sklearn_reference.py as folders: per class, files in name order; the first `shots` under
// train/, the 11th on under test/.
void make_split(const testing::TempDir& dir, int shots) {
  for (const auto& cls : fs::directory_iterator(kDigits)) {
    std::vector<fs::path> files;
    for (const auto& f : fs::directory_iterator(cls.path())) files.push_back(f.path());
    std::sort(files.begin(), files.end());
    const std::string c = cls.path().filename().string();
    fs::create_directories(dir / ("train/" + c));
    fs::create_directories(dir / ("test/" + c));
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (i < static_cast<std::size_t>(shots))
        fs::copy_file(files[i], dir / ("train/" + c) / files[i].filename());
      if (i >= 10) fs::copy_file(files[i], dir / ("test/" + c) / files[i].filename());
    }
  }
}

// A fit config over the tiny-preact random-weight model, preprocessed as features_random.yaml does.
std::string fit_yaml(const std::string& fit_section) {
  return "model: {checkpoint: " + (kData / "models/tiny-preact").string() +
         "}\n"
         "preprocess: {from: defaults, size: {shortest_edge: 32}, crop_size: {height: 32, width: 32}, "
         "image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5]}\n"
         "batch_size: 32\nthreads: 1\n"
         "fit:\n" +
         fit_section + "  cache_dir: cache\n";
}

// sklearn's test accuracy for the random-model features at `shots` and `c`.
double sklearn_accuracy(int shots, double c) {
  const auto ref = json::parse(testing::read_file(kData / "digits/fit_reference.json"));
  for (const auto& row : ref.at("sets").at("tiny-preact-random").at("rows").as_array())
    if (row.at("shots").as_int64() == shots)
      for (const auto& p : row.at("probe").as_array())
        if (p.at("C").as_double() == c) return p.at("accuracy").as_double();
  ADD_FAILURE() << "no reference for " << shots << " shots, C=" << c;
  return -1;
}

// `visbone run` of the fitted checkpoint over test/: the accuracy its summary prints (correct / labelled).
double run_accuracy(const testing::TempDir& dir, const std::string& checkpoint) {
  dir.write("run.yaml",
            "source: {type: folder, path: test, labels_from_folders: true}\n"
            "model: {checkpoint: " +
                checkpoint +
                "}\n"
                "heads: [{type: classification, top_k: 1}]\nbatch_size: 32\nthreads: 1\n");
  const auto r = testing::run_visbone({"run", (dir / "run.yaml").string()});
  EXPECT_EQ(r.status, 0) << r.all();
  std::smatch m;
  const std::string out = r.out;
  if (!std::regex_search(out, m, std::regex(R"(\((\d+)/(\d+) labelled)"))) {
    ADD_FAILURE() << "no accuracy in: " << out;
    return -1;
  }
  return std::stod(m[1]) / std::stod(m[2]);
}

TEST(FitCli, ProbeMatchesScikitLearnThroughVisboneRunAndTheCacheSkipsTheBackbone) {
  testing::TempDir dir;
  make_split(dir, 10);
  dir.write("fit.yaml", fit_yaml("  C: 1\n"));
  auto r = testing::run_visbone({"fit", (dir / "fit.yaml").string(), "--input", (dir / "train").string(),
                                 "--output", (dir / "out").string()});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_THAT(r.out, HasSubstr("100 images in 10 classes (100 computed by the backbone, 0 from the cache"));
  EXPECT_THAT(r.out, HasSubstr("converged"));
  const double acc = run_accuracy(dir, "out");
  EXPECT_NEAR(acc, sklearn_accuracy(10, 1.0), 0.005);

  // The folder is a BitForImageClassification checkpoint: labels in config.json, classifier.1.* (K, C).
  const auto config = json::parse(testing::read_file(dir / "out/config.json")).as_object();
  EXPECT_EQ(config.at("num_labels").as_int64(), 10);
  EXPECT_EQ(config.at("id2label").at("3").as_string(), "3");
  EXPECT_EQ(config.at("label2id").at("7").as_int64(), 7);
  EXPECT_EQ(json::serialize(config.at("architectures")), R"(["BitForImageClassification"])");
  const auto weights = SafetensorsFile::open(dir / "out/model.safetensors");
  EXPECT_EQ(weights.load("classifier.1.weight").shape(), (Shape{10, 256}));
  EXPECT_EQ(weights.load("classifier.1.bias").shape(), (Shape{10}));
  // What transformers' from_pretrained matches by name and shape: every tensor of the source checkpoint (saved
  // by transformers) under the same name, dtype and shape, the classifier's rows now the 10 labels.
  std::map<std::string, std::pair<DType, Shape>> expected, written;
  const auto source = SafetensorsFile::open(kData / "models/tiny-preact/model.safetensors");
  for (const auto& t : source.tensors())
    expected[t.name] = {t.dtype, t.name.starts_with("classifier.1.") ? Shape{} : t.shape};
  for (const auto& t : weights.tensors())
    written[t.name] = {t.dtype, t.name.starts_with("classifier.1.") ? Shape{} : t.shape};
  EXPECT_EQ(written, expected);
  const auto pre = json::parse(testing::read_file(dir / "out/preprocessor_config.json")).as_object();
  EXPECT_EQ(pre.at("crop_size").at("height").as_int64(), 32);

  // Another C: every feature from the cache, no backbone pass; the head follows the new C.
  dir.write("fit.yaml", fit_yaml("  C: 0.1\n"));
  r = testing::run_visbone({"fit", (dir / "fit.yaml").string(), "--input", (dir / "train").string(),
                            "--output", (dir / "out").string()});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_THAT(r.out, HasSubstr("(0 computed by the backbone, 100 from the cache"));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("through the backbone")));
  EXPECT_NEAR(run_accuracy(dir, "out"), sklearn_accuracy(10, 0.1), 0.005);
  EXPECT_EQ(json::parse(testing::read_file(dir / "out/fit_report.json")).at("C").as_double(), 0.1);

  // Other preprocessing is another model key: computed again.
  std::string yaml = fit_yaml("  C: 0.1\n");
  yaml.replace(yaml.find("shortest_edge: 32"), 17, "shortest_edge: 40");
  dir.write("fit.yaml", yaml);
  r = testing::run_visbone({"fit", (dir / "fit.yaml").string(), "--input", (dir / "train").string(),
                            "--output", (dir / "out2").string()});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_THAT(r.out, HasSubstr("(100 computed by the backbone, 0 from the cache"));

  // Other numerics (the 3x3 algorithm from the environment) is another key too, as for `visbone run`'s records.
  const std::vector<std::string> again{"fit", (dir / "fit.yaml").string(), "--input", (dir / "train").string(),
                                       "--output", (dir / "out3").string()};
  r = testing::run_visbone(again, {{"VISBONE_CONV_ALGORITHM", "direct"}});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_THAT(r.out, HasSubstr("(100 computed by the backbone, 0 from the cache"));
  const auto key = [&](const char* out) {
    return json::parse(testing::read_file(dir / out / "fit_report.json")).at("features").at("model_key").as_string();
  };
  EXPECT_NE(key("out3"), key("out2"));

  // One new image: only it goes through the backbone.
  fs::copy_file(dir / "test/3/" / fs::directory_iterator(dir / "test/3")->path().filename(), dir / "train/3/new.png");
  r = testing::run_visbone(again);
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_THAT(r.out, HasSubstr("101 images in 10 classes (1 computed by the backbone, 100 from the cache"));
  EXPECT_EQ(key("out3"), key("out2"));
}

TEST(FitCli, CrossValidationChoosesCAndIsDeterministic) {
  testing::TempDir dir;
  make_split(dir, 5);
  dir.write("fit.yaml", fit_yaml("  C: [0.01, 1, 100]\n  folds: 5\n  seed: 3\n"));
  std::string reports[2];
  for (auto& report : reports) {
    const auto r = testing::run_visbone({"fit", (dir / "fit.yaml").string(), "--input",
                                         (dir / "train").string(), "--output", (dir / "out").string()});
    ASSERT_EQ(r.status, 0) << r.all();
    EXPECT_THAT(r.out, HasSubstr("5-fold CV: C=0.01: "));
    auto j = json::parse(testing::read_file(dir / "out/fit_report.json")).as_object();
    j.erase("seconds");
    j.at("features").as_object().erase("computed");
    j.at("features").as_object().erase("from_cache");
    report = json::serialize(j);
    double best = -1, best_c = 0;
    for (const auto& s : j.at("cv").at("scores").as_array())
      if (s.at("cv_accuracy").as_double() > best)
        best = s.at("cv_accuracy").as_double(), best_c = s.at("C").as_double();
    EXPECT_EQ(j.at("C").as_double(), best_c);
  }
  EXPECT_EQ(reports[0], reports[1]);
  EXPECT_EQ(testing::read_file(dir / "out/model.safetensors").size() > 0, true);
}

TEST(FitCli, PrototypeHeadIsTheNearestClassMean) {
  testing::TempDir dir;
  make_split(dir, 5);
  dir.write("fit.yaml", fit_yaml("  head: prototype\n"));
  const auto r = testing::run_visbone({"fit", (dir / "fit.yaml").string(), "--input",
                                       (dir / "train").string(), "--output", (dir / "out").string()});
  ASSERT_EQ(r.status, 0) << r.all();
  const auto ref = json::parse(testing::read_file(kData / "digits/fit_reference.json"));
  double numpy_acc = -1;
  for (const auto& row : ref.at("sets").at("tiny-preact-random").at("rows").as_array())
    if (row.at("shots").as_int64() == 5) numpy_acc = row.at("prototype_accuracy").as_double();
  EXPECT_NEAR(run_accuracy(dir, "out"), numpy_acc, 0.005);
}

TEST(FitCli, BadConfigsAndFoldersAreUsageErrors) {
  testing::TempDir dir;
  make_split(dir, 1);
  const auto fit = [&](const std::string& yaml, const std::string& input = "train",
                       const std::string& out = "out") {
    dir.write("fit.yaml", yaml);
    return testing::run_visbone({"fit", (dir / "fit.yaml").string(), "--input", (dir / input).string(),
                                 "--output", (dir / out).string()});
  };
  auto r = fit(fit_yaml("  C: 1\n  fods: 3\n"));
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("fit.yaml:7:3: fit: unknown key 'fods'"));
  r = fit(fit_yaml("  C: [1, -2]\n"));
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("fit.C: -2"));
  // Scalars typed as every visbone YAML reader types them (YAML 1.2's core schema): 0x10 is not an integer.
  r = fit(fit_yaml("  C: 1\n  folds: 0x10\n"));
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("fit.yaml:7:10: fit.folds: expected an integer >= 2"));
  r = fit(fit_yaml("  C: 1\n  seed: -1\n"));
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("fit.seed: -1, expected a non-negative integer"));
  r = fit(fit_yaml("  C: 1\n") + "heads: []\n");
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown key 'heads'"));
  r = fit(fit_yaml("  C: 1\n"), "train/3");
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("class folders with images; a classifier needs at least two"));
  // A model problem is reported at its line in the user's file, not in the generated pipeline.
  r = fit("threads: 1\nmodel: {checkpoint: " + (kData / "models/tiny-preact").string() +
          ", out_features: [stage9]}\nfit: {C: 1}\n");
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("fit.yaml:2:"));
  // OUT_DIR holding someone else's files is not replaced.
  dir.write("taken/notes.txt", std::string("mine"));
  r = fit(fit_yaml("  C: 1\n"), "train", "taken");
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("holds files fit did not write (notes.txt)"));
  EXPECT_EQ(testing::read_file(dir / "taken/notes.txt"), "mine");
}

// The shipped fit config trains on the demo digits (its paths resolve against its own folder).
TEST(FitCli, ShippedConfigFits) {
  testing::TempDir dir;
  const fs::path config = kData.parent_path().parent_path() / "configs/fit/digits.yaml";
  const auto r = testing::run_visbone({"fit", config.string(), "--input", kDigits.string(), "--output",
                                       (dir / "out").string(), "--cache-dir", (dir / "cache").string()});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_THAT(r.out, HasSubstr("300 images in 10 classes (300 computed by the backbone"));
  EXPECT_THAT(r.out, HasSubstr("5-fold CV: C=0.01: "));
  EXPECT_TRUE(fs::exists(dir / "out/model.safetensors"));
}

TEST(FitCli, HelpDescribesTheFitSection) {
  const auto r = testing::run_visbone({"help", "fit"});
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.out, HasSubstr("--input"));
  EXPECT_THAT(r.out, HasSubstr("folds: 5"));
}

}  // namespace
}  // namespace visbone
