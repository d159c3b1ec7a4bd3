#include "visbone/core/checkpoint.h"

#include <algorithm>

#include "visbone/core/errors.h"
#include "visbone/core/json.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);  // follows symlinks, as the hub cache's snapshot folders need
}

// Shard names come from a file that may be downloaded: only a plain name of a file in the folder itself is
// accepted, so an index cannot make us open files elsewhere.
void check_shard_name(const std::string& shard, const std::string& index, const std::string& tensor) {
  const bool plain = !shard.empty() && shard != "." && shard != ".." &&
                     shard.find_first_of(std::string_view("/\\\0", 3)) == std::string::npos;
  if (!plain)
    throw FormatError(index + ": weight_map maps '" + tensor + "' to '" + shard +
                      "', expected the plain name of a file in the checkpoint folder");
}

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

Checkpoint Checkpoint::open(const fs::path& dir, const SafetensorsLimits& limits) {
  Checkpoint c;
  c.dir_ = dir;
  const std::string where = dir.string();
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw NotFoundError(where +
                        ": not a checkpoint folder (expected a directory with config.json and weights)");

  const fs::path config_path = dir / "config.json";
  if (!is_file(config_path)) throw NotFoundError(where + ": no config.json in the checkpoint folder");
  c.config_ = read_json_file(config_path);
  if (!c.config_.is_object())
    throw FormatError(config_path.string() + ": is a JSON " + json_kind(c.config_) + ", expected an object");

  const fs::path single = dir / kSafetensorsWeightsName;
  const fs::path index_path = dir / kSafetensorsIndexName;
  if (is_file(single)) {
    c.files_.push_back(SafetensorsFile::open(single, limits));
  } else if (is_file(index_path)) {
    const std::string index = index_path.string();
    const auto root = read_json_file(index_path);
    const auto* map = root.is_object() ? root.get_object().if_contains("weight_map") : nullptr;
    if (!map || !map->is_object())
      throw FormatError(index + ": expected an object with a \"weight_map\" object");
    if (map->get_object().size() > limits.max_tensors)
      throw FormatError(index + ": weight_map lists " + std::to_string(map->get_object().size()) +
                        " tensors, more than the limit of " + std::to_string(limits.max_tensors) +
                        " (SafetensorsLimits::max_tensors)");

    // Open each shard once, in name order so that errors do not depend on the JSON's key order.
    std::map<std::string, std::size_t> shard_index;
    for (const auto& kv : map->get_object()) {
      const std::string tensor(kv.key());
      if (!kv.value().is_string())
        throw FormatError(index + ": weight_map entry '" + tensor + "' is a " + json_kind(kv.value()) +
                          ", expected a shard file name");
      const std::string shard(kv.value().get_string());
      check_shard_name(shard, index, tensor);
      shard_index.emplace(shard, 0);
    }
    for (auto& [shard, i] : shard_index) {
      const fs::path p = dir / shard;
      if (!is_file(p))
        throw NotFoundError(index + ": shard '" + shard + "' does not exist (" + p.string() + ")");
      i = c.files_.size();
      c.files_.push_back(SafetensorsFile::open(p, limits));
    }
    // The index and the shards must agree exactly: a tensor in the shard the index names, in no other shard,
    // and no shard tensor the index does not list.
    std::map<std::string, std::string> holder;  // tensor -> shard holding it
    for (const auto& [shard, i] : shard_index)
      for (const auto& t : c.files_[i].tensors()) {
        const auto [it, fresh] = holder.emplace(t.name, shard);
        if (!fresh)
          throw FormatError(where + ": tensor '" + t.name + "' is in two shards, '" + it->second + "' and '" +
                            shard + "'");
      }
    for (const auto& kv : map->get_object()) {
      const std::string tensor(kv.key());
      const std::string shard(kv.value().get_string());
      const auto it = holder.find(tensor);
      if (it == holder.end())
        throw FormatError(index + ": tensor '" + tensor + "' is mapped to shard '" + shard +
                          "', which does not contain it (nor does any other shard)");
      if (it->second != shard)
        throw FormatError(index + ": tensor '" + tensor + "' is mapped to shard '" + shard +
                          "', but it is in shard '" + it->second + "'");
    }
    for (const auto& [tensor, shard] : holder)
      if (!map->get_object().contains(tensor))
        throw FormatError(index + ": shard '" + shard + "' holds tensor '" + tensor +
                          "', which the weight_map does not list");
  } else {
    std::string hint;
    if (is_file(dir / "pytorch_model.bin") || is_file(dir / "pytorch_model.bin.index.json"))
      hint = " (pytorch_model.bin is not supported: convert it to safetensors)";
    throw NotFoundError(where + ": no weights: expected " + std::string(kSafetensorsWeightsName) + " or " +
                        std::string(kSafetensorsIndexName) + hint);
  }

  for (std::size_t f = 0; f < c.files_.size(); ++f)
    for (const auto& t : c.files_[f].tensors()) c.entries_.emplace(t.name, Entry{f, &t});
  return c;
}

Checkpoint Checkpoint::from_weights(fs::path dir, boost::json::value config, SafetensorsFile weights) {
  Checkpoint c;
  c.dir_ = std::move(dir);
  c.config_ = std::move(config);
  c.files_.push_back(std::move(weights));
  for (const auto& t : c.files_[0].tensors()) c.entries_.emplace(t.name, Entry{0, &t});
  return c;
}

std::vector<std::string> Checkpoint::tensor_names() const {
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const auto& [name, e] : entries_) names.push_back(name);
  return names;
}

const TensorInfo* Checkpoint::find(std::string_view name) const {
  const auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second.info;
}

std::optional<Tensor> Checkpoint::try_load(std::string_view name, const Shape& expected) {
  const auto it = entries_.find(name);
  if (it == entries_.end()) {
    missing_.emplace(name);
    return std::nullopt;
  }
  const auto& [file, info] = it->second;
  if (info->shape != expected)
    throw ShapeError(files_[file].name() + ": tensor '" + info->name + "' has shape " +
                     shape_str(info->shape) + ", expected " + shape_str(expected));
  Tensor t = files_[file].load(name);
  used_.emplace(name);
  return t;
}

Tensor Checkpoint::load(std::string_view name, const Shape& expected) {
  if (!entries_.count(name))
    throw NotFoundError(dir_.string() + ": the checkpoint has no tensor '" + std::string(name) + "'");
  return *try_load(name, expected);
}

std::vector<std::string> Checkpoint::unused() const {
  std::vector<std::string> names;
  for (const auto& [name, e] : entries_)
    if (!used_.count(name)) names.push_back(name);
  return names;
}

void Checkpoint::check_complete() const {
  const auto extra = unused();
  if (missing_.empty() && extra.empty()) return;
  std::string msg = dir_.string() + ": the checkpoint does not match the model:";
  if (!missing_.empty())
    msg += " missing tensors (" + std::to_string(missing_.size()) +
           "): " + join(std::vector<std::string>(missing_.begin(), missing_.end())) +
           (extra.empty() ? "" : ";");
  if (!extra.empty()) msg += " unused tensors (" + std::to_string(extra.size()) + "): " + join(extra);
  throw FormatError(msg);
}

std::uint64_t Checkpoint::parameter_count() const {
  std::uint64_t n = 0;
  for (const auto& [name, e] : entries_) n += static_cast<std::uint64_t>(shape_numel(e.info->shape));
  return n;
}

}  // namespace visbone
