// `files`: a fixed list of image files, in the order given.
#include "file_walk.h"
#include "sources.h"
#include "visbone/core/file_kind.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
namespace {

class FilesSource : public Source {
 public:
  FilesSource(std::vector<fs::path> paths, bool labels) : paths_(std::move(paths)), labels_(labels) {}
  std::optional<SourceItem> next() override {
    if (i_ == paths_.size()) return std::nullopt;
    const fs::path& p = paths_[i_++];
    SourceItem item;
    item.id = p.string();
    item.path = p.string();
    if (const auto kind = special_file_kind(p)) item.error = special_file_message(p, *kind);
    if (labels_) item.label = detail::parent_name(p);
    return item;
  }
  std::optional<std::uint64_t> count() override { return paths_.size(); }
  std::vector<fs::path> reads() const override { return paths_; }
  std::string describe() const override { return "files (" + std::to_string(paths_.size()) + ")"; }

 private:
  std::vector<fs::path> paths_;
  std::size_t i_ = 0;
  bool labels_;
};

std::unique_ptr<Source> make(const registry::Params& p, const SourceContext&) {
  std::vector<fs::path> paths;
  for (const auto& s : p.get<std::vector<std::string>>("paths")) {
    const fs::path path = (fs::path(s).is_absolute() ? fs::path(s) : p.base_dir() / s).lexically_normal();
    if (std::error_code ec; !fs::exists(path, ec)) p.fail("paths", detail::absolute_path(path) + " does not exist");
    paths.push_back(path);
  }
  if (paths.empty()) p.fail("paths", "expected at least one image file");
  return std::make_unique<FilesSource>(std::move(paths), p.get<bool>("labels_from_folders", false));
}

}  // namespace

void register_files_source(registry::ComponentRegistrar& r) {
  r.add_source("files", "a list of image files, in the order given", make,
               {{"paths", "list of paths", "(required)", "the image files (relative to the YAML file)"},
                detail::labels_param()});
}

namespace detail {

registry::ParamInfo labels_param() {
  return {"labels_from_folders", "bool", "false",
          "label inputs by their class folder (gives the summary its accuracy)"};
}

}  // namespace detail
}  // namespace visbone::pipeline
