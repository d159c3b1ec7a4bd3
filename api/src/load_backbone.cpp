#include "visbone/api/load_backbone.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <system_error>

#include "visbone/api/register_builtins.h"
#include "visbone/bit/bit_backbone.h"
#include "visbone/bit/bit_component.h"
#include "visbone/bit/bit_presets.h"
#include "visbone/core/errors.h"
#include "visbone/core/model_name.h"
#include "visbone/core/omp_threads.h"
#include "visbone/hub/hub.h"
#include "visbone/registry/registry.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;

StageSelection resolve_selection(const Backbone& inner, const BackboneOptions& options) {
  StageSelection s;
  if (options.out_features || options.out_indices) {
    s = resolve_stage_selection(inner.stage_names(), options.out_features, options.out_indices);
  } else {
    // The inner backbone's own selection, aligned with indices the same way.
    s = resolve_stage_selection(inner.stage_names(), inner.out_features(), std::nullopt);
  }
  if (options.final_norm) {
    const auto names = inner.stage_names();
    if (names.empty()) throw ConfigError("final_norm: the backbone reports no stages");
    if (std::find(s.out_features.begin(), s.out_features.end(), names.back()) == s.out_features.end())
      throw ConfigError("final_norm applies the final norm to the last stage '" + names.back() +
                        "', which is not selected (out_features " + py_repr(s.out_features) + ")");
  }
  return s;
}

bit::BitBackboneOptions bit_options(const BackboneOptions& o) {
  bit::BitBackboneOptions b;
  b.out_features = o.out_features;
  b.out_indices = o.out_indices;
  b.config = o.config;
  b.semantics = o.semantics;
  b.winograd = o.winograd;
  b.algorithm = o.algorithm;
  b.precision = o.precision;
  b.primitive_cache = o.primitive_cache;
  return b;
}

// Presets are built by the BiT registry component, which knows what each needs (the architecture check, the
// ViT-hybrid layout); `folder` is the snapshot of its hub checkpoint the resolver fetched (empty: none).
std::unique_ptr<Backbone> load_preset(const bit::BitPreset& preset, const std::filesystem::path& folder,
                                      const BackboneOptions& options) {
  if (folder.empty())
    throw ConfigError(
        "preset '" + preset.name + "' has no transformers BiT checkpoint on the hub" +
        (preset.timm_name.empty() ? "" : " (timm: " + preset.timm_name + ")") +
        "; pass a timm folder, a BiT .npz file or a transformers folder to load_backbone instead");
  registry::Registry components;
  register_builtins(components, options.hub);
  YAML::Node spec(YAML::NodeType::Map);
  spec["type"] = preset.name;
  spec["checkpoint"] = folder.string();
  if (options.out_features) spec["out_features"] = *options.out_features;
  if (options.out_indices) spec["out_indices"] = *options.out_indices;
  if (options.semantics) spec["semantics"] = bit::to_string(*options.semantics);
  if (options.winograd) spec["winograd"] = *options.winograd;
  if (options.algorithm) spec["algorithm"] = bit::to_string(*options.algorithm);
  if (options.precision) spec["precision"] = bit::to_string(*options.precision);
  if (options.primitive_cache) spec["primitive_cache"] = *options.primitive_cache;
  return components.build_backbone(registry::Params(spec, "load_backbone('" + preset.name + "')"));
}

// Python's from_pretrained order, by the one model resolver (core/model_name.h): a local path wins, then a
// preset, then a hub id. Folders load through the BiT component's loader, as in YAML (ViT-hybrid too).
std::unique_ptr<Backbone> load_inner(const std::string& name, const BackboneOptions& options) {
  ModelNameRules rules;
  rules.presets = bit::bit_preset_hub_ids();
  std::string names;
  for (const auto& p : rules.presets) names += (names.empty() ? "" : ", ") + p.first;
  rules.expected = "a folder, a .npz file, a preset (" + names + ") or a hub repository id";
  std::error_code
      ec;  // checked before the resolver fetches the preset's checkpoint (a local path still wins)
  if (options.config && rules.presets.count(name) && !fs::exists(name, ec))
    throw ConfigError("load_backbone('" + name +
                      "'): options.config is for .npz files whose name does not "
                      "say the architecture; a preset has its own");
  ResolvedModel m;
  try {
    m = hub::resolve_model_name(name, rules, options.hub);
  } catch (const ModelNotFoundError& e) {
    throw ModelNotFoundError(std::string("load_backbone: ") + e.what());
  }
  if (m.kind == ModelName::Kind::preset) return load_preset(bit::bit_preset(name), m.path, options);
  return bit::load_checkpoint(m.path, bit_options(options));
}

}  // namespace

LoadedBackbone::LoadedBackbone(std::unique_ptr<Backbone> inner, BackboneOptions options)
    : inner_(std::move(inner)), options_(std::move(options)) {
  if (!inner_) throw ConfigError("LoadedBackbone: no backbone given");
  if (options_.threads < 0)
    throw ConfigError("threads is " + std::to_string(options_.threads) +
                      ", expected 0 (OpenMP's default) or more");
  selection_ = resolve_selection(*inner_, options_);
}

std::vector<std::string> LoadedBackbone::stage_names() const {
  return inner_->stage_names();
}
std::map<std::string, StageShape> LoadedBackbone::output_shape() const {
  return inner_->output_shape();
}
int LoadedBackbone::pooled_channels() const {
  return inner_->pooled_channels();
}
std::optional<LinearClassifier> LoadedBackbone::classifier() const {
  return inner_->classifier();
}

template <typename Pass>
auto LoadedBackbone::run_pass(Pass&& pass) {
  if (!inner_->reentrant()) {
    const OmpThreadsScope threads(options_.threads);
    const std::lock_guard lock(mutex_);
    return pass();
  }
  const int budget = options_.threads > 0 ? options_.threads : omp_get_max_threads();
  int mine = 0;
  {
    std::unique_lock lock(mutex_);
    slot_free_.wait(lock, [&] { return running_ < budget; });
    mine = std::max(1, budget / (running_ + 1));
    ++running_;
  }
  struct Release {
    LoadedBackbone& self;
    ~Release() {
      {
        const std::lock_guard lock(self.mutex_);
        --self.running_;
      }
      self.slot_free_.notify_all();  // waiters may have different budgets (threads = 0: their own setting)
    }
  } release{*this};
  const OmpThreadsScope threads(mine);
  return pass();
}

ForwardResult LoadedBackbone::forward(const Tensor& batch, const ForwardRequest& request) {
  if (batch.rank() != 4)
    throw ShapeError("backbone input " + shape_str(batch.shape()) +
                     ": expected a float32 (N, C, H, W) batch");
  return run_pass([&] { return inner_->forward(batch, request); });
}

void LoadedBackbone::warmup(const std::vector<Shape>& shapes) {
  run_pass([&] { inner_->warmup(shapes); });
}

std::map<std::string, Tensor> LoadedBackbone::forward(const Tensor& batch) {
  // The stage taken after the final norm when final_norm is set (the constructor checked it is selected).
  const std::string last = options_.final_norm ? inner_->stage_names().back() : std::string();
  ForwardRequest request;
  for (const auto& s : selection_.out_features) {
    if (options_.final_norm && s == last)
      request.last_hidden_state = true;
    else
      request.stages.push_back(s);
  }
  auto result = forward(batch, request);
  std::map<std::string, Tensor> maps;
  for (const auto& s : selection_.out_features) {
    Tensor t;
    if (options_.final_norm && s == last) {
      t = std::move(result.last_hidden_state);
    } else if (auto it = result.stages.find(s); it != result.stages.end()) {
      t = std::move(it->second);
    }
    if (t.empty()) throw ShapeError("the backbone returned no map for stage '" + s + "'");
    maps.emplace(s, heads::to_layout(t, options_.layout));
  }
  return maps;
}

namespace {

// Runs `images` ((C, H, W) or (1, C, H, W) each) in same-shape batches, in order of first appearance:
// run(batch, members) gets each batch and the indices of the images it holds, in batch order.
void for_each_shape_group(const std::vector<Tensor>& images,
                          const std::function<void(const Tensor&, const std::vector<std::size_t>&)>& run) {
  std::vector<std::pair<Shape, std::vector<std::size_t>>> groups;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const Tensor& image = images[i];
    if (!(image.rank() == 3 || (image.rank() == 4 && image.dim(0) == 1)))
      throw ShapeError("forward(images): image " + std::to_string(i) + " is " + shape_str(image.shape()) +
                       ", expected (C, H, W) or (1, C, H, W)");
    const Shape shape = image.rank() == 3 ? image.shape() : Shape(image.shape().begin() + 1, image.shape().end());
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == shape; });
    if (it == groups.end()) it = groups.insert(groups.end(), {shape, {}});
    it->second.push_back(i);
  }
  for (const auto& [shape, members] : groups) {
    const auto n = static_cast<std::int64_t>(members.size());
    Tensor batch = Tensor::uninitialized({n, shape[0], shape[1], shape[2]});
    const std::int64_t per = shape_numel(shape);
    for (std::int64_t b = 0; b < n; ++b)
      std::copy_n(images[members[static_cast<std::size_t>(b)]].data(), per, batch.data() + b * per);
    run(batch, members);
  }
}

// Image b of a batch, (1, ...); an empty tensor stays empty.
Tensor one(const Tensor& t, std::int64_t b) {
  return t.empty() ? Tensor() : t.slice(b, b + 1);
}

}  // namespace

std::vector<std::map<std::string, Tensor>> LoadedBackbone::forward(const std::vector<Tensor>& images) {
  std::vector<std::map<std::string, Tensor>> out(images.size());
  for_each_shape_group(images, [&](const Tensor& batch, const std::vector<std::size_t>& members) {
    for (auto& [name, map] : forward(batch))
      for (std::size_t b = 0; b < members.size(); ++b)
        out[members[b]].emplace(name, one(map, static_cast<std::int64_t>(b)));
  });
  return out;
}

std::vector<ForwardResult> LoadedBackbone::forward(const std::vector<Tensor>& images,
                                                   const ForwardRequest& request) {
  std::vector<ForwardResult> out(images.size());
  for_each_shape_group(images, [&](const Tensor& batch, const std::vector<std::size_t>& members) {
    const ForwardResult r = forward(batch, request);
    for (std::size_t b = 0; b < members.size(); ++b) {
      const auto i = static_cast<std::int64_t>(b);
      ForwardResult& mine = out[members[b]];
      for (const auto& [name, map] : r.stages) mine.stages.emplace(name, one(map, i));
      mine.pooled = one(r.pooled, i);
      mine.logits = one(r.logits, i);
      mine.last_hidden_state = one(r.last_hidden_state, i);
    }
  });
  return out;
}

std::vector<Tensor> LoadedBackbone::feature_maps(const Tensor& batch) {
  auto maps = forward(batch);
  std::vector<Tensor> out;
  out.reserve(selection_.out_features.size());
  for (const auto& s : selection_.out_features) out.push_back(std::move(maps.at(s)));
  return out;
}

std::unique_ptr<LoadedBackbone> load_backbone(const std::string& name_or_path,
                                              const BackboneOptions& options) {
  if (options.threads < 0)
    throw ConfigError("threads is " + std::to_string(options.threads) +
                      ", expected 0 (OpenMP's default) or more");
  const OmpThreadsScope threads(options.threads);
  return std::make_unique<LoadedBackbone>(load_inner(name_or_path, options), options);
}

}  // namespace visbone
