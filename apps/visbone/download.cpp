// `visbone download REPO_ID [--revision R]`: fetches a model's config.json, preprocessor_config.json and
// weights from the Hugging Face hub into the cache huggingface_hub shares, and prints the snapshot folder
// (so `visbone inspect "$(visbone download google/bit-50)"` works in scripts).
#include <iostream>

#include "args.h"
#include "visbone/core/errors.h"
#include "visbone/hub/cache.h"
#include "visbone/hub/hub.h"

namespace visbone::app {

int download(const Args& args) {
  po::options_description opts("visbone download REPO_ID [options]");
  opts.add_options()("help,h", "show this help")("repo", po::value<std::string>(),
                                                 "hub repository id, e.g. google/bit-50")(
      "revision", po::value<std::string>()->default_value("main"), "branch, tag or commit hash")(
      "cache-dir", po::value<std::string>(), "cache folder (default: $HF_HUB_CACHE, else $HF_HOME/hub, ...)")(
      "endpoint", po::value<std::string>(), "hub URL (default: $HF_ENDPOINT, else https://huggingface.co)")(
      "offline", "use the cache only (as HF_HUB_OFFLINE=1)")(
      "progress", po::value<std::string>()->default_value("auto"), "progress bars: auto, always or never");
  po::positional_options_description pos;
  pos.add("repo", 1);
  const auto parsed =
      parse_command(args, opts, pos, {{"repo", "REPO_ID"}},
                    "\nThe token comes from $HF_TOKEN or the file `huggingface-cli login` writes.\n");
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  const std::string repo = vm["repo"].as<std::string>();
  hub::validate_repo_id(repo);

  hub::ResolveOptions options;
  options.revision = vm["revision"].as<std::string>();
  if (vm.count("cache-dir")) options.cache_dir = vm["cache-dir"].as<std::string>();
  if (vm.count("endpoint")) options.endpoint = vm["endpoint"].as<std::string>();
  if (vm.count("offline")) options.offline = true;
  options.with_processor_config = true;  // everything a pipeline over the model needs
  const std::string progress = vm["progress"].as<std::string>();
  if (progress == "always")
    options.progress = hub::ProgressMode::always;
  else if (progress == "never")
    options.progress = hub::ProgressMode::never;
  else if (progress != "auto")
    throw ConfigError("--progress: '" + progress + "' is not one of auto, always, never");

  // Always the hub (or its cache): a folder that happens to share
  // the repository's name is not what was asked.
  const auto folder = hub::hub_model(repo, options);
  std::cout << folder.string() << "\n";
  return 0;
}

}  // namespace visbone::app
