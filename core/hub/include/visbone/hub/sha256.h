// SHA-256 (FIPS 180-4), used to verify LFS blobs downloaded from the hub against their X-Linked-Etag.
// Our own small implementation so the hub client needs no crypto library for one digest.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace visbone::hub {

// Incremental hasher: update() any number of times, then finish() once.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  // The 32-byte digest. The hasher must not be updated afterwards.
  std::array<std::uint8_t, 32> finish();
  // finish() as 64 lowercase hex digits, the form the hub uses in ETags.
  std::string finish_hex();

 private:
  void compress(const std::uint8_t* block);

  std::array<std::uint32_t, 8> state_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
  bool finished_ = false;
};

// Lowercase hex SHA-256 of a byte string.
std::string sha256_hex(std::string_view bytes);
// Lowercase hex SHA-256 of a file's contents. Throws IoError naming the file if it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace visbone::hub
