// SHA-256 (OpenSSL's EVP behind visbone's hasher) against the FIPS 180-4 / NIST example vectors, at every
// padding boundary, fed in pieces and from a file's prefix.
#include "visbone/hub/sha256.h"

#include <gtest/gtest.h>

#include <string>

#include "hub_test_support.h"
#include "visbone/core/errors.h"

namespace visbone::hub {
namespace {

namespace fs = std::filesystem;

TEST(Sha256, NistVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(
      sha256_hex(
          "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
          "mnopqrstnopqrstu"),
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Lengths around 56 and 64 bytes exercise the one- and
// two-block padding paths (values from Python's hashlib).
TEST(Sha256, PaddingBoundaries) {
  EXPECT_EQ(sha256_hex(std::string(55, 'x')),
            "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
  EXPECT_EQ(sha256_hex(std::string(56, 'x')),
            "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
  EXPECT_EQ(sha256_hex(std::string(63, 'x')),
            "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2");
  EXPECT_EQ(sha256_hex(std::string(64, 'x')),
            "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
  EXPECT_EQ(sha256_hex(std::string(65, 'x')),
            "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9");
}

TEST(Sha256, IncrementalUpdatesMatchOneShot) {
  std::string data;
  for (int i = 0; i < 3; ++i)
    for (int b = 0; b < 256; ++b) data.push_back(static_cast<char>(b));
  const std::string expected = "f3a25aa93aa2fbba28d79260535bbd6a5eb0fc1c24a8b0f04e12b484c1dfe363";
  ASSERT_EQ(sha256_hex(data), expected);
  for (std::size_t step : {1u, 7u, 63u, 64u, 65u, 200u}) {
    Sha256 hasher;
    for (std::size_t pos = 0; pos < data.size(); pos += step)
      hasher.update(std::string_view(data).substr(pos, step));
    EXPECT_EQ(hasher.finish_hex(), expected) << "step " << step;
  }
}

TEST(Sha256, FileDigestAndErrors) {
  EXPECT_EQ(sha256_file_hex(test::kModels / "bit-tiny-digits" / "model.safetensors"),
            "29bc3ce6ab86698dfa4a7210067c54d2878ec3b85b539ae09c6c068c12b2ba9d");
  EXPECT_THROW(sha256_file_hex(test::kModels / "no-such-file"), IoError);
  Sha256 hasher;
  hasher.finish();
  EXPECT_THROW(hasher.finish(), Error);
  EXPECT_THROW(hasher.update("more"), Error);
}

// What a resumed download hashes: the part already on disk, then the rest as it arrives.
TEST(Sha256, FilePrefixThenStreamedRest) {
  const fs::path file = test::kModels / "bit-tiny-digits" / "model.safetensors";
  const std::string bytes = test::read_bytes(file);
  Sha256 hasher;
  sha256_update_from_file(hasher, file, 100000);
  EXPECT_EQ(hasher.size(), 100000u);
  hasher.update(std::string_view(bytes).substr(100000));
  EXPECT_EQ(hasher.finish_hex(), "29bc3ce6ab86698dfa4a7210067c54d2878ec3b85b539ae09c6c068c12b2ba9d");

  Sha256 past_the_end;
  const auto e = test::thrown<IoError>([&] { sha256_update_from_file(past_the_end, file, bytes.size() + 1); });
  ASSERT_TRUE(e) << "expected IoError";
  EXPECT_NE(std::string(e->what()).find("model.safetensors"), std::string::npos) << e->what();
}

}  // namespace
}  // namespace visbone::hub
