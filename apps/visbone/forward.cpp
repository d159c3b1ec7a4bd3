// `visbone forward MODEL --input IN.safetensors --key NAME --output OUT.safetensors [--out-indices ...]`:
// runs one input tensor through the model and writes every output under transformers' names
// (hidden_states.i, last_hidden_state, pooler_output, logits, backbone.feature_maps.j).
#include <iostream>

#include "args.h"
#include "model_arg.h"
#include "visbone/core/closest_match.h"
#include "visbone/core/errors.h"
#include "visbone/core/safetensors.h"

namespace visbone::app {

int forward(const Args& args) {
  po::options_description opts("visbone forward MODEL --input IN --key NAME --output OUT [options]");
  opts.add_options()("help,h", "show this help")("model", po::value<std::string>(), "checkpoint folder or hub id")(
      "input", po::value<std::string>(), "safetensors file holding the input")(
      "key", po::value<std::string>()->default_value("pixel_values"), "name of the (N, C, H, W) input tensor")(
      "output", po::value<std::string>(), "safetensors file to write")(
      "out-features", po::value<std::string>(), "backbone stages for backbone.feature_maps.*")(
      "out-indices", po::value<std::string>(), "backbone stage indices for backbone.feature_maps.*")(
      "precision", po::value<std::string>(), kPrecisionHelp);
  po::positional_options_description pos;
  pos.add("model", 1);
  const auto parsed =
      parse_command(args, opts, pos, {{"model", "MODEL"}, {"input", "--input"}, {"output", "--output"}});
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;

  // The input first: a wrong --key is found before the model loads.
  const auto input = SafetensorsFile::open(vm["input"].as<std::string>());
  const std::string key = vm["key"].as<std::string>();
  if (!input.find(key)) {
    std::vector<std::string> names;
    std::string listed;
    for (const auto& t : input.tensors()) {
      names.push_back(t.name);
      listed += (listed.empty() ? "" : ", ") + t.name + " " + shape_str(t.shape);
    }
    const std::string near = closest_match(key, names);
    throw ConfigError("--key: " + input.name() + " has no tensor '" + key + "'" +
                      (near.empty() ? "" : "; did you mean '" + near + "'?") + " Its tensors: " +
                      (listed.empty() ? "none" : listed));
  }
  const Tensor pixels = input.load(key);
  auto options = selection_options(vm);
  options.precision = precision_option(vm);
  const auto backbone = bit::BitBackbone::from_pretrained(resolve_model_arg(vm["model"].as<std::string>()), options);

  auto& model = backbone->model();
  bit::BitRequest req;
  const int stages = static_cast<int>(model.stage_names().size());
  for (int i = 0; i < stages; ++i) req.stages.push_back(i);
  req.last_hidden_state = req.pooled = true;
  req.logits = model.has_classifier();
  auto out = model.forward(pixels, req);

  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [i, t] : out.stages) tensors.emplace_back("hidden_states." + std::to_string(i), t);
  tensors.emplace_back("last_hidden_state", out.last_hidden_state);
  tensors.emplace_back("pooler_output", out.pooled);
  if (req.logits) tensors.emplace_back("logits", out.logits);
  for (int idx : backbone->out_indices()) {
    const int j = idx < 0 ? idx + stages : idx;
    tensors.emplace_back("backbone.feature_maps." + std::to_string(j), out.stages.at(j));
  }
  write_safetensors(vm["output"].as<std::string>(), tensors);
  std::cerr << "wrote " << tensors.size() << " tensors to " << vm["output"].as<std::string>() << "\n";
  return 0;
}

}  // namespace visbone::app
