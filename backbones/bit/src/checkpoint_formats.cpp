#include "visbone/bit/checkpoint_formats.h"

#include <boost/json.hpp>
#include <charconv>

#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/core/npz.h"
#include "visbone/core/safetensors.h"

namespace visbone::bit {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// Reads a non-negative decimal number at the front of `s`, advancing it.
std::optional<int> take_number(std::string_view& s) {
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end == s.data() || v < 0) return std::nullopt;
  s.remove_prefix(static_cast<std::size_t>(end - s.data()));
  return v;
}

bool take(std::string_view& s, std::string_view token) {
  if (!s.starts_with(token)) return false;
  s.remove_prefix(token.size());
  return true;
}

// "<prefix>S<middle>U<sep>rest" -> (S, U, rest), e.g. stages.2.blocks.0.conv1.weight.
struct Indexed {
  int stage, unit;
  std::string rest;
};
std::optional<Indexed> parse_indexed(std::string_view s, std::string_view prefix, std::string_view middle, char sep) {
  if (!take(s, prefix)) return std::nullopt;
  const auto a = take_number(s);
  if (!a || !take(s, middle)) return std::nullopt;
  const auto b = take_number(s);
  if (!b || s.empty() || s.front() != sep) return std::nullopt;
  return Indexed{*a, *b, std::string(s.substr(1))};
}

// "50x3" -> (50, 3) when the depth is one of BiT's.
std::optional<std::pair<int, int>> parse_depth_width(std::string_view& s) {
  const auto layers = take_number(s);
  if (!layers || !take(s, "x")) return std::nullopt;
  const auto width = take_number(s);
  // Widths past 64 are refused here (validate() would) before make_div(64 * width) could overflow.
  if (!width || *width < 1 || *width > 64 || (*layers != 50 && *layers != 101 && *layers != 152))
    return std::nullopt;
  return std::pair{*layers, *width};
}

// BiT's three depths, by the number in the architecture name.
std::optional<std::vector<int>> bit_depths(int layers) {
  if (layers == 50) return std::vector<int>{3, 4, 6, 3};
  if (layers == 101) return std::vector<int>{3, 4, 23, 3};
  if (layers == 152) return std::vector<int>{3, 8, 36, 3};
  return std::nullopt;
}

BitConfig bit_architecture(int layers, int width) {
  BitConfig c;  // BiT defaults: stem 64, channels 256..2048, 32 groups, preactivation, padding null
  c.depths = *bit_depths(layers);
  c.width_factor = width;
  // Like timm, the stem scales with the width factor (make_div(64 * wf)); transformers' embedding_size is
  // the stem's real width.
  c.embedding_size = make_div(64.0 * width);
  return c;
}

// More classes than any real dataset has (ImageNet-21k: 21843): bounds a timm config's label table.
constexpr std::int64_t kMaxTimmClasses = 1'000'000;

void set_labels(BitConfig& c, std::int64_t n) {
  c.id2label.clear();
  for (int i = 0; i < n; ++i) c.id2label[i] = "LABEL_" + std::to_string(i);
}

// (K, C, 1, 1) or HWIO (1, 1, C, K) head kernels -> (K, C).
Tensor head_to_linear(const Tensor& t, bool hwio) {
  const std::int64_t k = hwio ? t.dim(3) : t.dim(0), c = hwio ? t.dim(2) : t.dim(1);
  if (!hwio) return t.view({k, c});
  Tensor out({k, c});
  for (std::int64_t i = 0; i < c; ++i)
    for (std::int64_t j = 0; j < k; ++j) out.data()[j * c + i] = t.data()[i * k + j];
  return out;
}

Tensor hwio_to_oihw(const Tensor& t, const std::string& where) {
  if (t.rank() != 4) throw FormatError(where + ": kernel of shape " + shape_str(t.shape()) + ", expected HWIO (4 dims)");
  const std::int64_t h = t.dim(0), w = t.dim(1), i = t.dim(2), o = t.dim(3);
  Tensor out({o, i, h, w});
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x)
      for (std::int64_t a = 0; a < i; ++a)
        for (std::int64_t b = 0; b < o; ++b) out.data()[((b * i + a) * h + y) * w + x] = t.data()[((y * w + x) * i + a) * o + b];
  return out;
}

}  // namespace

std::string to_string(WeightFormat f) {
  switch (f) {
    case WeightFormat::Transformers: return "transformers";
    case WeightFormat::Timm: return "timm";
    case WeightFormat::Npz: return "npz";
  }
  return "?";
}

WeightFormat detect_format(const fs::path& path) {
  if (fs::is_regular_file(path)) {
    if (path.extension() == ".npz") return WeightFormat::Npz;
    throw FormatError(path.string() + ": expected a checkpoint folder or a BiT .npz file");
  }
  if (!fs::is_directory(path)) throw NotFoundError(path.string() + ": no such checkpoint folder or file");
  if (fs::exists(path / "config.json")) {
    const auto cfg = read_json_file(path / "config.json");
    if (cfg.is_object() && (cfg.as_object().contains("architecture") || cfg.as_object().contains("model_args")))
      return WeightFormat::Timm;
    return WeightFormat::Transformers;
  }
  int npz = 0;
  for (const auto& e : fs::directory_iterator(path)) npz += e.path().extension() == ".npz";
  if (npz == 1) return WeightFormat::Npz;
  throw NotFoundError(path.string() + ": no config.json (transformers or timm) and " +
                      (npz ? "several .npz files" : "no .npz file") + "; not a BiT checkpoint");
}

BitConfig timm_config(const json::value& cfg, const std::string& where) {
  if (!cfg.is_object()) throw ConfigError(where + ": expected a JSON object");
  const auto& o = cfg.as_object();
  BitConfig c;
  if (const auto* arch = o.if_contains("architecture"); arch && arch->is_string()) {
    const std::string name(arch->as_string());
    // resnetv2_50x1_bit, with an optional pretrained tag: resnetv2_50x1_bit.goog_in21k
    std::string_view rest = std::string_view(name).substr(0, name.find('.'));
    std::optional<std::pair<int, int>> dw;
    if (take(rest, "resnetv2_")) dw = parse_depth_width(rest);
    if (dw && rest == "_bit") {
      c = bit_architecture(dw->first, dw->second);
    } else if (!o.contains("model_args")) {
      throw ConfigError(where + ": architecture '" + name +
                        "' is not a BiT model (expected resnetv2_{50,101,152}x{N}_bit) and there are no model_args");
    }
  }
  if (const auto* a = o.if_contains("model_args")) {
    if (!a->is_object()) throw ConfigError(where + ": model_args must be an object");
    const auto& args = a->as_object();
    auto ints = [&](const char* key) { return json::value_to<std::vector<int>>(args.at(key)); };
    auto num = [&](const char* key) {
      const auto v = args.at(key).to_number<std::int64_t>();
      // Bounded before make_div and int arithmetic see it; validate() then checks each value's own range.
      if (v < 0 || v > (1 << 20))
        throw ConfigError(where + ": model_args." + key + " is " + std::to_string(v) +
                          ", expected 0 to 1048576");
      return static_cast<int>(v);
    };
    try {
      if (args.contains("layers")) c.depths = ints("layers");
      if (args.contains("channels")) c.hidden_sizes = ints("channels");
      if (args.contains("width_factor")) c.width_factor = num("width_factor");
      c.embedding_size = make_div((args.contains("stem_chs") ? num("stem_chs") : 64) * static_cast<double>(c.width_factor));
      if (args.contains("num_groups")) c.num_groups = num("num_groups");
      if (args.contains("output_stride")) c.output_stride = num("output_stride");
      if (args.contains("preact") && !args.at("preact").as_bool())
        throw ConfigError(where + ": model_args.preact false (a ResNetV2 without pre-activation) is not a BiT model");
      if (args.contains("stem_type") && args.at("stem_type") != "fixed")
        throw ConfigError(where + ": model_args.stem_type '" + json::serialize(args.at("stem_type")) +
                          "' is not BiT's 'fixed' stem");
    } catch (const std::exception& e) {
      if (dynamic_cast<const ConfigError*>(&e)) throw;
      throw ConfigError(where + ": model_args: " + e.what());
    }
  }
  if (const auto* n = o.if_contains("num_classes"); n && !n->is_null()) {
    // An integer (20.0 too), bounded so that a config cannot ask for a label table of any size.
    json::error_code ec;
    const std::int64_t count = n->is_number() ? n->to_number<std::int64_t>(ec) : -1;
    if (!n->is_number() || ec || count < 0 || count > kMaxTimmClasses)
      throw ConfigError(where + ": num_classes is " + json::serialize(*n) +
                        ", expected an integer from 0 to " + std::to_string(kMaxTimmClasses));
    set_labels(c, count);
  }
  c.semantics = Semantics::Timm;
  c.out_features = {"stage" + std::to_string(c.depths.size())};
  c.out_indices = {static_cast<int>(c.depths.size())};
  try {
    c.validate();
  } catch (const ConfigError& e) {
    throw ConfigError(where + ": " + e.what());
  }
  return c;
}

std::optional<BitConfig> bit_release_config(const std::string& file_name) {
  // BiT-M-R50x1.npz, BiT-S-R101x3-ILSVRC2012.npz
  std::string_view s = file_name;
  if (!take(s, "BiT-") || s.empty() || std::string_view("MSL").find(s.front()) == std::string_view::npos)
    return std::nullopt;
  s.remove_prefix(1);
  if (!take(s, "-R")) return std::nullopt;
  const auto dw = parse_depth_width(s);
  if (!dw || !s.ends_with(".npz") || (s != ".npz" && !s.starts_with("-"))) return std::nullopt;
  return bit_architecture(dw->first, dw->second);
}

ConvertedWeights load_timm(const fs::path& dir) {
  ConvertedWeights w;
  w.config = timm_config(read_json_file(dir / "config.json"), (dir / "config.json").string());
  const auto file = SafetensorsFile::open(dir / "model.safetensors");
  bool has_head = false;
  for (const auto& t : file.tensors()) {
    std::string name = t.name;
    Tensor value = file.load(t.name);
    if (name == "stem.conv.weight") {
      name = "bit.embedder.convolution.weight";
    } else if (const auto i = parse_indexed(t.name, "stages.", ".blocks.", '.')) {
      name = "bit.encoder.stages." + std::to_string(i->stage) + ".layers." + std::to_string(i->unit) + "." + i->rest;
    } else if (name == "norm.weight" || name == "norm.bias") {
      name = "bit." + name;
    } else if (name == "head.fc.weight") {
      if (value.rank() != 4) throw FormatError(file.name() + ": head.fc.weight has shape " + shape_str(value.shape()) + ", expected (K, C, 1, 1)");
      value = head_to_linear(value, false);
      name = "classifier.1.weight";
      has_head = true;
      if (static_cast<int>(value.dim(0)) != w.config.num_labels()) set_labels(w.config, value.dim(0));
    } else if (name == "head.fc.bias") {
      name = "classifier.1.bias";
    }
    w.tensors.emplace_back(name, value);  // unknown names pass through and are reported as unused
  }
  if (!has_head) w.config.id2label.clear();
  return w;
}

ConvertedWeights load_npz(const fs::path& path, std::optional<BitConfig> config) {
  fs::path file = path;
  if (fs::is_directory(path))
    for (const auto& e : fs::directory_iterator(path))
      if (e.path().extension() == ".npz") file = e.path();
  const auto npz = NpzFile::open(file);
  ConvertedWeights w;
  if (config) {
    w.config = *config;
  } else if (fs::exists(file.parent_path() / "config.json")) {
    const auto cfg = read_json_file(file.parent_path() / "config.json");
    w.config = cfg.is_object() && cfg.as_object().contains("model_args")
                   ? timm_config(cfg, (file.parent_path() / "config.json").string())
                   : BitConfig::from_json(cfg, (file.parent_path() / "config.json").string());
  } else if (auto named = bit_release_config(file.filename().string())) {
    w.config = *named;
  } else {
    throw ConfigError(file.string() + ": the architecture is unknown: name the file as Google does (BiT-M-R50x1.npz, "
                      "BiT-S-R101x3-ILSVRC2012.npz, ...), put a config.json beside it, or give the config explicitly");
  }
  w.config.semantics = Semantics::Timm;

  bool has_head = false;
  for (const auto& a : npz.arrays()) {
    const std::string where = npz.name() + ": array '" + a.name + "'";
    Tensor v = npz.load(a.name);
    std::string name;
    auto flat = [&](Tensor t) { return t.view({t.numel()}); };  // gammas may be stored (1, 1, 1, C)
    if (a.name == "resnet/root_block/standardized_conv2d/kernel") {
      name = "bit.embedder.convolution.weight";
      v = hwio_to_oihw(v, where);
    } else if (a.name == "resnet/group_norm/gamma" || a.name == "resnet/group_norm/beta") {
      name = a.name.ends_with("gamma") ? "bit.norm.weight" : "bit.norm.bias";
      v = flat(v);
    } else if (a.name == "resnet/head/conv2d/kernel") {
      if (v.rank() != 4) throw FormatError(where + ": shape " + shape_str(v.shape()) + ", expected (1, 1, C, K)");
      v = head_to_linear(v, true);
      name = "classifier.1.weight";
      has_head = true;
      set_labels(w.config, v.dim(0));
    } else if (a.name == "resnet/head/conv2d/bias") {
      name = "classifier.1.bias";
    } else if (const auto i = parse_indexed(a.name, "resnet/block", "/unit", '/')) {
      // resnet/blockN/unitMM/{a,b,c}/[proj/]{standardized_conv2d/kernel, group_norm/gamma, group_norm/beta}
      if (i->stage < 1 || i->unit < 1) throw FormatError(where + ": block and unit numbers start at 1");
      const std::string prefix =
          "bit.encoder.stages." + std::to_string(i->stage - 1) + ".layers." + std::to_string(i->unit - 1) + ".";
      std::string_view rest = i->rest;
      const char part = rest.empty() ? '?' : rest.front();
      if (part == 'a' || part == 'b' || part == 'c') rest.remove_prefix(1);
      const bool is_part = (part == 'a' || part == 'b' || part == 'c') && take(rest, "/");
      const bool proj = is_part && take(rest, "proj/");
      const std::string k = std::to_string(part - 'a' + 1);
      if (is_part && rest == "standardized_conv2d/kernel") {
        name = proj ? prefix + "downsample.conv.weight" : prefix + "conv" + k + ".weight";
        v = hwio_to_oihw(v, where);
      } else if (is_part && !proj && (rest == "group_norm/gamma" || rest == "group_norm/beta")) {
        name = prefix + "norm" + k + (rest == "group_norm/gamma" ? ".weight" : ".bias");
        v = flat(v);
      } else {
        name = a.name;
      }
    } else {
      name = a.name;  // unknown: reported as unused by the loader
    }
    w.tensors.emplace_back(name, v);
  }
  if (!has_head) w.config.id2label.clear();
  return w;
}

std::vector<std::pair<std::string, Tensor>> to_timm_names(const std::vector<std::pair<std::string, Tensor>>& hf) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [name, t] : hf) {
    if (name == "bit.embedder.convolution.weight")
      out.emplace_back("stem.conv.weight", t);
    else if (const auto i = parse_indexed(name, "bit.encoder.stages.", ".layers.", '.'))
      out.emplace_back("stages." + std::to_string(i->stage) + ".blocks." + std::to_string(i->unit) + "." + i->rest, t);
    else if (name == "bit.norm.weight" || name == "bit.norm.bias")
      out.emplace_back(name.substr(4), t);
    else if (name == "classifier.1.weight")
      out.emplace_back("head.fc.weight", t.view({t.dim(0), t.dim(1), 1, 1}));
    else if (name == "classifier.1.bias")
      out.emplace_back("head.fc.bias", t);
    else
      throw FormatError("tensor '" + name + "' has no timm equivalent (bottleneck-unit models are not timm ResNetV2)");
  }
  return out;
}

}  // namespace visbone::bit
