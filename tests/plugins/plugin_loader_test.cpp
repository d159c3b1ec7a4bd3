// Loading plugins: the example plugins register their components with the file as origin; libraries built
// against another plugin ABI fingerprint, without the entry point, that are no shared library at all, whose
// registration fails or that take a registered name are refused with messages saying so.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/support.h"
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "visbone/core/errors.h"
#include "visbone/heads/components.h"
#include "visbone/registry/plugin_api.h"
#include "visbone/registry/plugin_loader.h"

namespace visbone::registry {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using visbone::testing::message_of;

TEST(PluginLoader, LoadsTheExamplePluginsWithTheirFileAsOrigin) {
  Registry r;
  heads::register_components(r);
  const auto info = load_plugin(r, FEWSHOT_PLUGIN);
  EXPECT_EQ(info.name, "fewshot_head");
  EXPECT_EQ(info.file, fs::canonical(FEWSHOT_PLUGIN));
  ASSERT_EQ(info.components.size(), 1u);
  EXPECT_EQ(info.components[0].name, "fewshot_prototype");
  EXPECT_EQ(r.info(ComponentKind::head, "fewshot_prototype").origin,
            "plugin " + fs::canonical(FEWSHOT_PLUGIN).string());
  load_plugin(r, TINY_CNN_PLUGIN);
  EXPECT_TRUE(r.contains(ComponentKind::backbone, "tiny_cnn"));
  EXPECT_EQ(r.plugins().size(), 2u);
  // Loading the same file again (say, named by both YAML and VISBONE_PLUGIN_PATH) registers nothing twice.
  EXPECT_NO_THROW(load_plugin(r, FEWSHOT_PLUGIN));
  EXPECT_EQ(r.plugins().size(), 2u);
}

TEST(PluginLoader, RefusesALibraryBuiltAgainstAnotherFingerprintBeforeRunningAnyOfItsCode) {
  const visbone::testing::TempDir tmp;
  const fs::path trace = tmp / "static_constructor_ran";
  ASSERT_EQ(::setenv("VISBONE_TEST_PLUGIN_RAN", trace.c_str(), 1), 0);
  Registry r;
  const auto msg = message_of([&] { load_plugin(r, WRONG_ABI_PLUGIN); });
  ::unsetenv("VISBONE_TEST_PLUGIN_RAN");
  EXPECT_THAT(msg, HasSubstr(fs::canonical(WRONG_ABI_PLUGIN).string()));
  EXPECT_THAT(msg, HasSubstr(std::string("built against visbone plugin ABI fingerprint 0123456789abcdef, "
                                         "this program's is ") +
                             VISBONE_PLUGIN_ABI_FINGERPRINT_STRING + " (visbone "));
  EXPECT_THAT(msg, HasSubstr("rebuild the plugin"));
  EXPECT_FALSE(fs::exists(trace)) << "the refused plugin's static constructor ran";
  EXPECT_THROW(load_plugin(r, WRONG_ABI_PLUGIN), PluginError);
  EXPECT_TRUE(r.list().empty());
  EXPECT_TRUE(r.plugins().empty());
}

TEST(PluginLoader, TheFingerprintIsSixteenHexDigitsInTheEntryPointsName) {
  const std::string fingerprint = VISBONE_PLUGIN_ABI_FINGERPRINT_STRING;
  ASSERT_EQ(fingerprint.size(), 16u);
  EXPECT_EQ(fingerprint.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(std::string(VISBONE_PLUGIN_ENTRY_POINT_NAME), "visbone_plugin_entry_" + fingerprint);
  // What it is made of, as the refusal message shows it.
  const std::string inputs = VISBONE_PLUGIN_ABI_INPUTS;
  for (const char* part : {"visbone ", "public headers ", "yaml-cpp ", "_GLIBCXX_USE_CXX11_ABI=", "BOOST_VERSION=",
                           "sizeof(Tensor)=", "sizeof(registry::Params)=", "sizeof(HeadResult)="})
    EXPECT_THAT(inputs, HasSubstr(part));
}

TEST(PluginLoader, RefusesALibraryWithoutTheEntryPoint) {
  Registry r;
  const auto msg = message_of([&] { load_plugin(r, NO_ENTRY_PLUGIN); });
  EXPECT_THAT(msg, HasSubstr("does not export the entry point '" VISBONE_PLUGIN_ENTRY_POINT_NAME "'"));
  EXPECT_THAT(msg, HasSubstr("VISBONE_PLUGIN(...)"));
  EXPECT_THROW(load_plugin(r, NO_ENTRY_PLUGIN), PluginError);
}

TEST(PluginLoader, RefusesFilesThatAreNoSharedLibrary) {
  Registry r;
  EXPECT_THROW(load_plugin(r, "/no/such/plugin.so"), NotFoundError);
  const visbone::testing::TempDir tmp;
  const fs::path text = tmp / "not_a_plugin.so";
  std::ofstream(text) << "not a library";
  EXPECT_THAT(message_of([&] { load_plugin(r, text); }), HasSubstr("not a shared library (no ELF header)"));
  // A truncated library is refused while its symbol table is read, before the dynamic loader sees it.
  {
    std::ifstream in(FEWSHOT_PLUGIN, std::ios::binary);
    std::string head(256, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream(text, std::ios::binary) << head;
  }
  EXPECT_THAT(message_of([&] { load_plugin(r, text); }), HasSubstr("cannot read its symbol table"));
  EXPECT_THAT(message_of([&] { load_plugin(r, tmp.path()); }), HasSubstr("not a regular file"));
}

TEST(PluginLoader, DuplicateNameFromAPluginNamesBothOriginsAndRegistersNothing) {
  Registry r;
  heads::register_components(r);
  const auto msg = message_of([&] { load_plugin(r, DUPLICATE_PLUGIN); });
  EXPECT_THAT(msg,
              HasSubstr("head 'classification' is registered twice: first by built-in, again by plugin " +
                        fs::canonical(DUPLICATE_PLUGIN).string()));
  EXPECT_THROW(load_plugin(r, DUPLICATE_PLUGIN), DuplicateComponentError);
  EXPECT_FALSE(r.contains(ComponentKind::head, "duplicate_test_fresh"));
  EXPECT_TRUE(r.plugins().empty());

  // The other way round: a plugin's name taken by a later built-in registration.
  Registry r2;
  load_plugin(r2, FEWSHOT_PLUGIN);
  EXPECT_THAT(message_of([&] {
                r2.add_head("fewshot_prototype", "x",
                            [](const Params&, HeadContext&) { return std::unique_ptr<Head>(); });
              }),
              HasSubstr("first by plugin " + fs::canonical(FEWSHOT_PLUGIN).string() + ", again by built-in"));
}

TEST(PluginLoader, RegistrationFailureNamesThePluginAndRegistersNothing) {
  Registry r;
  const auto msg = message_of([&] { load_plugin(r, THROWING_PLUGIN); });
  EXPECT_THAT(msg, HasSubstr("(throws): registering its components failed: cannot find my model files"));
  EXPECT_FALSE(r.contains(ComponentKind::head, "throwing_test_head"));
}

TEST(PluginLoader, SearchPathExpandsFoldersAndReportsMissingEntries) {
  const auto libs =
      expand_plugin_path(std::string(VISBONE_PLUGIN_DIR) + "::" + FEWSHOT_PLUGIN, "VISBONE_PLUGIN_PATH");
  // The folder's libraries in name order, the empty entry skipped, then the file.
  ASSERT_EQ(libs.size(), 3u);
  EXPECT_EQ(libs[0].filename(), "fewshot_head.so");
  EXPECT_EQ(libs[1].filename(), "tiny_cnn_backbone.so");
  EXPECT_EQ(libs[2], fs::path(FEWSHOT_PLUGIN));
  EXPECT_THAT(message_of([] { expand_plugin_path("/no/such/dir", "VISBONE_PLUGIN_PATH"); }),
              HasSubstr("VISBONE_PLUGIN_PATH: plugin entry /no/such/dir does not exist"));
  EXPECT_TRUE(expand_plugin_path("", "x").empty());
}

TEST(PluginLoader, LoadsWhatVisbonePluginPathNames) {
  Registry r;
  ::setenv("VISBONE_PLUGIN_PATH", (std::string(TINY_CNN_PLUGIN) + ":" + FEWSHOT_PLUGIN).c_str(), 1);
  const auto loaded = load_plugins_from_env(r);
  ::unsetenv("VISBONE_PLUGIN_PATH");
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded[0].name, "tiny_cnn_backbone");
  EXPECT_TRUE(r.contains(ComponentKind::backbone, "tiny_cnn"));
  EXPECT_TRUE(r.contains(ComponentKind::head, "fewshot_prototype"));
  EXPECT_TRUE(load_plugins_from_env(r).empty());
}

}  // namespace
}  // namespace visbone::registry
