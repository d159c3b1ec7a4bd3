// Any input size, as detectors feed it (issue 15): images of different sizes in one call give what each gives
// alone; the primitive cache stays bounded and evicting changes no result; warmup builds ahead; NHWC maps are
// the NCHW ones transposed; the same image gives the same maps at any batch size and thread count.
#include <gtest/gtest.h>

#include <iostream>
#include <random>
#include <string>

#include "api_test_support.h"
#include "visbone/core/asan.h"
#include "visbone/core/process_memory.h"
#include "visbone/visbone.h"

namespace visbone {
namespace {

using namespace api_test;

const std::vector<std::string> kAll{"stem", "stage1", "stage2", "stage3", "stage4"};

bit::BitModel& model_of(LoadedBackbone& b) { return dynamic_cast<bit::BitBackbone&>(b.inner()).model(); }

// One image of a batch, (1, C, H, W).
Tensor image(const Tensor& batch, std::int64_t i) { return batch.slice(i, i + 1); }

// Equal within 1e-6 of the reference's largest value (what oneDNN may change with the batch size); says
// whether the bits are the same.
::testing::AssertionResult within_1e6(const Tensor& ours, const Tensor& ref) {
  const auto d = testing::difference(ours, ref);
  if (!d.finite()) return ::testing::AssertionFailure() << "shapes differ or values are not finite";
  if (d.max_rel() > 1e-6) return ::testing::AssertionFailure() << "max rel " << d.max_rel();
  return ::testing::AssertionSuccess() << (d.max_abs == 0 ? "bit-identical" : "max rel " + std::to_string(d.max_rel()));
}

// GroupNorm makes every value depend on the whole map, so a padded batch would differ everywhere: the list
// runs in same-size groups and must give each image's own maps.
TEST(AnySize, MixedSizesEqualEachImageAlone) {
  for (const fs::path& dir : {kTiny, kModels / "tiny-bottleneck-same-os8"}) {
    auto bb = load_backbone(dir.string(), {.out_features = std::vector<std::string>{"stage1", "stage2", "stage3"}});
    const std::vector<Shape> sizes{{3, 64, 80}, {1, 3, 97, 64}, {3, 64, 80}, {3, 50, 71}, {3, 97, 64}, {3, 64, 80}};
    std::vector<Tensor> images;
    for (std::size_t i = 0; i < sizes.size(); ++i) images.push_back(random_batch(sizes[i], 100 + static_cast<unsigned>(i)));
    const auto mixed = bb->forward(images);
    ASSERT_EQ(mixed.size(), images.size());
    int maps = 0, identical_maps = 0;
    for (std::size_t i = 0; i < images.size(); ++i) {
      const Tensor& im = images[i];
      const auto alone = bb->forward(im.rank() == 4 ? im : im.view({1, im.dim(0), im.dim(1), im.dim(2)}));
      ASSERT_EQ(mixed[i].size(), 3u);
      for (const auto& [name, map] : alone) {
        const auto r = within_1e6(mixed[i].at(name), map);
        EXPECT_TRUE(r) << dir << " image " << i << " " << name;
        ++maps;
        identical_maps += std::string(r.message()) == "bit-identical";
      }
    }
    std::cout << dir.filename().string() << ": " << identical_maps << " of " << maps
              << " maps bit-identical to the image run alone\n";
  }
  auto bb = load_backbone(kTiny.string());
  EXPECT_THROW(bb->forward(std::vector<Tensor>{random_batch({2, 3, 64, 64}, 1)}), ShapeError);
}

// The request form (what the Python binding calls): raw stages, pooled features and logits per image, each
// with a batch dimension of 1 and the bits of that image run alone.
TEST(AnySize, MixedSizesWithARequestEqualEachImageAlone) {
  auto bb = load_backbone(kTiny.string());
  const ForwardRequest request{{"stage2", "stage4"}, true, true};
  const std::vector<Tensor> images{random_batch({3, 64, 80}, 1), random_batch({1, 3, 50, 71}, 2),
                                   random_batch({3, 64, 80}, 3)};
  const auto mixed = bb->forward(images, request);
  ASSERT_EQ(mixed.size(), images.size());
  for (std::size_t i = 0; i < images.size(); ++i) {
    const Tensor& im = images[i];
    const auto alone =
        bb->forward(im.rank() == 4 ? im : im.view({1, im.dim(0), im.dim(1), im.dim(2)}), request);
    ASSERT_EQ(mixed[i].stages.size(), 2u);
    for (const auto& [name, map] : alone.stages)
      EXPECT_TRUE(identical(mixed[i].stages.at(name), map)) << i << name;
    EXPECT_TRUE(identical(mixed[i].pooled, alone.pooled)) << i;
    EXPECT_TRUE(identical(mixed[i].logits, alone.logits)) << i;
    EXPECT_TRUE(mixed[i].last_hidden_state.empty());
  }
}

// A cache of two input shapes: a third evicts the least recently used, the count stays bounded, and running
// an evicted size again (its primitives rebuilt) gives the same bits.
TEST(AnySize, PrimitiveCacheEvictsLeastRecentlyUsedAndResultsStay) {
  auto bb = load_backbone(kTiny.string(), {.out_features = kAll, .primitive_cache = 2});
  auto& model = model_of(*bb);
  EXPECT_EQ(model.primitive_cache(), 2);
  const Tensor a = random_batch({1, 3, 64, 64}, 1), b = random_batch({1, 3, 72, 56}, 2),
               c = random_batch({1, 3, 40, 88}, 3);
  const auto first = bb->forward(a);
  const int per_shape = model.primitives();
  ASSERT_GT(per_shape, 10);  // tiny-preact: one per convolution
  bb->forward(b);
  EXPECT_EQ(model.primitives(), 2 * per_shape);
  bb->forward(a);  // a is now the most recent: c evicts b
  bb->forward(c);
  EXPECT_EQ(model.primitives(), 2 * per_shape);
  bb->forward(b);  // evicts a
  EXPECT_EQ(model.primitives(), 2 * per_shape);
  const auto again = bb->forward(a);
  for (const auto& s : kAll) EXPECT_TRUE(identical(again.at(s), first.at(s))) << s;
  EXPECT_THROW(load_backbone(kTiny.string(), {.primitive_cache = 0}), ConfigError);
}

// A detector's stream of new input sizes keeps memory flat: the convolutions' primitive caches are bounded,
// the activation pool keeps one pass's buffers, and oneDNN's own primitive cache is bounded too (with its
// default of 1024 primitives the heap fragmented: RSS +16 MiB from 40 to 160 sizes here, +2.6 with the
// bound).
TEST(AnySize, MemoryStaysFlatOverManyDistinctSizes) {
#if defined(VISBONE_ASAN)
  GTEST_SKIP() << "RSS is not meaningful under AddressSanitizer (freed memory stays in quarantine)";
#endif
  auto bb = load_backbone(kTiny.string(), {.out_features = kAll, .threads = 1});
  std::mt19937 rng(15);
  std::uniform_int_distribution<std::int64_t> side(33, 96);
  double after_first = 0;
  const int first = 40, total = 160;
  for (int i = 1; i <= total; ++i) {
    bb->forward(random_batch({1, 3, side(rng), side(rng)}, static_cast<unsigned>(i)));
    if (i == first) after_first = current_rss_mib();
  }
  const double after_all = current_rss_mib();
  std::cout << "[ memory ] RSS " << after_first << " MiB after " << first << " sizes, " << after_all
            << " MiB after " << total << "\n";
  EXPECT_LE(after_all, after_first + 6.0)
      << "four times the new sizes: at most 6 MiB more (oneDNN's default cache: +16)";
}

TEST(AnySize, WarmupBuildsThePrimitivesAhead) {
  auto bb = load_backbone(kTiny.string(), {.primitive_cache = 8});
  auto& model = model_of(*bb);
  EXPECT_EQ(model.primitives(), 0);
  bb->warmup({{1, 3, 64, 64}, {2, 3, 80, 48}});
  const int built = model.primitives();
  EXPECT_GT(built, 20);
  bb->forward(random_batch({2, 3, 80, 48}, 1));
  bb->forward(random_batch({1, 3, 64, 64}, 2));
  EXPECT_EQ(model.primitives(), built);  // nothing new to build
  EXPECT_THROW(bb->warmup({{1, 4, 64, 64}}), ShapeError);
}

TEST(AnySize, NhwcLayoutIsTheNchwMapsTransposed) {
  auto nchw = load_backbone(kTiny.string(), {.out_features = kAll});
  auto nhwc = load_backbone(kTiny.string(), {.out_features = kAll, .layout = heads::Layout::Nhwc});
  const Tensor batch = random_batch({2, 3, 72, 56}, 4);
  const auto a = nchw->forward(batch), b = nhwc->forward(batch);
  for (const auto& s : kAll) {
    const Tensor& m = a.at(s);
    const Tensor& t = b.at(s);
    ASSERT_EQ(t.shape(), (Shape{m.dim(0), m.dim(2), m.dim(3), m.dim(1)})) << s;
    bool same = true;
    for (std::int64_t n = 0; n < m.dim(0); ++n)
      for (std::int64_t c = 0; c < m.dim(1); ++c)
        for (std::int64_t y = 0; y < m.dim(2); ++y)
          for (std::int64_t x = 0; x < m.dim(3); ++x)
            same = same && m.data()[((n * m.dim(1) + c) * m.dim(2) + y) * m.dim(3) + x] ==
                               t.data()[((n * m.dim(2) + y) * m.dim(3) + x) * m.dim(1) + c];
    EXPECT_TRUE(same) << s;
  }
  const auto list = nhwc->forward(std::vector<Tensor>{image(batch, 1)});
  EXPECT_TRUE(identical(list[0].at("stage2"), image(b.at("stage2"), 1)));
}

// The same image at batch 1, 3 and 8 and with 1 or 2 threads: the table is printed; every entry within 1e-6.
TEST(AnySize, SameImageAtAnyBatchSizeAndThreadCount) {
  const Tensor batch8 = random_batch({8, 3, 64, 80}, 5);
  Tensor reference;
  for (int threads : {1, 2}) {
    auto bb = load_backbone(kTiny.string(), {.out_features = std::vector<std::string>{"stage4"}, .threads = threads});
    for (std::int64_t n : {1, 3, 8}) {
      const Tensor out = image(bb->forward(batch8.slice(0, n)).at("stage4"), 0);
      if (reference.empty()) reference = out;
      const auto r = within_1e6(out, reference);
      EXPECT_TRUE(r) << "batch " << n << " threads " << threads;
      std::cout << "tiny-preact stage4, image 0 at batch " << n << ", threads " << threads << " vs batch 1, threads 1: "
                << r.message() << "\n";
    }
  }
}

}  // namespace
}  // namespace visbone
