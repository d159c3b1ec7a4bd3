#include "visbone/bit/bit_component.h"

#include <boost/json.hpp>

#include "visbone/bit/bit_backbone.h"
#include "visbone/bit/bit_presets.h"
#include "visbone/bit/checkpoint_formats.h"
#include "visbone/core/checkpoint.h"
#include "visbone/core/closest_match.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/core/model_name.h"
#include "visbone/core/safetensors.h"

namespace visbone::bit {
namespace {

namespace fs = std::filesystem;
using registry::Params;

// "is 'bf61', expected f32, bf16 or auto; did you mean 'bf16'?"
std::string not_one_of(const std::string& value, const std::vector<std::string>& choices) {
  std::string expected;
  for (std::size_t i = 0; i < choices.size(); ++i)
    expected += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  return "is '" + value + "', expected " + expected + "; did you mean '" + closest_match(value, choices) + "'?";
}

BitBackboneOptions backbone_options(const Params& p) {
  BitBackboneOptions o;
  o.out_features = p.find<std::vector<std::string>>("out_features");
  o.out_indices = p.find<std::vector<int>>("out_indices");
  o.winograd = p.find<bool>("winograd");
  o.primitive_cache = p.find<int>("primitive_cache");
  if (o.primitive_cache && *o.primitive_cache < 1)
    p.fail("primitive_cache", "is " + std::to_string(*o.primitive_cache) + ", expected a number of input shapes >= 1");
  if (const auto text = p.find<std::string>("algorithm")) {
    o.algorithm = parse_conv_algorithm(*text);
    if (!o.algorithm) p.fail("algorithm", not_one_of(*text, {"auto", "direct", "winograd"}));
  }
  if (const auto text = p.find<std::string>("precision")) {
    o.precision = parse_precision(*text);
    if (!o.precision) p.fail("precision", not_one_of(*text, {"f32", "bf16", "auto"}));
  }
  return o;
}

// A `checkpoint` value as a local path, by the one model resolver (core/model_name.h): an existing file or
// folder (relative to the YAML's folder), else a hub id fetched through the program's resolver.
fs::path local_checkpoint(const Params& p, const ModelResolver& resolver) {
  const auto value = p.get<std::string>("checkpoint");
  if (value.empty()) p.fail("checkpoint", "is an empty path");
  HubFetch fetch;
  if (resolver)
    fetch = [&](const std::string& id) { return resolver(id, p.get<std::string>("revision", "main")); };
  try {
    return resolve_model_name(value, {p.base_dir(), {}, "a checkpoint folder, a .npz file or a hub id"},
                              fetch)
        .path;
  } catch (const ModelNotFoundError& e) {
    p.fail("checkpoint", e.what());
  }
}

std::optional<Semantics> semantics(const Params& p) {
  const auto s = p.find<std::string>("semantics");
  if (!s) return std::nullopt;
  if (*s == "transformers") return Semantics::Transformers;
  if (*s == "timm") return Semantics::Timm;
  p.fail("semantics", not_one_of(*s, {"transformers", "timm"}));
}

// The model_type of a folder's config.json ("" when it has none or it is not a transformers config).
std::string model_type(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "config.json", ec)) return "";
  const auto config = read_json_file(dir / "config.json");
  const auto* t = config.is_object() ? config.as_object().if_contains("model_type") : nullptr;
  return t && t->is_string() ? std::string(t->as_string()) : "";
}

// transformers' ViT-hybrid checkpoints hold a BitBackbone under "[vit.]embeddings.patch_embeddings.backbone."
// and its BitConfig as config.json's backbone_config: take that part as a BiT checkpoint of its own.
std::unique_ptr<Backbone> load_vit_hybrid(const fs::path& dir, const BitBackboneOptions& options) {
  auto ckpt = Checkpoint::open(dir);
  const auto where = (dir / "config.json").string();
  const auto* backbone_config = ckpt.config().as_object().if_contains("backbone_config");
  if (!backbone_config || !backbone_config->is_object())
    throw ConfigError(where + ": a vit-hybrid config without backbone_config (the BiT backbone's BitConfig)");
  static const std::string kStem = "patch_embeddings.backbone.bit.embedder.convolution.weight";
  std::string prefix;
  for (const auto& name : ckpt.tensor_names())
    if (name.size() >= kStem.size() && name.compare(name.size() - kStem.size(), kStem.size(), kStem) == 0)
      prefix = name.substr(0, name.size() - kStem.size()) + "patch_embeddings.backbone.";
  if (prefix.empty())
    throw NotFoundError(dir.string() + ": no ViT-hybrid backbone weights (a tensor ending in '" + kStem +
                        "')");
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& name : ckpt.tensor_names())
    if (name.rfind(prefix, 0) == 0)
      tensors.emplace_back(name.substr(prefix.size()), ckpt.load(name, ckpt.find(name)->shape));
  // ViTHybridConfig's default backbone keeps BitConfig's four hidden_sizes for its three depths;
  // transformers' BitEncoder zips the two lists, so the extra sizes are never built.
  boost::json::value bit_config = *backbone_config;
  auto& bc = bit_config.as_object();
  const auto* depths = bc.if_contains("depths");
  auto* sizes = bc.if_contains("hidden_sizes");
  if (depths && sizes && depths->is_array() && sizes->is_array() &&
      sizes->as_array().size() > depths->as_array().size())
    sizes->as_array().resize(depths->as_array().size());
  auto bit = Checkpoint::from_weights(dir, bit_config,
                                      SafetensorsFile::from_bytes(encode_safetensors(tensors), dir.string()));
  auto config = BitConfig::from_json(bit_config, where + ": backbone_config");
  if (options.semantics) config.semantics = *options.semantics;
  return std::make_unique<BitBackbone>(std::make_shared<BitModel>(std::move(config), bit), options);
}

std::unique_ptr<Backbone> load(const fs::path& path, const Params& p, BitBackboneOptions options) {
  options.semantics = semantics(p);
  return load_checkpoint(path, options);
}

std::unique_ptr<Backbone> make_bit(const Params& p, const ModelResolver& resolver) {
  const bool has_checkpoint = p.has("checkpoint"), has_config = p.has("config");
  if (has_checkpoint == has_config)
    p.fail(has_config ? "config" : "checkpoint",
           "give exactly one of checkpoint (a folder, .npz or hub id such as google/bit-50) and config (an "
           "inline BitConfig with weights); or name a preset as the type (bit-50, R50x1, ...)");
  if (has_checkpoint) return load(local_checkpoint(p, resolver), p, backbone_options(p));

  if (!p.has("weights"))
    p.fail("weights", "is required with config (a .safetensors file, a folder or a .npz file)");
  auto options = backbone_options(p);
  const auto config_json = p.json("config");
  options.config = BitConfig::from_json(config_json, p.where("config"));
  const fs::path weights = p.path("weights");
  std::error_code ec;
  if (!fs::exists(weights, ec))
    p.fail("weights", fs::absolute(weights, ec).lexically_normal().string() + " does not exist");
  if (fs::is_directory(weights, ec) || weights.extension() == ".npz") return load(weights, p, options);
  // A bare safetensors file under transformers' names: the inline config is the only description it has.
  auto ckpt = Checkpoint::from_weights(weights, config_json, SafetensorsFile::open(weights));
  auto config = *options.config;
  if (const auto s = semantics(p)) config.semantics = *s;
  return std::make_unique<BitBackbone>(std::make_shared<BitModel>(std::move(config), ckpt), options);
}

std::unique_ptr<Backbone> make_preset(const BitPreset& preset, const Params& p,
                                      const ModelResolver& resolver) {
  auto options = backbone_options(p);
  fs::path path;
  if (p.has("checkpoint")) {
    path = local_checkpoint(p, resolver);
  } else if (!preset.model_id.empty()) {
    if (!resolver)
      p.fail("checkpoint", "is needed: preset " + preset.name + " would fetch " + preset.model_id +
                               " from the hub, and this program has no hub client; give a local folder");
    path = resolver(preset.model_id, p.get<std::string>("revision", "main"));
  } else {
    p.fail("checkpoint", "is required: preset " + preset.name +
                             " has no transformers BiT checkpoint on the hub" +
                             (preset.timm_name.empty() ? "" : " (timm: " + preset.timm_name + ")") +
                             "; give a timm folder, a BiT .npz file or a transformers folder");
  }
  // A .npz named unlike Google's releases carries no architecture: the preset supplies it.
  std::error_code ec;
  if (!fs::is_directory(path, ec) && detect_format(path) == WeightFormat::Npz) options.config = preset.config;
  auto backbone = load(path, p, options);
  const auto& loaded = static_cast<BitBackbone&>(*backbone).model().config();
  std::string diff;
  if (!same_architecture(loaded, preset.config, &diff))
    p.fail("checkpoint",
           "'" + path.string() + "' is not a " + preset.name + " model: " + diff + " (checkpoint vs preset)");
  return backbone;
}

// What every BiT backbone takes besides where its weights come from (backbone_options, semantics).
std::vector<registry::ParamInfo> model_params() {
  return {{"revision", "string", "main", "the hub revision of a hub id (branch, tag or commit)"},
          {"semantics", "string", "the checkpoint's", "transformers or timm (they differ in dilated units)"},
          {"out_features", "list of strings", "the config's", "the stages returned, e.g. [stage2, stage4]"},
          {"out_indices", "list of ints", "the config's", "the stages returned by index (0 = stem)"},
          {"algorithm", "string", "auto",
           "fp32 convolutions: auto (Winograd for 3x3 stride 1, columns for strided ones from 256 channels), direct or winograd"},
          {"winograd", "bool", "(see algorithm)", "the older spelling of algorithm: winograd or direct"},
          {"precision", "string", "f32", "f32 (exact), bf16 or auto"},
          {"primitive_cache", "int", "16", "input shapes each convolution keeps compiled primitives for"}};
}

}  // namespace

std::unique_ptr<Backbone> load_checkpoint(const fs::path& path, const BitBackboneOptions& options) {
  std::error_code ec;
  if (fs::is_directory(path, ec) && model_type(path) == "vit-hybrid") return load_vit_hybrid(path, options);
  return BitBackbone::from_pretrained(path, options);
}

void register_components(registry::ComponentRegistrar& registrar, ModelResolver resolver) {
  auto bit_params = model_params();
  bit_params.insert(bit_params.begin(),
                    {{"checkpoint", "string", "none (give it or config)",
                      "a transformers/timm/ViT-hybrid folder, a .npz file or a hub id"},
                     {"config", "mapping", "none (give it or checkpoint)",
                      "an inline BitConfig (transformers' config.json keys)"},
                     {"weights", "path", "none (required with config)",
                      "the weights for config: a .safetensors file, a folder or a .npz"}});
  registrar.add_backbone(
      "bit",
      "BiT from checkpoint: (transformers/timm/ViT-hybrid folder, .npz, hub id) or config: + "
      "weights:",
      [resolver](const Params& p) { return make_bit(p, resolver); }, bit_params);
  for (const auto& preset : bit_presets()) {
    auto params = model_params();
    params.insert(params.begin(),
                  {"checkpoint", "string", preset.model_id.empty() ? "(required)" : preset.model_id,
                   "weights of this architecture: a folder, a .npz file or a hub id"});
    registrar.add_backbone(
        preset.name, preset.description,
        [&preset, resolver](const Params& p) { return make_preset(preset, p, resolver); }, std::move(params),
        preset.model_id);
  }
}

}  // namespace visbone::bit
