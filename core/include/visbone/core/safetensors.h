// safetensors files (https://github.com/huggingface/safetensors): a strict, mmap-based reader that validates
// the whole header before anything is used, and an atomic float32 writer for outputs.
//
// Layout: 8-byte little-endian header length N, N bytes of JSON header, then the data section. The header
// maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data
// section) plus an optional "__metadata__" string-to-string map.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "visbone/core/dtype.h"
#include "visbone/core/mapped_file.h"
#include "visbone/core/tensor.h"

namespace visbone {

// One tensor as the header describes it; begin/end are byte offsets in the data section.
struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  std::uint64_t begin = 0, end = 0;
};

// Headers longer than this are rejected (the limit the reference implementation uses).
inline constexpr std::uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

// What one file may make the reader do; a file over a limit is rejected with a FormatError naming the limit
// before the work it bounds. The defaults are far above any real checkpoint.
struct SafetensorsLimits {
  std::uint64_t max_header_bytes = kSafetensorsMaxHeaderBytes;
  // Tensors in one file (for a sharded checkpoint also entries in the index's weight_map).
  std::uint64_t max_tensors = 1'000'000;
  // Memory for reading the header: the parsed JSON, the duplicate-key check and the tensor table together.
  std::uint64_t max_memory_bytes = std::uint64_t{512} << 20;
};

class SafetensorsFile {
 public:
  // Maps the file and validates the header and the data layout. IoError if the file cannot be opened or
  // mapped, FormatError (naming the file and tensor) for any violation of the format or of `limits`.
  static SafetensorsFile open(const std::filesystem::path& path, const SafetensorsLimits& limits = {});
  // Same checks on bytes in memory; `name` stands for the file in messages.
  static SafetensorsFile from_bytes(std::string bytes, std::string name,
                                    const SafetensorsLimits& limits = {});

  SafetensorsFile(SafetensorsFile&&) noexcept = default;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept = default;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile() = default;

  const std::string& name() const { return name_; }
  // Sorted by data offset (the order the bytes are in the file).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(std::string_view tensor) const;
  // The tensor's bytes as stored (little-endian, no alignment guarantee). `t` must come from this file.
  std::span<const std::byte> raw(const TensorInfo& t) const;
  // The tensor converted to float32. NotFoundError naming the file and the tensor when absent.
  Tensor load(std::string_view tensor) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // The most memory reading the header took at once, as charged against SafetensorsLimits::max_memory_bytes:
  // the smallest limit that accepts this file.
  std::uint64_t header_memory_bytes() const { return header_memory_bytes_; }

 private:
  SafetensorsFile() = default;
  void parse(const SafetensorsLimits& limits);

  std::string name_;
  MappedBytes bytes_;  // the whole file, mapped or owned
  std::uint64_t data_start_ = 0;           // 8 + header length
  std::uint64_t header_memory_bytes_ = 0;  // the header budget's peak
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::size_t, std::less<>> by_name_;  // index into tensors_
  std::map<std::string, std::string> metadata_;
};

// Writes float32 tensors in the given order, with optional metadata, stored as `store_as` (F32, F16 or
// BF16; F16/BF16 rounded to nearest even; FormatError for another dtype). The header is padded with spaces to a
// multiple of 8 bytes so the data is aligned. Atomic: the bytes go to a temporary file in the same folder
// which is then renamed over `path`, so readers never see a partial file. IoError when writing fails;
// FormatError for tensors that cannot be written (duplicate or reserved names, invalid UTF-8, no storage).
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {}, DType store_as = DType::F32);
// The bytes write_safetensors would write, in memory (for SafetensorsFile::from_bytes).
std::string encode_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                               const std::map<std::string, std::string>& metadata = {});

}  // namespace visbone
