// A ViT-hybrid checkpoint folder loads through load_backbone as it does through a YAML `checkpoint:`: the BiT
// backbone under the patch embedding, with the same numbers as the plain BiT folder it was made from.
#include <gtest/gtest.h>

#include "api_test_support.h"
#include "support/vit_hybrid.h"
#include "visbone/visbone.h"

namespace visbone {
namespace {

using namespace api_test;

TEST(LoadBackbone, VitHybridFolderLoadsItsBitBackbone) {
  const fs::path src = kModels / "tiny-preact";
  TempDir d;
  testing::write_vit_hybrid_checkpoint(src, d.path());

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
