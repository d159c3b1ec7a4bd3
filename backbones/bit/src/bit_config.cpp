#include "visbone/bit/bit_config.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <set>

#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/core/stage_selection.h"

namespace visbone::bit {
namespace {

namespace json = boost::json;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Reads typed values out of a config object; every error names the source, the key and the value.
class Reader {
 public:
  Reader(const json::object& obj, std::string where) : obj_(obj), where_(std::move(where)) {}

  const json::value* get(std::string_view key) const {
    const auto* v = obj_.if_contains(key);
    return (v && !v->is_null()) ? v : nullptr;
  }
  [[noreturn]] void fail(std::string_view key, const json::value& v, const std::string& expected) const {
    throw ConfigError(where_ + ": key '" + std::string(key) + "' has value " + json::serialize(v) + ", expected " +
                      expected);
  }
  std::int64_t integer(std::string_view key, const json::value& v) const {
    if (v.is_int64()) return v.as_int64();
    if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
      return static_cast<std::int64_t>(v.as_uint64());
    if (v.is_double() && std::trunc(v.as_double()) == v.as_double() && std::abs(v.as_double()) < 1e15)
      return static_cast<std::int64_t>(v.as_double());
    fail(key, v, "an integer");
  }
  void read(std::string_view key, int& out, std::int64_t min, std::int64_t max) const {
    if (const auto* v = get(key)) {
      const auto i = integer(key, *v);
      if (i < min || i > max) fail(key, *v, "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
      out = static_cast<int>(i);
    }
  }
  void read(std::string_view key, double& out) const {
    if (const auto* v = get(key)) {
      if (!v->is_number()) fail(key, *v, "a number");
      out = v->to_number<double>();
    }
  }
  void read(std::string_view key, bool& out) const {
    if (const auto* v = get(key)) {
      if (!v->is_bool()) fail(key, *v, "true or false");
      out = v->as_bool();
    }
  }
  void read(std::string_view key, std::vector<int>& out) const {
    if (const auto* v = get(key)) {
      if (!v->is_array()) fail(key, *v, "a list of integers");
      std::vector<int> r;
      for (const auto& e : v->as_array()) {
        const auto i = integer(key, e);
        if (i < INT32_MIN || i > INT32_MAX) fail(key, *v, "a list of 32-bit integers");
        r.push_back(static_cast<int>(i));
      }
      out = std::move(r);
    }
  }
  std::optional<std::string> string(std::string_view key) const {
    const auto* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) fail(key, *v, "a string");
    return std::string(v->as_string());
  }
  const std::string& where() const { return where_; }

 private:
  const json::object& obj_;
  std::string where_;
};

template <typename E>
E parse_enum(const Reader& r, std::string_view key, const std::vector<std::pair<std::string, E>>& choices, E fallback) {
  const auto s = r.string(key);
  if (!s) return fallback;
  for (const auto& [name, value] : choices)
    if (lower(*s) == name) return value;
  std::string allowed;
  for (const auto& c : choices) allowed += (allowed.empty() ? "" : ", ") + c.first;
  r.fail(key, json::value(*s), "one of: " + allowed);
}

}  // namespace

namespace {
// Far above any BiT (R152x4 has 8192); keeps every channel count, times width_factor <= 64, inside int.
constexpr int kMaxChannels = 1 << 16;
}  // namespace

int make_div(double value, int divisor) {
  // Saturates rather than overflow int (validate() rejects such channel counts with a message).
  if (!(value <= 1e9)) value = 1e9;
  int new_value = std::max(divisor, static_cast<int>(value + divisor / 2.0) / divisor * divisor);
  if (new_value < 0.9 * value) new_value += divisor;
  return new_value;
}

std::vector<std::string> BitConfig::stage_names() const {
  std::vector<std::string> names{"stem"};
  for (std::size_t i = 1; i <= depths.size(); ++i) names.push_back("stage" + std::to_string(i));
  return names;
}

int BitConfig::stage_channels(int stage) const {
  if (stage == 0) return embedding_size;
  return make_div(hidden_sizes.at(static_cast<std::size_t>(stage - 1)) * static_cast<double>(width_factor));
}

std::string to_string(LayerType v) { return v == LayerType::Preactivation ? "preactivation" : "bottleneck"; }
std::string to_string(Activation v) {
  switch (v) {
    case Activation::Relu: return "relu";
    case Activation::Gelu: return "gelu";
    case Activation::GeluNew: return "gelu_new";
    case Activation::Selu: return "selu";
  }
  return "?";
}
std::string to_string(Padding v) {
  switch (v) {
    case Padding::Default: return "null";
    case Padding::Same: return "same";
    case Padding::Valid: return "valid";
  }
  return "?";
}

std::string to_string(Semantics v) { return v == Semantics::Timm ? "timm" : "transformers"; }

void BitConfig::validate() const {
  auto bad = [](const std::string& key, const std::string& value, const std::string& expected) {
    throw ConfigError("BitConfig: '" + key + "' is " + value + ", expected " + expected);
  };
  if (num_channels < 1) bad("num_channels", std::to_string(num_channels), "at least 1");
  if (embedding_size < 1 || embedding_size > kMaxChannels)
    bad("embedding_size", std::to_string(embedding_size), "1 to 65536");
  if (depths.empty()) bad("depths", "empty", "at least one stage");
  if (hidden_sizes.size() != depths.size())
    bad("hidden_sizes", py_repr(hidden_sizes), "one entry per stage like depths " + py_repr(depths) + " (" +
                                                   std::to_string(depths.size()) + " entries)");
  for (int d : depths)
    if (d < 1) bad("depths", py_repr(depths), "positive numbers of units per stage");
  for (int h : hidden_sizes)
    if (h < 1 || h > kMaxChannels)
      bad("hidden_sizes", py_repr(hidden_sizes), "channel counts from 1 to 65536");
  if (output_stride != 8 && output_stride != 16 && output_stride != 32)
    bad("output_stride", std::to_string(output_stride), "8, 16 or 32");
  if (width_factor < 1 || width_factor > 64) bad("width_factor", std::to_string(width_factor), "1 to 64");
  if (!(drop_path_rate >= 0.0 && drop_path_rate < 1.0))
    bad("drop_path_rate", std::to_string(drop_path_rate), "a rate in [0, 1)");
  if (num_groups < 1) bad("num_groups", std::to_string(num_groups), "at least 1");
  // Every GroupNorm the model builds must split its channels evenly.
  std::set<int> normed{embedding_size};
  for (int s = 1; s <= static_cast<int>(depths.size()); ++s) {
    normed.insert(stage_channels(s));
    normed.insert(make_div(stage_channels(s) * 0.25));
  }
  for (int c : normed)
    if (c % num_groups != 0)
      bad("num_groups", std::to_string(num_groups),
          "a divisor of every normalised channel count; the model builds a GroupNorm over " + std::to_string(c) +
              " channels");
}

BitConfig BitConfig::from_json(const boost::json::value& value, const std::string& where) {
  if (!value.is_object()) throw ConfigError(where + ": expected a JSON object, got " + json_kind(value));
  const Reader r(value.as_object(), where);
  BitConfig c;
  if (const auto mt = r.string("model_type"); mt && *mt != "bit")
    r.fail("model_type", json::value(*mt), "\"bit\" (this is not a BiT config)");
  r.read("num_channels", c.num_channels, 1, 4096);
  r.read("embedding_size", c.embedding_size, 1, 1 << 16);
  r.read("hidden_sizes", c.hidden_sizes);
  r.read("depths", c.depths);
  c.layer_type = parse_enum<LayerType>(
      r, "layer_type", {{"preactivation", LayerType::Preactivation}, {"bottleneck", LayerType::Bottleneck}},
      c.layer_type);
  c.hidden_act = parse_enum<Activation>(r, "hidden_act",
                                        {{"relu", Activation::Relu},
                                         {"gelu", Activation::Gelu},
                                         {"gelu_new", Activation::GeluNew},
                                         {"selu", Activation::Selu}},
                                        c.hidden_act);
  c.global_padding =
      parse_enum<Padding>(r, "global_padding", {{"same", Padding::Same}, {"valid", Padding::Valid}}, Padding::Default);
  r.read("num_groups", c.num_groups, 1, 1 << 16);
  r.read("drop_path_rate", c.drop_path_rate);
  r.read("embedding_dynamic_padding", c.embedding_dynamic_padding);
  r.read("output_stride", c.output_stride, 1, 1024);
  r.read("width_factor", c.width_factor, 1, 64);
  for (auto* key : {"hidden_sizes", "depths"})
    if (const auto* v = r.get(key); v && v->as_array().size() > 64) r.fail(key, *v, "at most 64 stages");

  std::optional<std::vector<std::string>> features;
  if (const auto* v = r.get("out_features")) {
    if (!v->is_array()) r.fail("out_features", *v, "a list of stage names");
    features.emplace();
    for (const auto& e : v->as_array()) {
      if (!e.is_string()) r.fail("out_features", *v, "a list of stage names");
      features->emplace_back(e.as_string());
    }
  }
  std::optional<std::vector<int>> indices;
  if (r.get("out_indices")) {
    indices.emplace();
    r.read("out_indices", *indices);
  }
  if (const auto* v = r.get("id2label")) {
    if (!v->is_object()) r.fail("id2label", *v, "an object mapping class indices to names");
    c.id2label.clear();
    for (const auto& [k, name] : v->as_object()) {
      std::size_t used = 0;
      int idx = -1;
      try {
        idx = std::stoi(std::string(k), &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != k.size() || idx < 0 || !name.is_string())
        r.fail("id2label", *v, "non-negative integer keys with string names (entry \"" + std::string(k) + "\")");
      c.id2label[idx] = std::string(name.as_string());
    }
    for (int i = 0; i < static_cast<int>(c.id2label.size()); ++i)
      if (!c.id2label.count(i)) r.fail("id2label", *v, "consecutive class indices 0..N-1 (missing " + std::to_string(i) + ")");
  }

  try {
    c.validate();
  } catch (const ConfigError& e) {
    throw ConfigError(where + ": " + e.what());
  }
  try {
    const auto sel = resolve_stage_selection(c.stage_names(), features, indices, /*allow_empty=*/true);
    c.out_features = sel.out_features;
    c.out_indices = sel.out_indices;
  } catch (const ConfigError& e) {
    throw ConfigError(where + ": out_features/out_indices: " + e.what());
  }
  return c;
}

boost::json::value BitConfig::to_json() const {
  json::object id2l, l2id;
  for (const auto& [i, name] : id2label) {
    id2l[std::to_string(i)] = name;
    l2id[name] = i;
  }
  return json::object{{"architectures", json::array{"BitForImageClassification"}},
                      {"model_type", "bit"},
                      {"num_channels", num_channels},
                      {"embedding_size", embedding_size},
                      {"hidden_sizes", json::value_from(hidden_sizes)},
                      {"depths", json::value_from(depths)},
                      {"layer_type", to_string(layer_type)},
                      {"hidden_act", to_string(hidden_act)},
                      {"global_padding", global_padding == Padding::Default ? json::value(nullptr)
                                                                            : json::value(to_string(global_padding))},
                      {"num_groups", num_groups},
                      {"drop_path_rate", drop_path_rate},
                      {"embedding_dynamic_padding", embedding_dynamic_padding},
                      {"output_stride", output_stride},
                      {"width_factor", width_factor},
                      {"out_features", json::value_from(out_features)},
                      {"out_indices", json::value_from(out_indices)},
                      {"stage_names", json::value_from(stage_names())},
                      {"id2label", id2l},
                      {"label2id", l2id}};
}

BitConfig BitConfig::from_file(const std::filesystem::path& path) {
  return from_json(read_json_file(path), path.string());
}

}  // namespace visbone::bit
