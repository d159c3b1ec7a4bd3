// An installed visbone loads the plugins installed with it (<prefix>/lib/visbone/plugins) without
// VISBONE_PLUGIN_PATH: the program is copied into a prefix laid out as `cmake --install` lays it out.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "support/support.h"
#include "visbone/registry/installed_plugins.h"

namespace visbone::registry {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// stdout of `command` run by the shell, with the exit status appended.
std::string shell(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return "(popen failed)";
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  return out + "exit " + std::to_string(::pclose(pipe));
}

TEST(InstalledPlugins, FolderIsTheInstallsPluginDirBesideItsBinDir) {
  EXPECT_EQ(installed_plugin_dir("/opt/vb/bin/visbone"), fs::path("/opt/vb") / VISBONE_INSTALL_PLUGIN_DIR);
  // The test program itself lives in a build tree: no plugin folder beside it.
  EXPECT_FALSE(installed_plugin_dir().has_value());
}

TEST(InstalledPlugins, InstalledProgramListsInstalledPluginsWithoutThePathVariable) {
  testing::TempDir prefix;
  const fs::path program = prefix / "bin/visbone";
  const fs::path plugins = installed_plugin_dir(program);
  fs::create_directories(program.parent_path());
  fs::create_directories(plugins);
  fs::copy_file(VISBONE_BINARY, program);
  const std::string list = "env -u VISBONE_PLUGIN_PATH " + program.string() + " list 2>&1; ";
  EXPECT_THAT(shell(list), Not(HasSubstr("fewshot_prototype")));
  fs::copy_file(FEWSHOT_PLUGIN, plugins / "fewshot_head.so");
  const std::string out = shell(list);
  EXPECT_THAT(out, HasSubstr("fewshot_prototype"));
  EXPECT_THAT(out, HasSubstr("[plugin " + (plugins / "fewshot_head.so").string() + "]"));
  EXPECT_THAT(out, HasSubstr("exit 0"));
}

}  // namespace
}  // namespace visbone::registry
