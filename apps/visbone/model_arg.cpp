#include "model_arg.h"

#include "visbone/core/errors.h"
#include "visbone/hub/hub.h"

namespace visbone::app {

std::filesystem::path resolve_model_arg(const std::string& model) {
  // A local folder or .npz file as is; else a hub repository (org/name), fetched into or found in the
  // huggingface_hub cache (the one model resolver, core/model_name.h).
  return hub::resolve_model_name(model).path;
}

bit::BitBackboneOptions selection_options(const po::variables_map& vm) {
  bit::BitBackboneOptions o;
  if (vm.count("out-features")) o.out_features = split_list(vm["out-features"].as<std::string>());
  if (vm.count("out-indices")) o.out_indices = parse_int_list(vm["out-indices"].as<std::string>(), "out-indices");
  return o;
}

std::optional<bit::Precision> precision_option(const po::variables_map& vm) {
  if (!vm.count("precision")) return std::nullopt;
  const auto text = vm["precision"].as<std::string>();
  const auto p = bit::parse_precision(text);
  if (!p) throw ConfigError("--precision is '" + text + "', expected f32, bf16 or auto");
  return p;
}

}  // namespace visbone::app
