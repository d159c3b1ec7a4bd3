// `visbone fit CONFIG.yaml --input TRAIN_DIR --output OUT_DIR [--cache-dir DIR]`: trains a linear head on the
// pooled features of a labelled folder (ImageFolder layout) and writes OUT_DIR as a complete checkpoint
// (backbone weights + classifier.1.*, config.json with the labels, preprocessor_config.json,
// fit_report.json) that `visbone run` and transformers' BitForImageClassification.from_pretrained load.
// CONFIG has `model:` and `preprocess:` as for `visbone run` and a `fit:` section (transfer/fit_config.h).
// Exit status: 0 done, 1 a failure while running, 2 a config or usage error.
#include <boost/json.hpp>
#include <chrono>
#include <iostream>

#include "args.h"
#include "visbone/core/errors.h"
#include "visbone/core/json_writer.h"
#include "visbone/transfer/classifier_checkpoint.h"
#include "visbone/transfer/cross_validation.h"
#include "visbone/transfer/fit_config.h"
#include "visbone/transfer/image_folder.h"
#include "visbone/transfer/prototypes.h"
#include "visbone/transfer/training_features.h"

namespace visbone::app {

namespace fs = std::filesystem;
namespace json = boost::json;

int fit(const Args& args) {
  po::options_description opts(
      "visbone fit CONFIG.yaml --input TRAIN_DIR --output OUT_DIR [--cache-dir DIR]");
  opts.add_options()("help,h", "show this help")("config", po::value<std::string>(),
                                                 "the YAML: model:, preprocess:, fit:")(
      "input", po::value<std::string>(), "training images, one folder per class (ImageFolder layout)")(
      "output", po::value<std::string>(), "the checkpoint folder to write (replaced as a whole)")(
      "cache-dir", po::value<std::string>(),
      "feature cache folder (default: fit.cache_dir, else $XDG_CACHE_HOME/visbone/features)");
  po::positional_options_description pos;
  pos.add("config", 1);
  const auto parsed = parse_command(
      args, opts, pos, {{"config", "CONFIG.yaml"}, {"input", "--input"}, {"output", "--output"}},
      "\nThe YAML's fit: section (defaults shown):\n"
      "  fit:\n"
      "    head: probe          # probe: multinomial logistic regression (L-BFGS); prototype: "
      "nearest class mean\n"
      "    C: [0.01, 0.1, 1, 10, 100]   # inverse L2 strengths as scikit-learn's C; several: "
      "k-fold CV picks one\n"
      "    folds: 5             # stratified folds for the CV\n"
      "    seed: 0              # the folds' shuffle\n"
      "    max_iter: 1000\n"
      "    tolerance: 1.0e-6    # stop when the largest gradient entry (of the 1/N-scaled "
      "objective) is below\n"
      "    cache_dir: DIR       # features by image-bytes hash, per model + preprocessing hash\n");
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  transfer::FitConfig config = transfer::load_fit_config(vm["config"].as<std::string>());
  if (vm.count("cache-dir")) config.fit.cache_dir = fs::absolute(vm["cache-dir"].as<std::string>());
  const fs::path out_dir = vm["output"].as<std::string>();
  const auto images = transfer::list_image_folder(vm["input"].as<std::string>());
  const fs::path checkpoint = transfer::model_checkpoint(config);
  const auto preprocessor = transfer::preprocessor_json(
      config.root["preprocess"], fs::is_directory(checkpoint) ? checkpoint : checkpoint.parent_path(),
      config.base_dir, config.file.string() + ": preprocess");

  const auto features = transfer::training_features(config, images, std::cerr);
  std::cout << "features: " << images.paths.size() << " images in " << images.classes.size() << " classes ("
            << features.computed << " computed by the backbone, " << features.from_cache << " from the cache "
            << config.fit.cache_dir.string() << ")\n";

  const auto t0 = std::chrono::steady_clock::now();
  transfer::LinearModel head;
  json::object report{{"head", config.fit.head == transfer::HeadKind::probe ? "probe" : "prototype"},
                      {"images", images.paths.size()},
                      {"classes", json::value_from(images.classes)},
                      {"features",
                       {{"channels", features.data.d},
                        {"computed", features.computed},
                        {"from_cache", features.from_cache},
                        {"model_key", features.model_key}}}};
  if (config.fit.head == transfer::HeadKind::prototype) {
    head = transfer::fit_prototypes(features.data);
  } else {
    const auto cv = transfer::cross_validate(features.data, config.fit.cs, config.fit.folds, config.fit.seed,
                                             config.fit.solver);
    transfer::SolverOptions o = config.fit.solver;
    o.c = cv.best_c;
    head = transfer::fit_logistic_regression(features.data, o);
    json::array scores;
    for (const auto& s : cv.scores) scores.push_back({{"C", s.c}, {"cv_accuracy", s.accuracy}});
    if (cv.scores.size() > 1) {
      std::cout << config.fit.folds << "-fold CV:";
      for (const auto& s : cv.scores) std::cout << " C=" << s.c << ": " << s.accuracy;
      std::cout << "\n";
    }
    report["C"] = cv.best_c;
    report["cv"] = {{"folds", config.fit.folds}, {"seed", config.fit.seed}, {"scores", scores}};
    report["solver"] = {{"iterations", head.iterations},
                        {"converged", head.converged},
                        {"gradient_max", head.gradient_norm},
                        {"tolerance", o.tolerance},
                        {"objective", head.objective}};
    std::cout << "probe: C=" << cv.best_c << ", " << head.iterations << " L-BFGS iterations, "
              << (head.converged ? "converged" : "NOT converged") << " (max |gradient| " << head.gradient_norm
              << ")\n";
    if (!head.converged)
      std::cerr << "warning: the solver stopped at max_iter " << o.max_iter
                << " before the gradient fell below " << o.tolerance << "; raise fit.max_iter\n";
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report["train_accuracy"] = head.accuracy(features.data);
  report["seconds"] = seconds;
  std::cout << "training accuracy " << head.accuracy(features.data) << " (" << seconds << " s)\n";
  transfer::write_classifier_checkpoint(checkpoint, out_dir, head, images.classes, preprocessor, report);
  std::cout << "wrote " << out_dir.string() << "\n";
  return 0;
}

}  // namespace visbone::app
