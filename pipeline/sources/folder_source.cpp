// `folder`: the images under a folder, walked in sorted order (ImageFolder layout for labels).
#include <algorithm>
#include <cctype>

#include "file_walk.h"
#include "sources.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::unique_ptr<Source> make(const registry::Params& p, const SourceContext& ctx) {
  const fs::path root = p.path("path");
  if (!fs::is_directory(root)) p.fail("path", detail::absolute_path(root) + " is not a folder");
  const bool recursive = p.get<bool>("recursive", true);
  std::vector<std::string> exts;
  for (auto e : p.get<std::vector<std::string>>("extensions", {})) {
    e = lower(e);
    if (e.empty()) p.fail("extensions", "expected extensions such as .png, found an empty one");
    if (e.front() != '.') e.insert(e.begin(), '.');
    exts.push_back(e);
  }
  if (exts.empty()) exts = image_extensions();
  return std::make_unique<detail::WalkSource>(
      [=] {
        return detail::Walker(
            root, [=](const std::string&) { return recursive; },
            [=](const std::string&, const fs::path& f) {
              return std::find(exts.begin(), exts.end(), lower(f.extension().string())) != exts.end();
            },
            ctx.skip);
      },
      p.get<bool>("labels_from_folders", false), "folder " + root.string(), root);
}

}  // namespace

void register_folder_source(registry::ComponentRegistrar& r) {
  r.add_source("folder", "the images under a folder, in sorted order", make,
               {{"path", "path", "(required)", "the folder of images (relative to the YAML file)"},
                {"recursive", "bool", "true", "descend into subfolders"},
                {"extensions", "list of strings", "image types", "file extensions to take (.png, jpg, ...)"},
                detail::labels_param()});
}

}  // namespace visbone::pipeline
