// NumPy .npz archives (a zip of .npy arrays, as np.savez writes them), the format of Google's original BiT
// release. A strict reader: the zip directory, every .npy header and every array's bounds are validated up
// front. Members are stored (np.savez) or deflated (np.savez_compressed, inflated by zlib straight into the
// tensor when loaded). Each member's CRC-32 is checked when its array is loaded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "visbone/core/dtype.h"
#include "visbone/core/mapped_file.h"
#include "visbone/core/tensor.h"

namespace visbone {

struct NpyInfo {
  std::string name;  // the member name without ".npy", e.g. "resnet/root_block/standardized_conv2d/kernel"
  DType dtype = DType::F32;
  Shape shape;
  bool fortran_order = false;
  std::uint16_t method = 0;  // zip method: 0 stored (np.savez), 8 deflate (np.savez_compressed)
  std::uint64_t member_offset = 0, member_stored_size = 0;  // the member's bytes in the archive (compressed or not)
  std::uint64_t member_size = 0;                            // the whole .npy (header and data), uncompressed
  std::uint64_t data_offset = 0, size = 0;                  // the array's bytes within the .npy
  std::uint32_t crc32 = 0;                                  // the zip directory's CRC-32 of the .npy
};

// The zip (IEEE 802.3) CRC-32 of `bytes` (zlib's).
std::uint32_t crc32(std::span<const std::byte> bytes);

// What one archive may make the reader do; over a limit, FormatError naming it.
struct NpzLimits {
  std::uint64_t max_arrays = 1'000'000;
  // One .npy header (the dict text); numpy's own reader refuses more than 10000 bytes by default.
  std::uint64_t max_npy_header_bytes = 10'000;
  // One deflated member's declared size, what loading it allocates (BiT-M-R152x4's largest array is 0.7 GB).
  // Stored members are bounded by the file itself.
  std::uint64_t max_inflated_bytes = std::uint64_t{8} << 30;
};

class NpzFile {
 public:
  // FormatError naming the file (and member) for anything malformed: no end-of-directory record, entries
  // outside the file, encrypted members or zip methods other than stored and deflate, deflated members
  // declaring more than max_inflated_bytes or more than deflate can produce, bad .npy magic or header, unsupported dtypes
  // (big-endian, objects), shapes whose byte size does not match the data, anything over `limits`.
  static NpzFile open(const std::filesystem::path& path, const NpzLimits& limits = {});
  static NpzFile from_bytes(std::string bytes, std::string name, const NpzLimits& limits = {});

  const std::string& name() const { return name_; }
  const std::vector<NpyInfo>& arrays() const { return arrays_; }
  const NpyInfo* find(std::string_view array) const;
  // The array as float32 in C order (Fortran-ordered arrays are transposed). NotFoundError when absent,
  // FormatError naming the archive and member when the member's bytes do not match its CRC-32, or its
  // deflate stream is corrupt, ends early or inflates to more than the size the zip directory declares.
  Tensor load(std::string_view array) const;

 private:
  void parse(const NpzLimits& limits);
  std::string name_;
  MappedBytes bytes_;
  std::vector<NpyInfo> arrays_;
  std::map<std::string, std::size_t, std::less<>> by_name_;
};

}  // namespace visbone
