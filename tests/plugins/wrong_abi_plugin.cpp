// A plugin built against other visbone headers: tests/plugins/CMakeLists.txt compiles it with another
// VISBONE_PLUGIN_ABI_FINGERPRINT, so its entry point has another name. The host must refuse it without
// loading it: its static constructor leaves a file behind if it ever runs (where VISBONE_TEST_PLUGIN_RAN
// says), and registering would abort.
#include <cstdlib>
#include <fstream>

#include "visbone/registry/plugin_api.h"

namespace {

struct LeavesATrace {
  LeavesATrace() {
    if (const char* file = std::getenv("VISBONE_TEST_PLUGIN_RAN")) std::ofstream(file) << "static constructor ran\n";
  }
};
const LeavesATrace trace;

void register_components(visbone::registry::ComponentRegistrar&) {
  // Reaching this would mean the host ignored the fingerprint; make that impossible to miss.
  std::abort();
}

}  // namespace

VISBONE_PLUGIN("wrong_abi", "0", "built against other headers", register_components)
