// A ViT-hybrid checkpoint as transformers saves one, made from a BiT checkpoint folder for the tests that
// load one (registry and API).
#pragma once

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "visbone/core/json.h"
#include "visbone/core/safetensors.h"

namespace visbone::testing {

// Writes into `out` the BiT backbone of `bit` under the patch embedding
// (vit.embeddings.patch_embeddings.backbone.bit.*) with ViT tensors beside it, and config.json with the
// BiT config as backbone_config, its hidden_sizes one entry longer than the depths as ViTHybridConfig
// writes it.
inline void write_vit_hybrid_checkpoint(const std::filesystem::path& bit, const std::filesystem::path& out) {
  const auto weights = SafetensorsFile::open(bit / "model.safetensors");
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& t : weights.tensors())
    if (t.name.rfind("bit.", 0) == 0)
      tensors.emplace_back("vit.embeddings.patch_embeddings.backbone." + t.name, weights.load(t.name));
  tensors.emplace_back("vit.embeddings.cls_token", Tensor({1, 1, 8}));
  tensors.emplace_back("classifier.weight", Tensor({3, 8}));
  write_safetensors(out / "model.safetensors", tensors);
  auto backbone_config = read_json_file(bit / "config.json");
  backbone_config.as_object()["hidden_sizes"].as_array().push_back(2048);
  const boost::json::object config{{"model_type", "vit-hybrid"}, {"backbone_config", backbone_config}};
  std::ofstream(out / "config.json") << boost::json::serialize(config);
}

}  // namespace visbone::testing
