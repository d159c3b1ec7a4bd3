// The .npz reader on arbitrary bytes: the zip directory (zip64 included), each member's .npy header and
// bounds (stored or deflated members), then every array's conversion to float32 (Fortran order transposed).
#include "fuzz_support.h"
#include "visbone/core/npz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::string_view kName = "fuzz.npz";
  try {
    visbone::NpzLimits limits;
    limits.max_arrays = 1000;
    limits.max_inflated_bytes = 64 << 20;  // a deflated member's tensor stays small
    const auto npz = visbone::NpzFile::from_bytes(std::string(visbone::fuzz::as_text(data, size)),
                                                  std::string(kName), limits);
    for (const auto& a : npz.arrays()) {
      const auto t = npz.load(a.name);
      if (t.shape() != a.shape) visbone::fuzz::finding("array '" + a.name + "' loaded with another shape");
    }
  } catch (const visbone::Error& e) {
    visbone::fuzz::expect_named(e, kName);
  }
  return 0;
}
