#include "visbone/transfer/training_features.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>

#include "visbone/api/register_builtins.h"
#include "visbone/bit/bit_presets.h"
#include "visbone/core/errors.h"
#include "visbone/core/model_name.h"
#include "visbone/core/safetensors.h"
#include "visbone/hub/hub.h"
#include "visbone/hub/sha256.h"
#include "visbone/pipeline/config.h"
#include "visbone/pipeline/pipeline.h"
#include "visbone/transfer/feature_cache.h"

namespace visbone::transfer {

namespace fs = std::filesystem;

namespace {

// A name in the config as the pipeline reads it: an existing path, a preset or hub id (through the cache),
// or nothing (a plain setting such as f32 or stage4, or a preset without a hub checkpoint).
std::optional<fs::path> named_location(const std::string& value, const fs::path& base) {
  hub::ResolveOptions o;
  o.with_processor_config = true;
  try {
    const fs::path path = hub::resolve_model_name(value, {base, bit::bit_preset_hub_ids(), ""}, o).path;
    return path.empty() ? std::nullopt : std::optional<fs::path>(path);
  } catch (const ModelNotFoundError&) {
    return std::nullopt;
  }
}

// The files to run through the pipeline and where its features go: a private scratch folder.
struct Scratch {
  fs::path dir;
  Scratch() {
    static std::atomic<int> counter{0};
    dir = fs::temp_directory_path() /
          ("visbone-fit-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// A pipeline over `images` writing their pooled features to `out` (loads the model).
std::unique_ptr<pipeline::Pipeline> feature_pipeline(const FitConfig& config, const std::vector<fs::path>& images,
                                                     const fs::path& out) {
  return std::make_unique<pipeline::Pipeline>(pipeline::parse_config(config.pipeline_yaml(images, out), config.file),
                                              register_pipeline_builtins);
}

std::vector<std::vector<float>> run_backbone(pipeline::Pipeline& p, const fs::path& out, std::size_t images,
                                             std::ostream& log) {
  std::vector<std::string> failures;
  const auto summary = p.run([&](const pipeline::Progress& pr) {
    if (!pr.error.empty()) failures.push_back(pr.id + ": " + pr.error);
  });
  if (!failures.empty() || summary.failed) {
    std::string list;
    for (std::size_t i = 0; i < failures.size() && i < 5; ++i) list += "\n  " + failures[i];
    throw FormatError(std::to_string(summary.failed) + " training image(s) could not be used:" + list +
                      (failures.size() > 5 ? "\n  ..." : ""));
  }
  const auto st = SafetensorsFile::open(out);
  const Tensor t = st.load("features.embedding");
  if (t.rank() != 2 || t.dim(0) != static_cast<std::int64_t>(images))
    throw FormatError("feature extraction gave " + shape_str(t.shape()) + " for " + std::to_string(images) +
                      " images");
  std::vector<std::vector<float>> rows;
  for (std::int64_t i = 0; i < t.dim(0); ++i)
    rows.emplace_back(t.data() + i * t.dim(1), t.data() + (i + 1) * t.dim(1));
  log << "features: " << images << " images through the backbone in " << summary.seconds << " s\n";
  return rows;
}

}  // namespace

fs::path model_checkpoint(const FitConfig& config) {
  const YAML::Node m = config.root["model"];
  const auto at = [&](const YAML::Node& n) {
    return config.file.string() + ":" + std::to_string(n.Mark().line + 1) + ":" +
           std::to_string(n.Mark().column + 1);
  };
  YAML::Node name;
  if (m.IsScalar())
    name = m;
  else if (m.IsMap() && m["checkpoint"])
    name = m["checkpoint"];
  else if (m.IsMap() && m["preset"])
    name = m["preset"];
  else if (m.IsMap() && m["type"])
    name = m["type"];
  if (!name || !name.IsScalar())
    throw ConfigError(at(m) +
                      ": model: fit writes a checkpoint folder beside the trained head, so the model must "
                      "come from one: give checkpoint: FOLDER, a .npz, a hub id, or preset: NAME");
  if (const auto loc = named_location(name.Scalar(), config.base_dir)) return *loc;
  throw ConfigError(at(name) + ": model: '" + name.Scalar() +
                    "' is not a checkpoint folder, .npz file, hub id or preset");
}

TrainingFeatures training_features(const FitConfig& config, const LabelledImages& images, std::ostream& log) {
  // The pipeline over every image says the model's content key (visbone version, model files, preprocessing,
  // the loaded backbone's numerics: what a run's records carry), under which the cache keeps features.
  Scratch scratch;
  const fs::path features = scratch.dir / "features.safetensors";
  auto all = feature_pipeline(config, images.paths, features);
  TrainingFeatures out;
  out.model_key = all->model_key();
  FeatureCache cache(config.fit.cache_dir, out.model_key);
  if (!cache.problem().empty()) log << "feature cache: " << cache.problem() << "\n";
  std::vector<std::string> hashes;
  std::vector<fs::path> missing;
  std::vector<std::string> missing_hashes;
  for (const auto& p : images.paths) {
    hashes.push_back(hub::sha256_file_hex(p));
    if (!cache.find(hashes.back()) &&
        std::find(missing_hashes.begin(), missing_hashes.end(), hashes.back()) == missing_hashes.end()) {
      missing.push_back(p);
      missing_hashes.push_back(hashes.back());
    }
  }
  if (!missing.empty()) {
    if (missing.size() < images.paths.size())  // the same model, over the missing images only
      all->select_sources(
          pipeline::parse_config(config.pipeline_yaml(missing, features), config.file).sources);
    auto rows = run_backbone(*all, features, missing.size(), log);
    for (std::size_t i = 0; i < rows.size(); ++i) cache.add(missing_hashes[i], std::move(rows[i]));
    cache.save();
  }
  out.computed = missing.size();
  out.from_cache = images.paths.size() - missing.size();
  Dataset& d = out.data;
  d.n = static_cast<std::int64_t>(images.paths.size());
  d.num_classes = static_cast<int>(images.classes.size());
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    const auto* row = cache.find(hashes[i]);
    if (i == 0) d.d = static_cast<std::int64_t>(row->size());
    d.x.insert(d.x.end(), row->begin(), row->end());
    d.y.push_back(images.labels[i]);
  }
  return out;
}

}  // namespace visbone::transfer
