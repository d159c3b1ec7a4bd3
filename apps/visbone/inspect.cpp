// `visbone inspect MODEL [--out-features a,b | --out-indices i,j] [--size H,W] [--pretty]`: the model's config
// summary, stages, resolved selection, output shapes (with --size: each stage's height and width for that
// input), detectron2's size_divisibility / padding_constraints and parameter count, as JSON on stdout
// (indented with --pretty or when stdout is a terminal, one line otherwise).
#include <unistd.h>

#include <boost/json.hpp>
#include <iostream>
#include <optional>

#include "args.h"
#include "model_arg.h"
#include "visbone/bit/bit_backbone.h"
#include "visbone/core/errors.h"
#include "visbone/core/json_writer.h"

namespace visbone::app {

int inspect(const Args& args) {
  po::options_description opts("visbone inspect MODEL [options]");
  opts.add_options()("help,h", "show this help")("model", po::value<std::string>(), "checkpoint folder or hub id")(
      "out-features", po::value<std::string>(), "stages to return, e.g. stage2,stage4")(
      "out-indices", po::value<std::string>(), "stage indices to return, e.g. 2,-1")(
      "size", po::value<std::string>(), "input height,width: add each stage's height and width")(
      "pretty", "indent the JSON (the default when stdout is a terminal)");
  po::positional_options_description pos;
  pos.add("model", 1);
  const auto parsed = parse_command(args, opts, pos, {{"model", "MODEL"}});
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  std::optional<std::pair<std::int64_t, std::int64_t>> size;
  if (vm.count("size")) {
    const auto hw = parse_int_list(vm["size"].as<std::string>(), "size");
    if (hw.size() != 2 || hw[0] < 1 || hw[1] < 1)
      throw ConfigError("--size is '" + vm["size"].as<std::string>() + "', expected HEIGHT,WIDTH (positive)");
    size.emplace(hw[0], hw[1]);
  }
  const auto options = selection_options(vm);
  const auto backbone = bit::BitBackbone::from_pretrained(resolve_model_arg(vm["model"].as<std::string>()), options);
  const auto& c = backbone->model().config();

  boost::json::object config{{"model_type", "bit"},
                             {"layer_type", bit::to_string(c.layer_type)},
                             {"hidden_act", bit::to_string(c.hidden_act)},
                             {"global_padding", c.global_padding == bit::Padding::Default
                                                    ? boost::json::value(nullptr)
                                                    : boost::json::value(bit::to_string(c.global_padding))},
                             {"num_channels", c.num_channels},
                             {"embedding_size", c.embedding_size},
                             {"hidden_sizes", boost::json::value_from(c.hidden_sizes)},
                             {"depths", boost::json::value_from(c.depths)},
                             {"num_groups", c.num_groups},
                             {"output_stride", c.output_stride},
                             {"width_factor", c.width_factor},
                             {"embedding_dynamic_padding", c.embedding_dynamic_padding},
                             {"num_labels", c.num_labels()}};
  // Every selectable map, shallowest first: timm-origin models also offer stem_conv (see bit_model.h).
  std::vector<std::string> names = backbone->stage_names();
  if (backbone->output_shape().count(bit::kStemConv)) names.insert(names.begin(), bit::kStemConv);
  boost::json::object shapes;
  const auto sized = size ? backbone->output_shape(size->first, size->second) : std::map<std::string, ShapeSpec>{};
  for (const auto& name : names) {
    const auto s = backbone->output_shape().at(name);
    auto& shape = shapes[name].emplace_object();
    shape = {{"channels", s.channels}, {"stride", s.stride}};
    if (size) {
      shape["height"] = sized.at(name).height;
      shape["width"] = sized.at(name).width;
    }
  }
  boost::json::object constraints;
  for (const auto& [key, value] : backbone->padding_constraints()) constraints[key] = value;
  boost::json::object out{{"model", vm["model"].as<std::string>()},
                          {"config", config},
                          {"stage_names", boost::json::value_from(backbone->stage_names())},
                          {"out_features", boost::json::value_from(backbone->out_features())},
                          {"out_indices", boost::json::value_from(backbone->out_indices())},
                          {"output_shape", shapes},
                          {"size_divisibility", backbone->size_divisibility()},
                          {"padding_constraints", constraints},
                          {"has_classifier", backbone->model().has_classifier()},
                          {"parameter_count", backbone->model().parameter_count()}};
  const bool pretty = vm.count("pretty") || isatty(STDOUT_FILENO);
  std::cout << to_json_text(out, pretty ? JsonStyle::pretty : JsonStyle::compact) << "\n";
  return 0;
}

}  // namespace visbone::app
