// `glob`: the files matching a path pattern (* ? [..] within a folder name, ** across folders).
#include "file_walk.h"
#include "sources.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
namespace {

std::unique_ptr<Source> make(const registry::Params& p, const SourceContext& ctx) {
  const std::string pattern = p.path("pattern").string();
  // The root is the longest leading part without wildcards; the rest is matched while walking.
  const auto parts = detail::split_path(pattern);
  fs::path root = pattern.starts_with("/") ? fs::path("/") : fs::path();
  std::size_t i = 0;
  for (; i + 1 < parts.size() && parts[i].find_first_of("*?[") == std::string::npos; ++i) root /= parts[i];
  if (root.empty()) root = ".";
  const std::vector<std::string> pat(parts.begin() + static_cast<std::ptrdiff_t>(i), parts.end());
  if (!fs::is_directory(root))
    p.fail("pattern", "the folder " + detail::absolute_path(root) + " of pattern " + pattern + " does not exist");
  return std::make_unique<detail::WalkSource>(
      [=] {
        return detail::Walker(
            root, [=](const std::string& rel) { return detail::could_contain(pat, detail::split_path(rel)); },
            [=](const std::string& rel, const fs::path&) {
              return detail::match_from(pat, 0, detail::split_path(rel), 0);
            },
            ctx.skip);
      },
      p.get<bool>("labels_from_folders", false), "glob " + pattern, root);
}

}  // namespace

void register_glob_source(registry::ComponentRegistrar& r) {
  r.add_source("glob", "the files matching a path pattern", make,
               {{"pattern", "string", "(required)", "a pattern such as images/**/*.png (relative to the YAML file)"},
                detail::labels_param()});
}

}  // namespace visbone::pipeline
