// Pooled features kept between `visbone fit` runs, so trying other solver settings does not run the backbone
// again. Keys are contents, not names: a row is found by the SHA-256 of the image file's bytes, inside a file
// named by the model key (a hash of the model and preprocessing settings and of the bytes of every file they
// name), so a changed image, weight file or preprocessing setting never returns stale features.
//
//   CACHE_DIR/<model key>.safetensors   "features": (N, C) float32; metadata "image_sha256": JSON list of N
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace visbone::transfer {

class FeatureCache {
 public:
  // Reads CACHE_DIR/<model_key>.safetensors when it exists. A file that cannot be read as one (truncated,
  // another layout) is ignored with its name in `problem()`, and rewritten on save().
  FeatureCache(std::filesystem::path dir, std::string model_key);

  const std::vector<float>* find(const std::string& image_sha256) const;
  void add(const std::string& image_sha256, std::vector<float> features);
  // Writes the file (atomically) when rows were added. IoError when it cannot.
  void save();

  std::size_t size() const { return rows_.size(); }
  std::filesystem::path file() const { return dir_ / (key_ + ".safetensors"); }
  const std::string& problem() const { return problem_; }

 private:
  std::filesystem::path dir_;
  std::string key_;
  std::map<std::string, std::vector<float>> rows_;
  bool dirty_ = false;
  std::string problem_;
};

}  // namespace visbone::transfer
