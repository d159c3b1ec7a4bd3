// The strict .npz reader: well-formed archives load (C and Fortran order), malformed ones are refused with
// a message naming the archive and member.
#include "visbone/core/npz.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <span>

#include "visbone/core/errors.h"

namespace visbone {
namespace {

using ::testing::HasSubstr;

template <typename T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}

std::string npy(const std::string& header_dict, const std::string& data) {
  std::string h = header_dict;
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::string s("\x93NUMPY\x01\x00", 8);
  put<std::uint16_t>(s, static_cast<std::uint16_t>(h.size()));
  return s + h + data;
}

// A stored (uncompressed) zip of the members, as np.savez writes it.
std::string zip(const std::vector<std::pair<std::string, std::string>>& members, std::uint16_t method = 0) {
  std::string out, central;
  for (const auto& [name, body] : members) {
    const auto offset = static_cast<std::uint32_t>(out.size());
    const std::uint32_t crc = crc32(std::as_bytes(std::span<const char>(body.data(), body.size())));
    put<std::uint32_t>(out, 0x04034b50);
    put<std::uint16_t>(out, 20), put<std::uint16_t>(out, 0), put<std::uint16_t>(out, method);
    put<std::uint32_t>(out, 0), put<std::uint32_t>(out, crc);
    put<std::uint32_t>(out, static_cast<std::uint32_t>(body.size())), put<std::uint32_t>(out, static_cast<std::uint32_t>(body.size()));
    put<std::uint16_t>(out, static_cast<std::uint16_t>(name.size())), put<std::uint16_t>(out, 0);
    out += name + body;
    put<std::uint32_t>(central, 0x02014b50);
    put<std::uint16_t>(central, 20), put<std::uint16_t>(central, 20), put<std::uint16_t>(central, 0);
    put<std::uint16_t>(central, method), put<std::uint32_t>(central, 0), put<std::uint32_t>(central, crc);
    put<std::uint32_t>(central, static_cast<std::uint32_t>(body.size()));
    put<std::uint32_t>(central, static_cast<std::uint32_t>(body.size()));
    put<std::uint16_t>(central, static_cast<std::uint16_t>(name.size()));
    put<std::uint16_t>(central, 0), put<std::uint16_t>(central, 0), put<std::uint16_t>(central, 0);
    put<std::uint16_t>(central, 0), put<std::uint32_t>(central, 0), put<std::uint32_t>(central, offset);
    central += name;
  }
  const auto cd_offset = static_cast<std::uint32_t>(out.size());
  out += central;
  put<std::uint32_t>(out, 0x06054b50);
  put<std::uint16_t>(out, 0), put<std::uint16_t>(out, 0);
  put<std::uint16_t>(out, static_cast<std::uint16_t>(members.size()));
  put<std::uint16_t>(out, static_cast<std::uint16_t>(members.size()));
  put<std::uint32_t>(out, static_cast<std::uint32_t>(central.size())), put<std::uint32_t>(out, cd_offset);
  put<std::uint16_t>(out, 0);
  return out;
}

std::string floats(std::initializer_list<float> v) {
  std::string s;
  for (float f : v) put(s, f);
  return s;
}

std::string error_of(const std::string& bytes) {
  try {
    NpzFile::from_bytes(bytes, "test.npz");
  } catch (const FormatError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Npz, ReadsCAndFortranOrder) {
  const auto bytes = zip({{"c.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", floats({1, 2, 3, 4, 5, 6}))},
                          {"f.npy", npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", floats({1, 4, 2, 5, 3, 6}))},
                          {"s.npy", npy("{'descr': '<f2', 'fortran_order': False, 'shape': (), }", std::string("\x00\x3c", 2))}});
  const auto f = NpzFile::from_bytes(bytes, "test.npz");
  ASSERT_EQ(f.arrays().size(), 3u);
  const Tensor c = f.load("c"), fo = f.load("f");
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(c.data()[i], static_cast<float>(i + 1));
    EXPECT_EQ(fo.data()[i], static_cast<float>(i + 1));
  }
  EXPECT_EQ(f.load("s").data()[0], 1.0f);
  EXPECT_THROW(f.load("missing"), NotFoundError);
}

TEST(Npz, Crc32MatchesTheStandardCheckValue) {
  const std::string check = "123456789";  // the check value of CRC-32/ISO-HDLC, zip's CRC
  EXPECT_EQ(crc32(std::as_bytes(std::span<const char>(check.data(), check.size()))), 0xCBF43926u);
  EXPECT_EQ(crc32({}), 0u);
}

TEST(Npz, RefusesAnArrayWhoseBytesDoNotMatchTheirCrc) {
  std::string bytes = zip({{"a.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", floats({1, 2}))},
                           {"b.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats({3}))}});
  const std::string one = floats({1});
  bytes[bytes.find(one)] ^= 0x01;  // one bit of a's first float
  const auto f = NpzFile::from_bytes(bytes, "test.npz");  // the directory and headers are intact
  try {
    f.load("a");
    ADD_FAILURE() << "a corrupt array loaded";
  } catch (const FormatError& e) {
    EXPECT_THAT(e.what(), HasSubstr("test.npz: array 'a' is corrupt: its member's CRC-32 is"));
  }
  EXPECT_EQ(f.load("b").data()[0], 3.0f);  // the other member is fine
}

TEST(Npz, RejectsTruncatedArchive) {
  const auto good = zip({{"a.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", floats({1, 2}))}});
  EXPECT_THAT(error_of(good.substr(0, good.size() / 2)), HasSubstr("test.npz"));
  EXPECT_THAT(error_of(good.substr(0, good.size() / 2)), HasSubstr("no end-of-central-directory"));
  EXPECT_THAT(error_of(""), HasSubstr("not a zip archive"));
  // The directory claims an offset past the end.
  std::string bad = good;
  const std::uint32_t far = 1u << 30;
  std::memcpy(bad.data() + bad.size() - 6, &far, 4);
  EXPECT_THAT(error_of(bad), HasSubstr("outside the file"));
}

TEST(Npz, RejectsALyingNpyHeader) {
  // Claims 4 floats, holds 2.
  EXPECT_THAT(error_of(zip({{"a.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", floats({1, 2}))}})),
              HasSubstr("member 'a.npy': shape [4] of F32 needs 16 bytes but the array has 8"));
  EXPECT_THAT(error_of(zip({{"a.npy", npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", floats({1, 2}))}})),
              HasSubstr("unsupported dtype"));
  EXPECT_THAT(error_of(zip({{"a.npy", npy("{'descr': '<f4', 'shape': (2,), }", floats({1, 2}))}})),
              HasSubstr("required"));
  EXPECT_THAT(error_of(zip({{"a.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", floats({1, 2}))}})),
              HasSubstr("non-negative integers"));
  EXPECT_THAT(error_of(zip({{"a.npy", std::string("NOTNUMPY and more bytes")}})), HasSubstr("bad magic"));
  std::string huge_header = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", floats({1, 2}));
  const std::uint16_t len = 60000;
  std::memcpy(huge_header.data() + 8, &len, 2);
  EXPECT_THAT(error_of(zip({{"a.npy", huge_header}})), HasSubstr("runs past the member"));
}

// Deflate (8) is read too (npz_deflate_test.cpp); other methods, such as bzip2 (12), are not.
TEST(Npz, RejectsOtherCompressionMethodsAndDuplicateMembers) {
  const auto body = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats({1}));
  EXPECT_THAT(error_of(zip({{"a.npy", body}}, 12)), HasSubstr("is compressed with zip method 12"));
  EXPECT_THAT(error_of(zip({{"a.npy", body}, {"a.npy", body}})), HasSubstr("duplicate"));
}

}  // namespace
}  // namespace visbone
