// One register_builtins: the façade's default registry holds exactly what it registers, all built in.
#include <gtest/gtest.h>

#include "visbone/api/register_builtins.h"
#include "visbone/visbone.h"

namespace visbone {
namespace {

TEST(RegisterBuiltins, TheDefaultRegistryHoldsExactlyTheBuiltins) {
  registry::Registry r;
  register_builtins(r);
  const auto listed = r.list();
  const auto defaults = default_registry().list();
  ASSERT_EQ(listed.size(), defaults.size());
  for (std::size_t i = 0; i < listed.size(); ++i) {
    EXPECT_EQ(listed[i].name, defaults[i].name);
    EXPECT_EQ(listed[i].origin, registry::kBuiltin);
  }
  EXPECT_TRUE(r.contains(registry::ComponentKind::backbone, "bit"));
  EXPECT_TRUE(r.contains(registry::ComponentKind::head, "classification"));
}

}  // namespace
}  // namespace visbone
