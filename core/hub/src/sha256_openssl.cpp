#include <openssl/evp.h>

#include <fstream>
#include <vector>

#include "visbone/core/errors.h"
#include "visbone/hub/sha256.h"

namespace visbone::hub {

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
  if (context_ == nullptr || EVP_DigestInit_ex(context_, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(context_);
    throw Error("OpenSSL could not start a SHA-256 digest (EVP_DigestInit_ex failed)");
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(context_); }

void Sha256::update(const void* data, std::size_t size) {
  if (finished_) throw Error("Sha256::update called after finish");
  if (EVP_DigestUpdate(context_, data, size) != 1) throw Error("OpenSSL's SHA-256 update failed");
  size_ += size;
}

std::array<std::uint8_t, 32> Sha256::finish() {
  if (finished_) throw Error("Sha256::finish called twice");
  finished_ = true;
  std::array<std::uint8_t, 32> digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_, digest.data(), &length) != 1 || length != digest.size())
    throw Error("OpenSSL's SHA-256 finish failed");
  return digest;
}

std::string Sha256::finish_hex() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (std::uint8_t byte : finish()) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 15]);
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 hasher;
  hasher.update(bytes);
  return hasher.finish_hex();
}

void sha256_update_from_file(Sha256& hasher, const std::filesystem::path& path, std::uint64_t size) {
  if (size == 0) return;  // nothing to read: a fresh download's file is not even opened
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path.string() + ": cannot open file to compute its sha256");
  std::vector<char> chunk(1 << 20);
  for (std::uint64_t left = size; left > 0;) {
    const auto want = static_cast<std::streamsize>(std::min<std::uint64_t>(left, chunk.size()));
    in.read(chunk.data(), want);
    if (in.gcount() != want)
      throw IoError(path.string() + ": read failed or the file ended while computing its sha256 (" +
                    std::to_string(size - left + static_cast<std::uint64_t>(in.gcount())) + " of " +
                    std::to_string(size) + " bytes)");
    hasher.update(chunk.data(), static_cast<std::size_t>(want));
    left -= static_cast<std::uint64_t>(want);
  }
}

std::string sha256_file_hex(const std::filesystem::path& path) {
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) throw IoError(path.string() + ": cannot open file to compute its sha256 (" + ec.message() + ")");
  Sha256 hasher;
  sha256_update_from_file(hasher, path, size);
  return hasher.finish_hex();
}

}  // namespace visbone::hub
