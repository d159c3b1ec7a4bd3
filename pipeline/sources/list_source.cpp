// `list`: a text file of image paths, one a line (relative ones against the list's folder).
#include <fstream>

#include "file_walk.h"
#include "sources.h"
#include "visbone/core/errors.h"
#include "visbone/core/file_kind.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
namespace {

class ListSource : public Source {
 public:
  ListSource(fs::path file, bool labels) : file_(std::move(file)), in_(file_), labels_(labels) {}
  std::string describe() const override { return "list " + file_.string(); }

  std::optional<SourceItem> next() override {
    std::string line;
    while (read_line(in_, line)) {
      SourceItem item;
      item.id = line;
      item.path = resolve(line).string();
      if (const auto kind = special_file_kind(item.path)) item.error = special_file_message(item.path, *kind);
      if (labels_) item.label = detail::parent_name(line);
      return item;
    }
    if (in_.bad()) throw IoError(file_.string() + ": read failed");
    return std::nullopt;
  }

  // The list and the files it names.
  std::vector<fs::path> reads() const override {
    std::vector<fs::path> all{file_};
    std::ifstream in(file_);
    std::string line;
    while (read_line(in, line)) all.push_back(resolve(line));
    return all;
  }

  std::optional<std::uint64_t> count() override {
    std::ifstream in(file_);
    std::uint64_t n = 0;
    std::string line;
    while (read_line(in, line)) ++n;
    return n;
  }

 private:
  // A listed path: relative ones against the list's folder.
  fs::path resolve(const fs::path& p) const {
    return (p.is_absolute() ? p : file_.parent_path() / p).lexically_normal();
  }
  // The next path: surrounding blanks (and a CR from Windows line ends) trimmed, blank lines and lines
  // starting with '#' skipped.
  static bool read_line(std::istream& in, std::string& line) {
    while (std::getline(in, line)) {
      const auto b = line.find_first_not_of(" \t\r");
      if (b == std::string::npos || line[b] == '#') continue;
      const auto e = line.find_last_not_of(" \t\r");
      line = line.substr(b, e - b + 1);
      return true;
    }
    return false;
  }

  fs::path file_;
  std::ifstream in_;
  bool labels_;
};

std::unique_ptr<Source> make(const registry::Params& p, const SourceContext&) {
  const fs::path file = p.path("path");
  if (!fs::is_regular_file(file)) p.fail("path", detail::absolute_path(file) + " is not a readable file");
  return std::make_unique<ListSource>(file, p.get<bool>("labels_from_folders", false));
}

}  // namespace

void register_list_source(registry::ComponentRegistrar& r) {
  r.add_source("list", "the images named in a text file, one path a line ('#' comments)", make,
               {{"path", "path", "(required)", "the list file (its relative paths resolve against its folder)"},
                detail::labels_param()});
}

}  // namespace visbone::pipeline
