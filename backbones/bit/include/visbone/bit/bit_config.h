// BitConfig: every field of transformers' BitConfig with its defaults (google/bit-50), read from a
// config.json and validated so that a bad value is reported before any weight is touched.
#pragma once

#include <boost/json/fwd.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace visbone::bit {

enum class LayerType { Preactivation, Bottleneck };
enum class Activation { Relu, Gelu, GeluNew, Selu };
enum class Padding { Default, Same, Valid };  // Default is transformers' `global_padding: null`
// Where the model computes differently: transformers does not dilate the 3x3 conv of preactivation units
// when output_stride < 32; timm (and the original BiT code it follows) does.
enum class Semantics { Transformers, Timm };

struct BitConfig {
  int num_channels = 3;
  int embedding_size = 64;
  std::vector<int> hidden_sizes{256, 512, 1024, 2048};
  std::vector<int> depths{3, 4, 6, 3};
  LayerType layer_type = LayerType::Preactivation;
  Activation hidden_act = Activation::Relu;
  Padding global_padding = Padding::Default;
  int num_groups = 32;
  double drop_path_rate = 0.0;  // training only; accepted and ignored at inference
  bool embedding_dynamic_padding = false;
  int output_stride = 32;
  int width_factor = 1;
  Semantics semantics = Semantics::Transformers;  // not a transformers key: follows the checkpoint's origin
  // The backbone selection as written in the config (resolved with stage_selection.h).
  std::vector<std::string> out_features;
  std::vector<int> out_indices;
  // Class names by index; num_labels() is its size (transformers' default is two LABEL_i entries).
  std::map<int, std::string> id2label{{0, "LABEL_0"}, {1, "LABEL_1"}};

  int num_labels() const { return static_cast<int>(id2label.size()); }
  // "stem", "stage1", ..., "stageN".
  std::vector<std::string> stage_names() const;
  // Output channels of stage i (1-based) as built: make_div(hidden_sizes[i-1] * width_factor).
  int stage_channels(int stage) const;

  // Throws ConfigError naming the key, the value and what is allowed.
  void validate() const;

  // Parses a config.json object; `where` names the source in messages. Validates.
  static BitConfig from_json(const boost::json::value& json, const std::string& where);
  static BitConfig from_file(const std::filesystem::path& path);
  // config.json as transformers writes it (model_type "bit", the architecture, labels, selection).
  boost::json::value to_json() const;
};

std::string to_string(LayerType v);
std::string to_string(Activation v);
std::string to_string(Padding v);
std::string to_string(Semantics v);

// transformers' make_div: round to a multiple of `divisor`, never below 90% of `value`.
int make_div(double value, int divisor = 8);

}  // namespace visbone::bit
