// A ViT-hybrid checkpoint folder loads through load_backbone as it does through a YAML `checkpoint:`: the BiT
// backbone under the patch embedding, with the same numbers as the plain BiT folder it was made from.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api_test_support.h"
#include "visbone/core/json.h"
#include "visbone/core/safetensors.h"
#include "visbone/visbone.h"

namespace visbone {
namespace {

using namespace api_test;

TEST(LoadBackbone, VitHybridFolderLoadsItsBitBackbone) {
  const fs::path src = kModels / "tiny-preact";
  TempDir d;
  const auto weights = SafetensorsFile::open(src / "model.safetensors");
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& t : weights.tensors())
    if (t.name.rfind("bit.", 0) == 0)
      tensors.emplace_back("vit.embeddings.patch_embeddings.backbone." + t.name, weights.load(t.name));
  tensors.emplace_back("vit.embeddings.cls_token", Tensor({1, 1, 8}));
  write_safetensors(d / "model.safetensors", tensors);
  const auto backbone_config = read_json_file(src / "config.json");
  boost::json::object config{{"model_type", "vit-hybrid"}, {"backbone_config", backbone_config}};
  d.write("config.json", boost::json::serialize(config));

  auto hybrid = load_backbone(d.path().string());
  auto plain = load_backbone(src.string());
  EXPECT_EQ(hybrid->stage_names(), plain->stage_names());
  const Tensor x = random_batch({1, 3, 64, 64}, 3);
  const auto a = hybrid->forward(x), b = plain->forward(x);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : b) EXPECT_TRUE(identical(a.at(name), t)) << name;
}

}  // namespace
}  // namespace visbone
