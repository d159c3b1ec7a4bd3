// A head that misbehaves on every `every`-th batch, the way foreign code can: `how: runtime_error` throws a
// std::runtime_error, `how: int` throws an int, `how: segfault` writes to an unmapped address (and
// `how: int_when_built` throws an int from its factory). The pipeline
// must turn the first two into error records naming this plugin and the input, and report the third with
// this library's file before the process dies.
#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "visbone/core/head.h"
#include "visbone/registry/plugin_api.h"

namespace {

class MisbehavingHead final : public visbone::Head {
 public:
  MisbehavingHead(std::string how, int every) : how_(std::move(how)), every_(every) {}
  visbone::HeadNeeds needs() const override { return {{}, true}; }
  std::vector<visbone::HeadResult> run(const visbone::ForwardResult& f) const override {
    if (++calls_ % every_ == 0) {
      if (how_ == "int") throw 42;
      if (how_ == "segfault") {
        // An unmapped, non-null address: UBSan's null check does not stop it first, ASan's shadow of it is
        // mapped, so the store itself faults, here in this library.
        volatile std::uintptr_t unmapped = 64;
        *reinterpret_cast<volatile int*>(unmapped) = 1;
      }
      throw std::runtime_error("misbehaving on purpose");
    }
    return std::vector<visbone::HeadResult>(static_cast<std::size_t>(f.pooled.dim(0)));
  }

 private:
  std::string how_;
  int every_;
  mutable std::atomic<int> calls_{0};
};

std::unique_ptr<visbone::Head> make(const visbone::registry::Params& p, visbone::HeadContext&) {
  if (p.get<std::string>("how", "runtime_error") == "int_when_built") throw 42;
  return std::make_unique<MisbehavingHead>(p.get<std::string>("how", "runtime_error"), p.get<int>("every", 1));
}

void register_components(visbone::registry::ComponentRegistrar& r) {
  r.add_head("misbehaving", "fails on purpose (tests component isolation)", make);
}

}  // namespace

VISBONE_PLUGIN("misbehaving", "1.0", "a head that throws or crashes, for tests", register_components)
