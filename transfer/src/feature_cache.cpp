#include "visbone/transfer/feature_cache.h"

#include <boost/json.hpp>

#include "visbone/core/errors.h"
#include "visbone/core/safetensors.h"
#include "visbone/core/tensor.h"

namespace visbone::transfer {

namespace fs = std::filesystem;

FeatureCache::FeatureCache(fs::path dir, std::string model_key)
    : dir_(std::move(dir)), key_(std::move(model_key)) {
  std::error_code ec;
  if (!fs::exists(file(), ec)) return;
  try {
    const auto st = SafetensorsFile::open(file());
    const auto meta = st.metadata().find("image_sha256");
    if (meta == st.metadata().end()) throw FormatError("no image_sha256 metadata");
    const auto ids = boost::json::parse(meta->second).as_array();
    const Tensor t = st.load("features");
    if (t.rank() != 2 || t.dim(0) != static_cast<std::int64_t>(ids.size()))
      throw FormatError("features " + shape_str(t.shape()) + " for " + std::to_string(ids.size()) +
                        " image hashes");
    const std::int64_t c = t.dim(1);
    for (std::size_t i = 0; i < ids.size(); ++i)
      rows_[std::string(ids[i].as_string())] = std::vector<float>(
          t.data() + static_cast<std::int64_t>(i) * c, t.data() + static_cast<std::int64_t>(i + 1) * c);
  } catch (const std::exception& e) {
    rows_.clear();
    problem_ = file().string() + ": ignored (" + e.what() + ")";
  }
}

const std::vector<float>* FeatureCache::find(const std::string& image_sha256) const {
  const auto it = rows_.find(image_sha256);
  return it == rows_.end() ? nullptr : &it->second;
}

void FeatureCache::add(const std::string& image_sha256, std::vector<float> features) {
  if (!rows_.empty() && rows_.begin()->second.size() != features.size())
    throw ShapeError("feature cache " + file().string() + ": rows of " +
                     std::to_string(rows_.begin()->second.size()) + " channels, got " +
                     std::to_string(features.size()));
  rows_[image_sha256] = std::move(features);
  dirty_ = true;
}

void FeatureCache::save() {
  if (!dirty_ || rows_.empty()) return;
  const std::int64_t c = static_cast<std::int64_t>(rows_.begin()->second.size());
  Tensor t({static_cast<std::int64_t>(rows_.size()), c});
  boost::json::array ids;
  std::int64_t i = 0;
  for (const auto& [id, row] : rows_) {
    std::copy(row.begin(), row.end(), t.data() + i++ * c);
    ids.emplace_back(id);
  }
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw IoError(dir_.string() + ": cannot create the feature cache folder: " + ec.message());
  write_safetensors(file(), {{"features", t}}, {{"image_sha256", boost::json::serialize(ids)}});
  dirty_ = false;
}

}  // namespace visbone::transfer
