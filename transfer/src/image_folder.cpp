#include "visbone/transfer/image_folder.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "visbone/core/errors.h"

namespace visbone::transfer {

namespace fs = std::filesystem;

namespace {

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* e : {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
    if (ext == e) return true;
  return false;
}

bool hidden(const fs::path& p) {
  return !p.filename().empty() && p.filename().string()[0] == '.';
}

}  // namespace

LabelledImages list_image_folder(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw NotFoundError(root.string() +
                        ": not a folder (expected ROOT/<class>/<image> as torchvision's ImageFolder)");
  std::map<std::string, std::vector<fs::path>> by_class;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (!entry.is_directory() || hidden(entry.path())) continue;
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(entry.path()); it != fs::recursive_directory_iterator();
         ++it) {
      if (hidden(it->path())) {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file() && is_image(it->path())) files.push_back(it->path());
    }
    if (!files.empty()) by_class[entry.path().filename().string()] = std::move(files);
  }
  if (by_class.size() < 2)
    throw ConfigError(root.string() + ": " + std::to_string(by_class.size()) +
                      " class folders with images; a classifier needs at least two (ROOT/<class>/<image>)");
  LabelledImages out;
  for (auto& [name, files] : by_class) {
    std::sort(files.begin(), files.end());
    for (auto& f : files) {
      out.paths.push_back(std::move(f));
      out.labels.push_back(static_cast<int>(out.classes.size()));
    }
    out.classes.push_back(name);
  }
  return out;
}

}  // namespace visbone::transfer
