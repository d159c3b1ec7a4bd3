// The safetensors reader on arbitrary bytes: header length, UTF-8, JSON, entries, layout, then every
// tensor's conversion to float32. What it accepts must survive a write and re-read unchanged.
#include <cstring>
#include <utility>
#include <vector>

#include "fuzz_support.h"
#include "visbone/core/safetensors.h"

namespace {

constexpr std::string_view kName = "fuzz.safetensors";

// A file the reader accepted, written back as float32 and read again, must give the same names, shapes,
// values (bit for bit) and metadata.
void check_round_trip(const visbone::SafetensorsFile& file) {
  std::vector<std::pair<std::string, visbone::Tensor>> tensors;
  for (const auto& t : file.tensors()) tensors.emplace_back(t.name, file.load(t.name));
  const auto again = visbone::SafetensorsFile::from_bytes(
      visbone::encode_safetensors(tensors, file.metadata()), "round trip");
  if (again.tensors().size() != tensors.size() || again.metadata() != file.metadata())
    visbone::fuzz::finding("round trip changed the tensor count or the metadata");
  for (const auto& [name, t] : tensors) {
    const auto* info = again.find(name);
    if (!info || info->shape != t.shape()) visbone::fuzz::finding("round trip lost tensor '" + name + "'");
    const auto raw = again.raw(*info);
    if (raw.size() != static_cast<std::size_t>(t.numel()) * sizeof(float) ||
        (!raw.empty() && std::memcmp(raw.data(), t.data(), raw.size()) != 0))
      visbone::fuzz::finding("round trip changed the values of '" + name + "'");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    // Limits well below the defaults, so that they are what stops a hostile header.
    visbone::SafetensorsLimits limits;
    limits.max_header_bytes = 1 << 20;
    limits.max_tensors = 1000;
    limits.max_memory_bytes = 16 << 20;
    const auto file = visbone::SafetensorsFile::from_bytes(std::string(visbone::fuzz::as_text(data, size)),
                                                           std::string(kName), limits);
    check_round_trip(file);
  } catch (const visbone::Error& e) {
    visbone::fuzz::expect_named(e, kName);
  }
  return 0;
}
