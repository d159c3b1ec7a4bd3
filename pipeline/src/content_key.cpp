#include "visbone/pipeline/content_key.h"

#include <algorithm>
#include <set>

#include "visbone/core/errors.h"
#include "visbone/core/model_name.h"
#include "visbone/hub/sha256.h"
#include "visbone/pipeline/shard_manifest.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;

namespace {

// Feeds `s` to `h` with its length first, so bytes moved from one part to the next change the hash.
void part(hub::Sha256& h, const std::string& s) {
  h.update(std::to_string(s.size()) + ":");
  h.update(s);
}

// The paths a spec names (checkpoint, weights, config files).
void named_paths(const YAML::Node& n, const fs::path& base, std::set<fs::path>& paths) {
  if (n.IsScalar()) {
    const ModelName name = classify_model_name(n.Scalar(), base);
    if (name.kind == ModelName::Kind::path) paths.insert(fs::absolute(name.path).lexically_normal());
  } else if (n.IsSequence()) {
    for (const auto& c : n) named_paths(c, base, paths);
  } else if (n.IsMap()) {
    for (const auto& kv : n) named_paths(kv.second, base, paths);
  }
}

std::string key_of(const std::string& model_key, const std::string& kind, const std::uint8_t* data,
                   std::size_t size) {
  hub::Sha256 h;
  part(h, model_key);
  part(h, kind);
  h.update(data, size);
  return h.finish_hex();
}

std::string error_key(const std::string& model_key, const std::string& error) {
  return key_of(model_key, "error", reinterpret_cast<const std::uint8_t*>(error.data()), error.size());
}

}  // namespace

void hash_files(hub::Sha256& h, const fs::path& p) {
  std::vector<fs::path> files;
  if (fs::is_directory(p)) {
    for (const auto& e : fs::directory_iterator(p))
      if (e.is_regular_file() && e.path().filename().string()[0] != '.') files.push_back(e.path());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(p);
  }
  for (const fs::path& f : files) h.update(f.filename().string() + " " + hub::sha256_file_hex(f) + "\n");
}

std::string model_key(const PipelineConfig& c, const std::optional<fs::path>& folder, const std::string& numerics) {
  hub::Sha256 h;
  part(h, "visbone " + visbone_version());
  YAML::Node spec(YAML::NodeType::Map);
  for (const auto& kv : c.model.spec)
    if (kv.first.Scalar() != "checkpoint") spec[kv.first] = kv.second;
  part(h, YAML::Dump(spec));
  std::set<fs::path> paths;  // each once: a checkpoint folder is both named and the folder loaded
  named_paths(c.model.spec, c.base_dir, paths);
  for (const HeadConfig& head : c.heads) named_paths(head.spec, c.base_dir, paths);  // a gallery, references
  if (folder) paths.insert(fs::absolute(*folder).lexically_normal());
  for (const fs::path& p : paths) hash_files(h, p);
  part(h, c.preprocess.from);
  if (c.preprocess.from != "checkpoint" && c.preprocess.from != "defaults") hash_files(h, c.preprocess.from);
  part(h, c.preprocess.overrides ? YAML::Dump(c.preprocess.overrides) : std::string());
  part(h, numerics);
  return h.finish_hex();
}

InputRead read_input(const std::string& model_key, const fs::path& path,
                     const image::DecodeOptions& options) {
  InputRead r;
  try {
    r.bytes = image::read_image_bytes(path, options);
    r.key = key_of(model_key, "bytes", r.bytes.data(), r.bytes.size());
  } catch (const Error& e) {  // bytes stay empty
    r.error = e.what();
    r.key = error_key(model_key, r.error);  // a mended file changes the key
  }
  return r;
}

std::optional<std::string> handed_over_key(const std::string& model_key, const SourceItem& s) {
  if (!s.error.empty()) return error_key(model_key, s.error);
  if (!s.bytes.empty()) return key_of(model_key, "bytes", s.bytes.data(), s.bytes.size());
  if (!s.decoded) return std::nullopt;
  const image::Image& im = s.image;
  const std::string kind = "pixels " + std::to_string(im.width()) + "x" + std::to_string(im.height()) + "x" +
                           std::to_string(im.channels());
  return key_of(model_key, kind, im.pixels().data(), im.pixels().size());
}

std::string input_key(const std::string& model_key, const SourceItem& s,
                      const image::DecodeOptions& options) {
  if (auto k = handed_over_key(model_key, s)) return *k;
  return read_input(model_key, s.path, options).key;
}

}  // namespace visbone::pipeline
