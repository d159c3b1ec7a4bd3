#include "visbone/core/tensor.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "visbone/core/asan.h"
#include "visbone/core/errors.h"

namespace visbone {
namespace {

TEST(Tensor, ZeroFilledAndAligned) {
  Tensor t({2, 3, 4, 5});
  EXPECT_EQ(t.numel(), 120);
  EXPECT_EQ(t.rank(), 4);
  EXPECT_EQ(t.dim(-1), 5);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % 64, 0u);
  for (float v : t) EXPECT_EQ(v, 0.0f);
}

// Large tensors take the mapped path (outside AddressSanitizer): still zero-filled and aligned, also when a
// block of the same size was just written and freed.
TEST(Tensor, LargeTensorsAreZeroFilledAndAlignedToo) {
  for (int round = 0; round < 3; ++round) {
    Tensor t({3, 1 << 19});  // 6 MiB
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % 64, 0u);
    std::int64_t nonzero = 0;
    for (float v : t) nonzero += v != 0.0f;
    EXPECT_EQ(nonzero, 0) << "round " << round;
    for (float& v : t) v = 1.0f;
  }
  float* raw = allocate_floats(std::size_t{1} << 20);
  raw[(std::size_t{1} << 20) - 1] = 2.0f;  // the whole block is writable
  free_floats(raw, std::size_t{1} << 20);
  free_floats(nullptr, 4);  // nothing to free
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t({2, 6});
  Tensor v = t.view({3, 4});
  v.data()[5] = 3.0f;
  EXPECT_EQ(t.data()[5], 3.0f);
  EXPECT_THROW(t.view({5, 5}), ShapeError);
}

TEST(Tensor, SliceIsARowRange) {
  Tensor t({4, 2});
  for (int i = 0; i < 8; ++i) t.data()[i] = static_cast<float>(i);
  Tensor s = t.slice(1, 3);
  EXPECT_EQ(s.shape(), (Shape{2, 2}));
  EXPECT_EQ(s.data()[0], 2.0f);
  EXPECT_EQ(s.numel(), 4);
  EXPECT_THROW(t.slice(3, 5), ShapeError);
}

TEST(Tensor, CloneIsIndependent) {
  Tensor t({3});
  Tensor c = t.clone();
  c.data()[0] = 1.0f;
  EXPECT_EQ(t.data()[0], 0.0f);
}

TEST(Tensor, RejectsBadShapes) {
  EXPECT_THROW(Tensor({-1, 3}), ShapeError);
  EXPECT_THROW(Tensor({1LL << 40, 1LL << 40}), ShapeError);
  EXPECT_EQ(shape_str({1, 2}), "[1, 2]");
  EXPECT_EQ(Tensor({0, 3}).numel(), 0);
  EXPECT_EQ(shape_numel({1LL << 32, 1LL << 32, 0}), 0);  // zero wins regardless of order
}

// 512 TiB: more than a 47-bit address space holds, whatever the kernel's overcommit policy. Out of memory is
// an error naming the shape and the size (it was a bare std::bad_alloc: "error: std::bad_alloc").
TEST(Tensor, OutOfMemoryNamesTheShapeAndSize) {
#if defined(VISBONE_ASAN)
  GTEST_SKIP() << "AddressSanitizer's allocator aborts on a request this size instead of throwing std::bad_alloc";
#endif
  for (const bool zeroed : {true, false}) {
    try {
      const Tensor t = zeroed ? Tensor({1LL << 47}) : Tensor::uninitialized({1LL << 47});
      ADD_FAILURE() << "allocated " << t.numel() << " floats";
    } catch (const ShapeError& e) {
      EXPECT_STREQ(e.what(), "tensor of shape [140737488355328] (536870912.0 MiB) cannot be allocated: out of memory");
    }
  }
}

}  // namespace
}  // namespace visbone
