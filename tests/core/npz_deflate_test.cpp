// Deflated .npz members (np.savez_compressed): they load exactly as their stored twins do, and a damaged or
// oversized one is refused with the archive, the member and the reason (fixtures written by
// tests/core/make_compressed_npz.py).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "support/support.h"
#include "visbone/core/errors.h"
#include "visbone/core/npz.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::message_of;

const fs::path kData = VISBONE_TEST_DATA;
const fs::path kTimmW2 = kData / "models" / "timm-tiny-w2";
const fs::path kDamaged = kData / "npz-deflate";

TEST(NpzDeflate, CompressedTimmW2HoldsExactlyTheStoredArrays) {
  const auto stored = NpzFile::open(kTimmW2 / "npz" / "model.npz");
  const auto compressed = NpzFile::open(kTimmW2 / "npz-compressed" / "model.npz");
  ASSERT_EQ(compressed.arrays().size(), stored.arrays().size());
  int fortran = 0;
  for (const NpyInfo& s : stored.arrays()) {
    const NpyInfo* c = compressed.find(s.name);
    ASSERT_NE(c, nullptr) << s.name;
    EXPECT_EQ(s.method, 0) << s.name;
    EXPECT_EQ(c->method, 8) << s.name;
    EXPECT_LT(c->member_stored_size, c->member_size) << s.name;
    EXPECT_EQ(c->shape, s.shape) << s.name;
    EXPECT_EQ(c->fortran_order, s.fortran_order) << s.name;
    fortran += c->fortran_order;
    const Tensor a = stored.load(s.name), b = compressed.load(s.name);
    ASSERT_EQ(a.shape(), b.shape()) << s.name;
    EXPECT_EQ(std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.numel()) * sizeof(float)), 0) << s.name;
  }
  EXPECT_GT(fortran, 0) << "the fixture should hold Fortran-ordered arrays too";
}

TEST(NpzDeflate, SmallArchiveLoads) {
  const auto f = NpzFile::open(kDamaged / "good.npz");
  const Tensor a = f.load("a");
  ASSERT_EQ(a.shape(), (Shape{1000}));
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.data()[i], static_cast<float>(i));
}

// A zip bomb: more bytes come out than the directory declared. Refused, however the header and CRC look.
TEST(NpzDeflate, MemberInflatingPastItsDeclaredSizeIsRefused) {
  const auto f = NpzFile::open(kDamaged / "inflates-past-declared-size.npz");
  EXPECT_THAT(message_of([&] { f.load("a"); }),
              HasSubstr("inflates-past-declared-size.npz: array 'a' inflates to more than the 4128 bytes the zip "
                        "directory declares (a zip bomb, or a corrupt directory)"));
}

TEST(NpzDeflate, DeclaredSizeOverTheLimitOrBeyondDeflateIsRefusedAtOpen) {
  NpzLimits limits;
  limits.max_inflated_bytes = 4096;
  EXPECT_THAT(message_of([&] { NpzFile::open(kDamaged / "good.npz", limits); }),
              HasSubstr("good.npz: member 'a.npy' inflates to 4128 bytes, over the limit of 4096 bytes "
                        "(NpzLimits::max_inflated_bytes)"));
  limits.max_inflated_bytes = 4128;
  EXPECT_EQ(NpzFile::open(kDamaged / "good.npz", limits).arrays().size(), 1u);
  // The model's largest array is 128 KiB inflated.
  limits.max_inflated_bytes = 100'000;
  EXPECT_THAT(message_of([&] { NpzFile::open(kTimmW2 / "npz-compressed" / "model.npz", limits); }),
              HasSubstr("(NpzLimits::max_inflated_bytes)"));
  EXPECT_THAT(message_of([&] { NpzFile::open(kDamaged / "declares-more-than-deflate-can-give.npz"); }),
              HasSubstr("member 'a.npy' declares 1073741824 bytes inflated from 1345, more than deflate can "
                        "produce (at most 1032 to 1): a zip bomb, or a corrupt directory"));
}

TEST(NpzDeflate, DamagedStreamsAreRefusedNamingTheArchiveAndMember) {
  EXPECT_THAT(message_of([&] { NpzFile::open(kDamaged / "stream-cut-short.npz").load("a"); }),
              HasSubstr("stream-cut-short.npz: array 'a': its deflate stream is cut short after"));
  EXPECT_THAT(message_of([&] { NpzFile::open(kDamaged / "stream-ends-early.npz").load("a"); }),
              HasSubstr("stream-ends-early.npz: array 'a': its deflate stream ends after 168 bytes, short of "
                        "the 4128 the zip directory declares"));
  EXPECT_THAT(message_of([&] { NpzFile::open(kDamaged / "crc-mismatch.npz").load("a"); }),
              HasSubstr("crc-mismatch.npz: array 'a' is corrupt: its member's CRC-32 is"));
  // Found while reading the .npy header, so at open.
  EXPECT_THAT(message_of([&] { NpzFile::open(kDamaged / "invalid-block-type.npz"); }),
              HasSubstr("invalid-block-type.npz: member 'a.npy': corrupt deflate stream (invalid block type)"));
  EXPECT_THAT(message_of([&] { NpzFile::open(kDamaged / "method-bzip2.npz"); }),
              HasSubstr("method-bzip2.npz: member 'a.npy' is compressed with zip method 12; only stored (0) "
                        "and deflate (8) members are read"));
}

}  // namespace
}  // namespace visbone
