// model.safetensors.index.json on arbitrary bytes, read the way Checkpoint::open reads a sharded checkpoint:
// the index against two real shards in a private folder (shard names that leave the folder, missing shards,
// tensors in the wrong shard or in none). An accepted checkpoint loads every tensor.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fuzz_support.h"
#include "visbone/core/checkpoint.h"

namespace {

namespace fs = std::filesystem;

fs::path g_dir;

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) visbone::fuzz::finding("cannot write " + path.string());
}

void remove_dir() {
  std::error_code ec;
  fs::remove_all(g_dir, ec);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  std::string templ = (base / "visbone-fuzz-index-XXXXXX").string();
  if (!::mkdtemp(templ.data()))
    visbone::fuzz::finding("cannot create a temporary folder under " + base.string());
  g_dir = templ;
  std::atexit(remove_dir);
  write_file(g_dir / "config.json", R"({"model_type": "bit"})");
  visbone::write_safetensors(g_dir / "model-00001-of-00002.safetensors",
                             {{"a.weight", visbone::Tensor({2, 3})}, {"a.bias", visbone::Tensor({3})}});
  visbone::write_safetensors(g_dir / "model-00002-of-00002.safetensors",
                             {{"b.weight", visbone::Tensor({4})}});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  write_file(g_dir / "model.safetensors.index.json", visbone::fuzz::as_text(data, size));
  try {
    auto checkpoint = visbone::Checkpoint::open(g_dir);
    for (const auto& name : checkpoint.tensor_names()) checkpoint.load(name, checkpoint.find(name)->shape);
    checkpoint.check_complete();
  } catch (const visbone::Error& e) {
    visbone::fuzz::expect_named(e, g_dir.string());
  }
  return 0;
}
