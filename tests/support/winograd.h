// Whether a test can expect Winograd convolutions to run: oneDNN 2.6 has them only for AVX-512 CPUs and
// elsewhere falls back to the direct algorithm without a word, so a test that "runs with Winograd" must count
// the Winograd primitives (BitModel::winograd_primitives) or skip, saying why.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include "visbone/bit/bit_backbone.h"
#include "visbone/core/backbone.h"

namespace visbone::testing {

inline bool cpu_has_winograd() {
  return dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core;
}
inline constexpr const char* kNoWinograd = "this CPU has no AVX-512: oneDNN offers no Winograd convolutions";

// The Winograd primitives of a BiT backbone built so far; -1 for another kind of backbone.
inline int winograd_primitives(Backbone& backbone) {
  auto* bit = dynamic_cast<bit::BitBackbone*>(&backbone);
  return bit ? bit->model().winograd_primitives() : -1;
}

}  // namespace visbone::testing
