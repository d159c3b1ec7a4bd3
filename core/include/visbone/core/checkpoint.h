// A checkpoint folder as transformers writes it: config.json plus either model.safetensors or
// model.safetensors.index.json with its shards. Loaders fetch tensors by name with an expected shape; the
// checkpoint remembers what was used so that tensors the model does not know about are reported, not ignored.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "visbone/core/safetensors.h"
#include "visbone/core/tensor.h"

namespace visbone {

inline constexpr std::string_view kSafetensorsWeightsName = "model.safetensors";
inline constexpr std::string_view kSafetensorsIndexName = "model.safetensors.index.json";

class Checkpoint {
 public:
  // Reads config.json and opens the weights, validating every file (and, for shards, the index against the
  // shards) up front. Like transformers, a single model.safetensors is preferred when both forms are present.
  // NotFoundError when the folder, config.json, the weights or a shard is missing; FormatError for bad
  // content. `limits` applies to each weights file, and max_tensors also to the index's weight_map.
  static Checkpoint open(const std::filesystem::path& dir, const SafetensorsLimits& limits = {});
  // A checkpoint whose weights were converted in memory (timm or .npz weights under transformers' names);
  // `dir` names it in messages.
  static Checkpoint from_weights(std::filesystem::path dir, boost::json::value config, SafetensorsFile weights);

  const std::filesystem::path& dir() const { return dir_; }
  const boost::json::value& config() const { return config_; }
  // Every tensor name, sorted.
  std::vector<std::string> tensor_names() const;
  const TensorInfo* find(std::string_view name) const;

  // The tensor as float32 after checking its shape: ShapeError "<file>: tensor 'X' has shape [a, b], expected
  // [c, d]"; NotFoundError naming the tensor and the checkpoint when absent. Marks the tensor as used.
  Tensor load(std::string_view name, const Shape& expected);
  // Like load, but a missing tensor is recorded for check_complete() and nullopt returned.
  std::optional<Tensor> try_load(std::string_view name, const Shape& expected);

  // Present but never loaded, sorted.
  std::vector<std::string> unused() const;
  // FormatError listing every tensor try_load found missing and every tensor never loaded.
  void check_complete() const;
  // Sum of the element counts of all tensors.
  std::uint64_t parameter_count() const;

 private:
  Checkpoint() = default;

  struct Entry {
    std::size_t file;        // index into files_
    const TensorInfo* info;  // owned by files_[file]; stays valid when the Checkpoint moves
  };

  std::filesystem::path dir_;
  boost::json::value config_;
  std::vector<SafetensorsFile> files_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::set<std::string, std::less<>> used_;
  std::set<std::string, std::less<>> missing_;
};

}  // namespace visbone
