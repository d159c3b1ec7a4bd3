// Shared by the head tests: a registry with the built-in heads and BiT, fixture paths, comparisons.
#pragma once

#include "support/support.h"
#include "support/tensor_compare.h"

#include <filesystem>
#include <functional>
#include <string>

#include "visbone/bit/bit_component.h"
#include "visbone/core/errors.h"
#include "visbone/heads/components.h"
#include "visbone/registry/registry.h"

namespace visbone::testing {

inline std::filesystem::path model_dir(const std::string& name) {
  return std::filesystem::path(VISBONE_TEST_DATA) / "models" / name;
}

inline registry::Registry& builtin_registry() {
  static registry::Registry r;
  static const bool once = [] {
    bit::register_components(r);
    heads::register_components(r);
    return true;
  }();
  (void)once;
  return r;
}

inline registry::Params yaml(const std::string& text) {
  return registry::Params::parse(text, "test.yaml");
}

inline std::unique_ptr<Backbone> bit_backbone(const std::string& model, const std::string& extra = "") {
  return builtin_registry().build_backbone(
      yaml("type: bit\ncheckpoint: " + model_dir(model).string() + "\n" + extra));
}


using visbone::testing::message_of;

}  // namespace visbone::testing
