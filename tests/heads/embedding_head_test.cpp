// The embedding head: pooled features per image (transformers' pooler_output), optionally L2-normalised.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "heads_support.h"
#include "visbone/core/l2_normalize.h"
#include "visbone/core/safetensors.h"
#include "visbone/heads/embedding_head.h"

namespace visbone {
namespace {

using testing::builtin_registry;
using ::testing::HasSubstr;
using testing::message_of;
using testing::model_dir;
using testing::yaml;

TEST(EmbeddingHead, PooledFeaturesAndTheirUnitVersion) {
  const auto ref = SafetensorsFile::open(model_dir("tiny-preact") / "reference.safetensors");
  auto backbone = testing::bit_backbone("tiny-preact");
  HeadContext ctx{*backbone, {}};
  auto raw = builtin_registry().build_head(yaml("type: embedding"), ctx);
  auto unit = builtin_registry().build_head(yaml("type: embedding\nnormalize: true"), ctx);
  const auto f = backbone->forward(ref.load("a.pixel_values"), raw->needs().request());
  const Tensor want = ref.load("a.pooler_output");  // (2, C, 1, 1)
  const auto a = raw->run(f), b = unit->run(f);
  ASSERT_EQ(a.size(), 2u);
  const std::int64_t c = want.dim(1);
  for (std::size_t i = 0; i < 2; ++i) {
    const Tensor& e = a[i].tensors.at(0).second;
    const Tensor& n = b[i].tensors.at(0).second;
    ASSERT_EQ(e.shape(), (Shape{c}));
    const Tensor ref_row =
        want.slice(static_cast<std::int64_t>(i), static_cast<std::int64_t>(i) + 1).view({c});
    EXPECT_TRUE(testing::near(e, ref_row, testing::kF32Tolerance));
    double norm = 0, dot = 0, enorm = 0;
    for (std::int64_t j = 0; j < c; ++j) {
      norm += static_cast<double>(n.data()[j]) * n.data()[j];
      dot += static_cast<double>(n.data()[j]) * e.data()[j];
      enorm += static_cast<double>(e.data()[j]) * e.data()[j];
    }
    EXPECT_NEAR(norm, 1.0, 1e-6);
    EXPECT_NEAR(dot, std::sqrt(enorm), 1e-4 * std::sqrt(enorm));  // same direction
    EXPECT_EQ(a[i].record.at("embedding").as_array().size(), static_cast<std::size_t>(c));
  }
}

TEST(EmbeddingHead, ExpectedChannelsAreCheckedAgainstTheBackbone) {
  auto backbone = testing::bit_backbone("tiny-preact");
  HeadContext ctx{*backbone, {}};
  const int pooled = backbone->pooled_channels();
  EXPECT_NO_THROW(
      builtin_registry().build_head(yaml("type: embedding\nchannels: " + std::to_string(pooled)), ctx));
  const auto msg =
      message_of([&] { builtin_registry().build_head(yaml("type: embedding\nchannels: 2048"), ctx); });
  EXPECT_THAT(msg, HasSubstr("the pooled features have " + std::to_string(pooled) +
                             " channels, the head expects 2048"));
  EXPECT_THAT(message_of([&] { builtin_registry().build_head(yaml("type: embedding\nchannels: -1"), ctx); }),
              HasSubstr("expected a positive channel count"));
}

TEST(EmbeddingHead, ZeroRowsStayZero) {
  Tensor rows({2, 3});
  rows.data()[3] = 3.0f;
  rows.data()[4] = 4.0f;
  l2_normalize_rows(rows);
  EXPECT_EQ(rows.data()[0], 0.0f);
  EXPECT_FLOAT_EQ(rows.data()[3], 0.6f);
  EXPECT_FLOAT_EQ(rows.data()[4], 0.8f);
}

}  // namespace
}  // namespace visbone
