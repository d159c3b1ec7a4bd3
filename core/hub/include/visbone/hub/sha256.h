// SHA-256, used to verify LFS blobs downloaded from the hub against their X-Linked-Etag: OpenSSL's libcrypto
// (EVP), whose SHA-NI / AVX2 code runs several times faster than a portable implementation (bench/
// hash_throughput.cpp), which matters for multi-gigabyte checkpoints.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX; its header stays out of ours

namespace visbone::hub {

// Incremental hasher: update() any number of times, then finish() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, std::size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  // The bytes given to update() so far.
  std::uint64_t size() const { return size_; }
  // The 32-byte digest. The hasher must not be updated afterwards.
  std::array<std::uint8_t, 32> finish();
  // finish() as 64 lowercase hex digits, the form the hub uses in ETags.
  std::string finish_hex();

 private:
  evp_md_ctx_st* context_;
  std::uint64_t size_ = 0;
  bool finished_ = false;
};

// Lowercase hex SHA-256 of a byte string.
std::string sha256_hex(std::string_view bytes);
// Lowercase hex SHA-256 of a file's contents. Throws IoError naming the file if it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& path);
// Feeds the first `size` bytes of a file to `hasher`. Throws IoError naming the file if it cannot be read or
// is shorter.
void sha256_update_from_file(Sha256& hasher, const std::filesystem::path& path, std::uint64_t size);

}  // namespace visbone::hub
