#include "file_walk.h"

#include <fnmatch.h>

#include <algorithm>

#include "visbone/core/file_kind.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;

const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> kExtensions = {".png", ".jpg",  ".jpeg", ".bmp",
                                                       ".tif", ".tiff", ".webp"};
  return kExtensions;
}

bool glob_match(const std::string& pattern, const std::string& path) {
  return detail::match_from(detail::split_path(pattern), 0, detail::split_path(path), 0);
}

bool path_within(const fs::path& p, const fs::path& folder) {
  // Without the empty last component a trailing '/' leaves.
  const auto clean = [](const fs::path& x) {
    fs::path n = x.lexically_normal();
    return n.has_filename() || !n.has_parent_path() ? n : n.parent_path();
  };
  const fs::path a = clean(p), b = clean(folder);
  auto i = a.begin();
  for (auto j = b.begin(); j != b.end(); ++j, ++i)
    if (i == a.end() || *i != *j) return false;
  return true;
}

namespace detail {

std::vector<std::string> split_path(const std::string& p) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= p.size()) {
    const std::size_t end = p.find('/', start);
    const std::string part = p.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!part.empty()) out.push_back(part);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

bool match_from(const std::vector<std::string>& pat, std::size_t pi, const std::vector<std::string>& parts,
                std::size_t si) {
  if (pi == pat.size()) return si == parts.size();
  if (pat[pi] == "**") {
    for (std::size_t k = si; k <= parts.size(); ++k)
      if (match_from(pat, pi + 1, parts, k)) return true;
    return false;
  }
  if (si == parts.size()) return false;
  return ::fnmatch(pat[pi].c_str(), parts[si].c_str(), 0) == 0 && match_from(pat, pi + 1, parts, si + 1);
}

// Whether a folder (its components relative to the glob's root) can hold a match, so the walk prunes the
// rest.
bool could_contain(const std::vector<std::string>& pat, const std::vector<std::string>& dir) {
  for (std::size_t i = 0; i < dir.size(); ++i) {
    if (i >= pat.size()) return false;
    if (pat[i] == "**") return true;
    if (::fnmatch(pat[i].c_str(), dir[i].c_str(), 0) != 0) return false;
  }
  return dir.size() < pat.size();
}

Walker::Walker(fs::path root, DirFilter descend, FileFilter accept, std::vector<fs::path> skip)
    : descend_(std::move(descend)), accept_(std::move(accept)), skip_(std::move(skip)) {
  push(root, "");
}

std::optional<Walker::Entry> Walker::next() {
  if (pending_error_) {
    auto e = std::move(*pending_error_);
    pending_error_.reset();
    return e;
  }
  while (!stack_.empty()) {
    Frame& f = stack_.back();
    if (f.next == f.entries.size()) {
      stack_.pop_back();
      continue;
    }
    const auto [name, is_dir] = f.entries[f.next++];
    const fs::path path = f.dir / name;
    const std::string rel = f.rel.empty() ? name : f.rel + "/" + name;
    if (is_dir) {
      if (descend_(rel)) {
        push(path, rel);
        if (pending_error_) {
          auto e = std::move(*pending_error_);
          pending_error_.reset();
          return e;
        }
      }
      continue;
    }
    if (!accept_(rel, path)) continue;
    if (const auto kind = special_file_kind(path)) return Entry{path, rel, special_file_message(path, *kind)};
    return Entry{path, rel, {}};
  }
  return std::nullopt;
}

void Walker::push(const fs::path& dir, const std::string& rel) {
  std::error_code ec;
  for (const auto& s : skip_)
    if (path_within(fs::absolute(dir, ec), s)) return;
  Frame f{dir, rel, {}, 0};
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code e2;
    const auto link = it->symlink_status(e2);
    const auto st = it->status(e2);
    if (fs::is_directory(st)) {
      if (!fs::is_symlink(link)) f.entries.emplace_back(name, true);
    } else {
      // Broken links are kept so they are reported as failed inputs instead of vanishing; so are FIFOs and
      // devices, which next() reports without opening.
      f.entries.emplace_back(name, false);
    }
  }
  if (ec) {
    pending_error_ = Entry{dir, rel.empty() ? dir.filename().string() : rel,
                           dir.string() + ": cannot list folder: " + ec.message()};
    return;
  }
  std::sort(f.entries.begin(), f.entries.end());
  stack_.push_back(std::move(f));
}

std::optional<std::string> first_component(const std::string& rel) {
  const auto slash = rel.find('/');
  if (slash == std::string::npos) return std::nullopt;  // directly in the root: no class folder
  return rel.substr(0, slash);
}

WalkSource::WalkSource(MakeWalker make, bool labels, std::string description, fs::path root)
    : make_(std::move(make)),
      walker_(make_()),
      labels_(labels),
      description_(std::move(description)),
      root_(std::move(root)) {}

std::optional<SourceItem> WalkSource::next() {
  auto e = walker_.next();
  if (!e) return std::nullopt;
  SourceItem item;
  item.id = e->rel;
  item.path = e->path.string();
  item.error = e->error;
  if (labels_) item.label = first_component(e->rel);
  return item;
}

std::optional<std::uint64_t> WalkSource::count() {
  Walker w = make_();
  std::uint64_t n = 0;
  while (w.next()) ++n;
  return n;
}

std::string absolute_path(const fs::path& p) {
  std::error_code ec;
  return fs::absolute(p, ec).lexically_normal().string();
}

std::optional<std::string> parent_name(const fs::path& p) {
  const auto name = p.parent_path().filename().string();
  if (name.empty() || name == "." || name == "..") return std::nullopt;
  return name;
}

}  // namespace detail
}  // namespace visbone::pipeline
