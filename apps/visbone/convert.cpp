// `visbone convert SRC --to hf|timm DEST [--dtype f32|f16|bf16]`: moves BiT weights between ecosystems. SRC
// is any format visbone reads (transformers or timm folder, .npz); DEST gets config.json + model.safetensors
// in the chosen naming, stored in the source's dtype unless --dtype says otherwise. DEST is replaced as a whole:
// the files are written and synced in a staging folder that is then swapped in, so a full disk or a kill
// leaves the previous DEST as it was, never one file of each conversion.
#include <boost/json.hpp>
#include <iostream>

#include "args.h"
#include "model_arg.h"
#include "visbone/bit/checkpoint_formats.h"
#include "visbone/core/checkpoint.h"
#include "visbone/core/errors.h"
#include "visbone/core/json_writer.h"
#include "visbone/core/safetensors.h"
#include "visbone/core/replaceable_folder.h"
#include "visbone/pipeline/atomic_file.h"
#include "visbone/pipeline/staged_folder.h"

namespace visbone::app {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// timm's config.json for a BiT ResNetV2 (model_args as timm's constructor takes them).
json::value timm_config_json(const bit::BitConfig& c) {
  const int stem = c.embedding_size / c.width_factor;
  if (c.embedding_size % c.width_factor || bit::make_div(static_cast<double>(stem) * c.width_factor) != c.embedding_size)
    throw ConfigError("embedding_size " + std::to_string(c.embedding_size) + " is not a timm stem width scaled by width_factor " +
                      std::to_string(c.width_factor));
  if (c.layer_type != bit::LayerType::Preactivation || c.global_padding != bit::Padding::Default ||
      c.hidden_act != bit::Activation::Relu || c.embedding_dynamic_padding)
    throw ConfigError("only preactivation BiT models with default padding and relu have a timm ResNetV2 equivalent");
  return json::object{{"architecture", "resnetv2"},
                      {"num_classes", c.num_labels()},
                      {"num_features", c.stage_channels(static_cast<int>(c.depths.size()))},
                      {"model_args", {{"layers", json::value_from(c.depths)},
                                      {"channels", json::value_from(c.hidden_sizes)},
                                      {"stem_chs", stem},
                                      {"width_factor", c.width_factor},
                                      {"num_groups", c.num_groups},
                                      {"output_stride", c.output_stride},
                                      {"stem_type", "fixed"},
                                      {"conv_eps", 1e-8},
                                      {"preact", true}}}};
}

// The dtype the source stores its weights in: the one all its floating-point tensors share (an .npz, or a
// mixture, is written as F32).
DType source_dtype(const fs::path& src, bit::WeightFormat format) {
  if (format == bit::WeightFormat::Npz) return DType::F32;
  std::optional<DType> found;
  const auto see = [&](DType d) {
    if (d != DType::F32 && d != DType::F16 && d != DType::BF16 && d != DType::F64) return;
    if (found && *found != d) d = DType::F32;
    found = d;
  };
  if (format == bit::WeightFormat::Transformers) {
    const auto ckpt = Checkpoint::open(src);
    for (const auto& name : ckpt.tensor_names()) see(ckpt.find(name)->dtype);
  } else {
    const auto weights = SafetensorsFile::open(src / "model.safetensors");
    for (const auto& t : weights.tensors()) see(t.dtype);
  }
  return found && *found != DType::F64 ? *found : DType::F32;
}

DType dtype_option(const std::string& value) {
  if (value == "f32") return DType::F32;
  if (value == "f16") return DType::F16;
  if (value == "bf16") return DType::BF16;
  throw ConfigError("--dtype '" + value + "': expected f32, f16 or bf16");
}

}  // namespace

int convert(const Args& args) {
  po::options_description opts("visbone convert SRC --to hf|timm DEST [--dtype f32|f16|bf16]");
  opts.add_options()("help,h", "show this help")("src", po::value<std::string>(), "checkpoint folder or .npz")(
      "dest", po::value<std::string>(), "output folder (created)")("to", po::value<std::string>(), "hf or timm")(
      "config", po::value<std::string>(), "config.json giving the architecture of a .npz named unlike Google's")(
      "dtype", po::value<std::string>(), "f32, f16 or bf16 (default: the source's dtype)");
  po::positional_options_description pos;
  pos.add("src", 1).add("dest", 1);
  const auto parsed = parse_command(args, opts, pos, {{"src", "SRC"}, {"to", "--to"}, {"dest", "DEST"}});
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  const std::string to = vm["to"].as<std::string>();
  if (to != "hf" && to != "timm") throw ConfigError("--to '" + to + "': expected hf or timm");
  std::optional<DType> dtype;
  if (vm.count("dtype")) dtype = dtype_option(vm["dtype"].as<std::string>());

  const fs::path src = resolve_model_arg(vm["src"].as<std::string>());
  bit::ConvertedWeights w;
  const bit::WeightFormat format = bit::detect_format(src);
  if (!dtype) dtype = source_dtype(src, format);
  switch (format) {
    case bit::WeightFormat::Transformers: {
      auto ckpt = Checkpoint::open(src);
      w.config = bit::BitConfig::from_json(ckpt.config(), (src / "config.json").string());
      for (const auto& name : ckpt.tensor_names()) w.tensors.emplace_back(name, ckpt.load(name, ckpt.find(name)->shape));
      break;
    }
    case bit::WeightFormat::Timm:
      w = bit::load_timm(src);
      break;
    case bit::WeightFormat::Npz: {
      std::optional<bit::BitConfig> config;
      if (vm.count("config")) config = bit::BitConfig::from_file(vm["config"].as<std::string>());
      w = bit::load_npz(src, config);
      break;
    }
  }
  const fs::path dest = vm["dest"].as<std::string>();
  // DEST is replaced as a whole, so it may hold only what an earlier convert wrote.
  check_replaceable_folder(dest, {"config.json", "model.safetensors"}, "convert");
  const json::value config = to == "hf" ? w.config.to_json() : timm_config_json(w.config);
  const auto tensors = to == "hf" ? w.tensors : bit::to_timm_names(w.tensors);
  pipeline::StagedFolder staged(dest);
  write_safetensors(staged.path() / "model.safetensors", tensors, {}, *dtype);
  pipeline::AtomicFile config_file(staged.path() / "config.json");
  config_file.write(to_json_text(config, JsonStyle::pretty) + "\n");
  config_file.commit();
  staged.commit();
  std::cerr << "wrote " << tensors.size() << " tensors (" << to << " names, " << dtype_name(*dtype) << ") to "
            << dest.string() << "\n";
  return 0;
}

}  // namespace visbone::app
