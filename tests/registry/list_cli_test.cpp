// `visbone list`: every built-in component with description and origin, plugins from VISBONE_PLUGIN_PATH and
// --plugin with their file as origin, and a clear error for a plugin that cannot be loaded.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>

namespace {

using ::testing::HasSubstr;

struct Run {
  int status;
  std::string out;
};

Run run(const std::string& env, const std::string& args) {
  const std::string cmd = env + " " + std::string(VISBONE_BINARY) + " list " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

TEST(ListCli, PrintsEveryBuiltInComponentWithDescriptionAndOrigin) {
  const auto r = run("env -u VISBONE_PLUGIN_PATH", "");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("backbones:\n"));
  EXPECT_THAT(r.out,
              ::testing::ContainsRegex("  bit-50 +BiT-M R50x1 fine-tuned on ImageNet-1k .*\\[built-in\\]"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("  R152x4 +BiT ResNetV2-152x4 .*\\[built-in\\]"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("  classification +linear classifier .*\\[built-in\\]"));
  EXPECT_THAT(r.out, HasSubstr("sinks:\n  (none registered)"));
}

TEST(ListCli, ShowsPluginComponentsWithTheirFile) {
  const std::string dir = VISBONE_PLUGIN_DIR;
  const auto r = run("VISBONE_PLUGIN_PATH=" + dir, "--json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = boost::json::parse(r.out).as_object();
  const auto origin_of = [&](const char* kind, const std::string& name) -> std::string {
    for (const auto& c : j.at(kind).as_array())
      if (c.at("name").as_string() == name) return std::string(c.at("origin").as_string());
    return "(absent)";
  };
  const auto canonical = std::filesystem::canonical(dir);
  EXPECT_EQ(origin_of("heads", "fewshot_prototype"), "plugin " + (canonical / "fewshot_head.so").string());
  EXPECT_EQ(origin_of("backbones", "tiny_cnn"), "plugin " + (canonical / "tiny_cnn_backbone.so").string());
  EXPECT_EQ(origin_of("heads", "embedding"), "built-in");
  EXPECT_EQ(j.at("plugins").as_array().size(), 2u);

  const auto bad = run("env -u VISBONE_PLUGIN_PATH", "--plugin " + std::string(NO_ENTRY_PLUGIN));
  EXPECT_EQ(bad.status, 1);
  EXPECT_THAT(bad.out, HasSubstr("does not export the entry point 'visbone_plugin_entry'"));
}

}  // namespace
