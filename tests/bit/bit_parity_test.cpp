// Parity with transformers: every reference tensor of every model fixture (hidden_states, last_hidden_state,
// pooler_output, logits, backbone feature maps) is reproduced within the tolerance its storage allows
// (support/tensor_compare.h: 1e-4 relative for float32-stored references, plus 2^-11 for float16 ones).
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <numeric>

#include "fixtures.h"
#include "support/winograd.h"
#include "visbone/bit/bit_backbone.h"
#include "visbone/bit/ws_conv.h"
#include "visbone/core/checkpoint.h"
#include "visbone/core/json.h"
#include "visbone/core/safetensors.h"

namespace visbone {
namespace {

using testing::model_dir;

using testing::cpu_has_winograd;

struct Worst {
  double value = 0.0;
  std::string key;
};

void check_model(const std::string& name) {
  const auto dir = model_dir(name);
  const auto ref = SafetensorsFile::open(dir / "reference.safetensors");
  const auto info = read_json_file(dir / "reference.json").as_object();
  auto ckpt = Checkpoint::open(dir);
  auto model_ptr = std::make_shared<bit::BitModel>(bit::BitConfig::from_json(ckpt.config(), name), ckpt);
  auto& model = *model_ptr;

  Worst worst;
  int compared = 0;
  for (const auto& [input, shape] : info.at("inputs").as_object()) {
    const std::string x(input);
    const Tensor pixels = ref.load(x + ".pixel_values");
    bit::BitRequest req;
    for (int i = 0; i < static_cast<int>(model.stage_names().size()); ++i) req.stages.push_back(i);
    req.last_hidden_state = req.pooled = true;
    req.logits = model.has_classifier();
    const auto out = model.forward(pixels, req);

    for (const auto& t : ref.tensors()) {
      if (t.name.rfind(x + ".", 0) != 0 || t.name == x + ".pixel_values") continue;
      const std::string key = t.name.substr(x.size() + 1);
      Tensor ours;
      if (key.rfind("hidden_states.", 0) == 0) {
        ours = out.stages.at(std::stoi(key.substr(14)));
      } else if (key.rfind("backbone.feature_maps.", 0) == 0) {
        // Through the backbone API, as transformers' BitBackbone with out_indices = [j].
        bit::BitBackboneOptions only;
        only.out_indices = std::vector<int>{std::stoi(key.substr(22))};
        const auto maps = bit::BitBackbone(model_ptr, only).feature_maps(pixels);
        ASSERT_EQ(maps.size(), 1u);
        ours = maps[0];
      } else if (key == "last_hidden_state") {
        ours = out.last_hidden_state;
      } else if (key == "pooler_output") {
        ours = out.pooled;
      } else if (key == "logits") {
        ours = out.logits;
      } else {
        ADD_FAILURE() << "unknown reference key " << t.name;
        continue;
      }
      const Tensor expected = ref.load(t.name);
      EXPECT_TRUE(testing::near(ours, expected, testing::tolerance_for(t.dtype))) << name << " " << t.name;
      const double err = testing::difference(ours, expected).max_rel();
      if (err > worst.value) worst = {err, t.name};
      ++compared;
    }
  }
  // Under VISBONE_WINOGRAD=1 (the BitParity.WithWinograd run) bit-50's 3x3 convolutions must really have
  // run Winograd (the tiny fixtures' channel counts are below what oneDNN's Winograd takes).
  if (bit::winograd_enabled() && name == "bit-50-random-fp16" && cpu_has_winograd()) {
    EXPECT_GT(model.winograd_primitives(), 0) << "Winograd was switched on but no convolution used it";
  }
  std::cout << "[parity] " << name << ": " << compared << " tensors, worst relative error " << worst.value << " ("
            << worst.key << ")\n";
  EXPECT_GT(compared, 0);
}

TEST(BitParity, TinyPreact) { check_model("tiny-preact"); }
TEST(BitParity, TinyBottleneckSameOs8) { check_model("tiny-bottleneck-same-os8"); }
TEST(BitParity, TinyPreactSameOs16) { check_model("tiny-preact-same-os16"); }
TEST(BitParity, TinyGrayDynstem) { check_model("tiny-gray-dynstem"); }
TEST(BitParity, Bit50RandomFp16) { check_model("bit-50-random-fp16"); }

// Switched on per model, Winograd really runs (bit-50's 3x3 stride-1 convolutions) and stays within the fp32
// budget of the reference logits; switched off, no convolution uses it.
TEST(BitParity, WinogradRunsWhenSwitchedOnAndStaysExact) {
  if (!cpu_has_winograd()) GTEST_SKIP() << testing::kNoWinograd;
  const auto dir = model_dir("bit-50-random-fp16");
  const auto ref = SafetensorsFile::open(dir / "reference.safetensors");
  for (const bool on : {true, false}) {
    bit::BitBackboneOptions o;
    o.winograd = on;
    auto backbone = bit::BitBackbone::from_pretrained(dir, o);
    const auto out = backbone->forward(ref.load("chelsea.pixel_values"), {{}, false, true});
    EXPECT_TRUE(testing::near(out.logits, ref.load("chelsea.logits"), testing::kF32Tolerance)) << on;
    if (on) {
      EXPECT_GT(backbone->model().winograd_primitives(), 0);
    } else {
      EXPECT_EQ(backbone->model().winograd_primitives(), 0);
    }
  }
}

std::vector<int> top_k(const Tensor& logits, int k) {
  std::vector<int> idx(static_cast<std::size_t>(logits.numel()));
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [&](int a, int b) { return logits.data()[a] > logits.data()[b]; });
  idx.resize(static_cast<std::size_t>(k));
  return idx;
}

TEST(BitParity, Bit50Top5MatchesReference) {
  const auto dir = model_dir("bit-50-random-fp16");
  const auto ref = SafetensorsFile::open(dir / "reference.safetensors");
  auto backbone = bit::BitBackbone::from_pretrained(dir);
  const auto out = backbone->forward(ref.load("chelsea.pixel_values"), {{}, false, true});
  const auto expected = top_k(ref.load("chelsea.logits"), 5);
  EXPECT_EQ(top_k(out.logits, 5), expected);
  std::cout << "[parity] bit-50 top-5:";
  for (int i : expected) std::cout << " " << i << " (" << backbone->model().config().id2label.at(i) << ")";
  std::cout << "\n";
}

}  // namespace
}  // namespace visbone
