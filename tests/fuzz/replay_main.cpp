// Replays inputs through a fuzz target without libFuzzer, so ctest runs every seed and past finding on
// every build (with gcc, in the normal build): `replay_TARGET FILE|FOLDER...` calls the target's
// LLVMFuzzerTestOneInput on each file. A finding aborts (fuzz_support.h), an escaping exception terminates:
// either fails the test, naming the file it was reading on stderr.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
// Optional in a target (libFuzzer calls it once when defined): the setup some targets need, such as the
// sharded-index target's folder of shards. Weak, so a target without one still links.
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

namespace fs = std::filesystem;

int replay(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", file.c_str());
    return 1;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::fprintf(stderr, "replaying %s (%zu bytes)\n", file.c_str(), bytes.size());
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  int files = 0, errors = 0;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg = argv[i];
    if (fs::is_directory(arg)) {
      std::vector<fs::path> inside;
      for (const auto& e : fs::recursive_directory_iterator(arg))
        if (e.is_regular_file()) inside.push_back(e.path());
      std::sort(inside.begin(), inside.end());
      for (const auto& f : inside) errors += replay(f), ++files;
    } else {
      errors += replay(arg), ++files;
    }
  }
  std::printf("replayed %d inputs\n", files);
  // An empty replay proves nothing: a moved corpus folder must fail the test, not pass it.
  return errors == 0 && files > 0 ? 0 : 1;
}
