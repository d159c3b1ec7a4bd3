// Google's .npz format saved with np.savez_compressed (deflated members) gives the same model as the stored
// archive: identical outputs on the timm reference inputs, and within 1e-4 of timm itself.
#include <gtest/gtest.h>

#include "fixtures.h"
#include "visbone/bit/bit_backbone.h"
#include "visbone/bit/checkpoint_formats.h"
#include "visbone/core/json.h"
#include "visbone/core/safetensors.h"

namespace visbone {
namespace {

using testing::model_dir;

TEST(NpzCompressed, TimmW2GivesTheStoredArchivesOutputs) {
  bit::BitBackboneOptions opts;
  opts.config = bit::timm_config(read_json_file(model_dir("timm-tiny-w2") / "timm/config.json"), "timm config");
  auto stored = bit::BitBackbone::from_pretrained(model_dir("timm-tiny-w2") / "npz/model.npz", opts);
  auto compressed = bit::BitBackbone::from_pretrained(model_dir("timm-tiny-w2") / "npz-compressed/model.npz", opts);
  const auto ref = SafetensorsFile::open(model_dir("timm-tiny-w2") / "reference.safetensors");
  bit::BitRequest req;
  for (int i = 0; i <= 4; ++i) req.stages.push_back(i);
  req.last_hidden_state = req.pooled = req.logits = true;
  for (const std::string input : {"a", "b"}) {
    const Tensor pixels = ref.load(input + ".pixel_values");
    const auto want = stored->model().forward(pixels, req);
    const auto got = compressed->model().forward(pixels, req);
    for (int i = 0; i <= 4; ++i) EXPECT_TRUE(testing::identical(got.stages.at(i), want.stages.at(i))) << input << " stage " << i;
    EXPECT_TRUE(testing::identical(got.pooled, want.pooled)) << input;
    EXPECT_TRUE(testing::identical(got.logits, want.logits)) << input;
    EXPECT_TRUE(testing::near(got.logits, ref.load(input + ".logits"), testing::kF32Tolerance)) << input;
  }
}

}  // namespace
}  // namespace visbone
