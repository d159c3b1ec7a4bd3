// Compiled and run at configure time by cmake/plugin_abi.cmake: prints what a plugin and the program must
// agree on beyond the headers' text, one `name=value` a line, for the plugin ABI fingerprint.
#include <boost/version.hpp>
#include <cstdio>
#include <string>

#include "visbone/core/backbone.h"
#include "visbone/core/head.h"
#include "visbone/core/sink.h"
#include "visbone/core/source.h"
#include "visbone/core/tensor.h"
#include "visbone/registry/params.h"
#include "visbone/registry/registry.h"

#define VISBONE_PROBE_SIZEOF(T) std::printf("sizeof(%s)=%zu\n", #T, sizeof(T))

int main() {
  std::printf("_GLIBCXX_USE_CXX11_ABI=%d\n", _GLIBCXX_USE_CXX11_ABI);
  std::printf("BOOST_VERSION=%d\n", BOOST_VERSION);
  using namespace visbone;
  VISBONE_PROBE_SIZEOF(std::string);
  VISBONE_PROBE_SIZEOF(Tensor);
  VISBONE_PROBE_SIZEOF(registry::Params);
  VISBONE_PROBE_SIZEOF(HeadResult);
  VISBONE_PROBE_SIZEOF(HeadNeeds);
  VISBONE_PROBE_SIZEOF(HeadContext);
  VISBONE_PROBE_SIZEOF(StageShape);
  VISBONE_PROBE_SIZEOF(ForwardRequest);
  VISBONE_PROBE_SIZEOF(ForwardResult);
  VISBONE_PROBE_SIZEOF(SourceItem);
  VISBONE_PROBE_SIZEOF(SourceContext);
  VISBONE_PROBE_SIZEOF(Item);
  VISBONE_PROBE_SIZEOF(SinkHead);
  VISBONE_PROBE_SIZEOF(SinkContext);
  VISBONE_PROBE_SIZEOF(registry::ParamInfo);
  VISBONE_PROBE_SIZEOF(registry::ComponentInfo);
  VISBONE_PROBE_SIZEOF(registry::PluginInfo);
  return 0;
}
