// `visbone list`: every built-in component with description and origin, plugins from VISBONE_PLUGIN_PATH and
// --plugin with their file as origin, and a clear error for a plugin that cannot be loaded.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <optional>

#include "support/support.h"

namespace {

using ::testing::HasSubstr;

// `visbone list ARGS` with VISBONE_PLUGIN_PATH set to `plugin_path` (unset when nullopt); `out` holds
// stdout then stderr.
visbone::testing::RunResult run(std::optional<std::string> plugin_path, const std::string& args) {
  auto r = visbone::testing::run_visbone_line("list " + args, {{"VISBONE_PLUGIN_PATH", std::move(plugin_path)}});
  r.out = r.all();
  return r;
}

TEST(ListCli, PrintsEveryBuiltInComponentWithDescriptionAndOrigin) {
  const auto r = run(std::nullopt, "");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("backbones:\n"));
  EXPECT_THAT(r.out,
              ::testing::ContainsRegex("  bit-50 +BiT-M R50x1 fine-tuned on ImageNet-1k .*\\[built-in\\]"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("  R152x4 +BiT ResNetV2-152x4 .*\\[built-in\\]"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("  classification +linear classifier .*\\[built-in\\]"));
  // The built-in sources and sinks are registry components too, listed with their parameters.
  EXPECT_THAT(r.out, ::testing::ContainsRegex("sources:\n  files +a list of image files.*\\[built-in\\]"));
  EXPECT_THAT(r.out, HasSubstr("      recursive (bool, default: true)  descend into subfolders\n"));
  EXPECT_THAT(r.out, HasSubstr("      every (int, default: 1)  keep frames 0, N, 2N, ...\n"));
  for (const char* sink : {"annotated_images", "contact_sheet", "csv", "heatmap", "jsonl", "safetensors"})
    EXPECT_THAT(r.out, ::testing::ContainsRegex(std::string("\n  ") + sink + " +.*\\[built-in\\]\n      path "
                                                "\\(path, required\\)"));
  EXPECT_THAT(r.out, HasSubstr("      stage (string, required)  the stage drawn"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("(none registered)")));
  // The BiT presets share one parameter list: printed once, under the first, and named by the others.
  EXPECT_THAT(r.out, ::testing::ContainsRegex("\n  R50x1 +BiT ResNetV2-50x1 .*\\[built-in\\]\n      \\(parameters as R101x1\\)\n"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("\n  R101x1 +BiT .*\\[built-in\\]\n      checkpoint \\(string, required\\)"));
}

TEST(ListCli, JsonListsEachSourceAndSinkParameter) {
  const auto r = run(std::nullopt, "--json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = boost::json::parse(r.out).as_object();
  std::size_t documented = 0;
  for (const char* kind : {"sources", "sinks"})
    for (const auto& c : j.at(kind).as_array()) {
      const auto& params = c.at("params").as_array();
      EXPECT_FALSE(params.empty()) << c.at("name").as_string();
      for (const auto& p : params) {
        EXPECT_FALSE(p.at("type").as_string().empty());
        EXPECT_FALSE(p.at("default").as_string().empty());
        EXPECT_FALSE(p.at("doc").as_string().empty());
      }
      ++documented;
    }
  EXPECT_EQ(documented, 12u) << "five sources and seven sinks";
}

TEST(ListCli, ShowsPluginComponentsWithTheirFile) {
  const std::string dir = VISBONE_PLUGIN_DIR;
  const auto r = run(dir, "--json");
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

  const auto bad = run(std::nullopt, "--plugin " + std::string(NO_ENTRY_PLUGIN));
  EXPECT_EQ(bad.status, 1);
  EXPECT_THAT(bad.out, HasSubstr("does not export the entry point 'visbone_plugin_entry_"));
}

}  // namespace
