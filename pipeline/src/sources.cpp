#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "visbone/core/errors.h"
#include "visbone/core/file_kind.h"
#include "visbone/pipeline/source.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;

const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> kExtensions = {".png", ".jpg",  ".jpeg", ".bmp",
                                                       ".tif", ".tiff", ".webp"};
  return kExtensions;
}

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

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

// A depth-first walk in sorted order (each folder's entries sorted by name), holding one listing per level.
// Hidden entries (names starting with '.') are skipped, as are symlinked folders (which can form cycles).
// FIFOs, devices and sockets the filter accepts come out as errors: reading one could block forever.
class Walker {
 public:
  struct Entry {
    fs::path path;
    std::string rel;    // '/'-separated, relative to the root
    std::string error;  // a folder that could not be listed
  };
  using DirFilter = std::function<bool(const std::string& rel)>;
  using FileFilter = std::function<bool(const std::string& rel, const fs::path& path)>;

  Walker(fs::path root, DirFilter descend, FileFilter accept)
      : descend_(std::move(descend)), accept_(std::move(accept)) {
    push(root, "");
  }

  std::optional<Entry> next() {
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

 private:
  struct Frame {
    fs::path dir;
    std::string rel;
    std::vector<std::pair<std::string, bool>> entries;  // name, is a folder to descend into
    std::size_t next = 0;
  };

  void push(const fs::path& dir, const std::string& rel) {
    Frame f{dir, rel, {}, 0};
    std::error_code ec;
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

  DirFilter descend_;
  FileFilter accept_;
  std::vector<Frame> stack_;
  std::optional<Entry> pending_error_;
};

std::optional<std::string> first_component(const std::string& rel) {
  const auto slash = rel.find('/');
  if (slash == std::string::npos) return std::nullopt;  // directly in the root: no class folder
  return rel.substr(0, slash);
}

class WalkSource : public Source {
 public:
  using MakeWalker = std::function<Walker()>;
  WalkSource(MakeWalker make, bool labels) : make_(std::move(make)), walker_(make_()), labels_(labels) {}

  std::optional<SourceItem> next() override {
    auto e = walker_.next();
    if (!e) return std::nullopt;
    SourceItem item;
    item.id = e->rel;
    item.path = e->path.string();
    item.error = e->error;
    if (labels_) item.label = first_component(e->rel);
    return item;
  }

  std::optional<std::uint64_t> count() override {
    // A second walk costs directory listings only; it gives the progress bar its total.
    Walker w = make_();
    std::uint64_t n = 0;
    while (w.next()) ++n;
    return n;
  }

 private:
  MakeWalker make_;
  Walker walker_;
  bool labels_;
};

std::optional<std::string> parent_name(const fs::path& p) {
  const auto name = p.parent_path().filename().string();
  if (name.empty() || name == "." || name == "..") return std::nullopt;
  return name;
}

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
    if (labels_) item.label = parent_name(p);
    return item;
  }
  std::optional<std::uint64_t> count() override { return paths_.size(); }

 private:
  std::vector<fs::path> paths_;
  std::size_t i_ = 0;
  bool labels_;
};

class ListSource : public Source {
 public:
  ListSource(fs::path file, bool labels) : file_(std::move(file)), in_(file_), labels_(labels) {}

  std::optional<SourceItem> next() override {
    std::string line;
    while (read_line(in_, line)) {
      const fs::path p(line);
      SourceItem item;
      item.id = line;
      item.path = (p.is_absolute() ? p : file_.parent_path() / p).lexically_normal().string();
      if (const auto kind = special_file_kind(item.path)) item.error = special_file_message(item.path, *kind);
      if (labels_) item.label = parent_name(p);
      return item;
    }
    if (in_.bad()) throw IoError(file_.string() + ": read failed");
    return std::nullopt;
  }

  std::optional<std::uint64_t> count() override {
    std::ifstream in(file_);
    std::uint64_t n = 0;
    std::string line;
    while (read_line(in, line)) ++n;
    return n;
  }

 private:
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

class VideoSource : public Source {
 public:
  VideoSource(const SourceConfig& c, std::int64_t max_pixels)
      : path_(c.path), every_(c.every), max_frames_(c.max_frames), max_pixels_(max_pixels) {
    {
#if defined(__SANITIZE_ADDRESS__)
      // OpenCV's backends (loaded and unloaded while probing a file) leak small allocations of their own;
      // LeakSanitizer cannot name an unloaded module, so it is told to ignore what the probe allocates.
      __lsan_disable();
#endif
      cap_.open(path_.string());
#if defined(__SANITIZE_ADDRESS__)
      __lsan_enable();
#endif
    }
    if (!cap_.isOpened()) open_error_ = path_.string() + ": OpenCV cannot open this video";
    else frames_in_header_ = cap_.get(cv::CAP_PROP_FRAME_COUNT);
  }

  std::optional<SourceItem> next() override {
    if (!open_error_.empty()) {
      // A video that does not open is one failed input, reported like an image that does not decode.
      if (reported_) return std::nullopt;
      reported_ = true;
      SourceItem item;
      item.id = path_.filename().string();
      item.path = path_.string();
      item.error = open_error_;
      return item;
    }
    if (reported_) return std::nullopt;  // it stopped early, and that was reported
    if (max_frames_ > 0 && kept_ >= max_frames_) return std::nullopt;
    // Frames between kept ones are only grabbed (demuxed), not decoded.
    while (frame_ % every_ != 0) {
      if (!cap_.grab()) return stopped();
      ++frame_;
    }
    cv::Mat m;
    if (!cap_.read(m)) return stopped();
    const std::int64_t index = frame_++;
    ++kept_;
    SourceItem item;
    item.id = frame_id(index);
    item.path = path_.string();
    if (static_cast<std::int64_t>(m.cols) * m.rows > max_pixels_) {
      item.error = item.id + ": frame of " + std::to_string(m.cols) + "x" + std::to_string(m.rows) +
                   " pixels exceeds the limit of " + std::to_string(max_pixels_);
      return item;
    }
    if (m.depth() != CV_8U || (m.channels() != 1 && m.channels() != 3)) {
      item.error = item.id + ": unsupported frame format (" + std::to_string(m.channels()) + " channels)";
      return item;
    }
    item.image = image::Image(m.cols, m.rows, 3);
    cv::Mat dst(m.rows, m.cols, CV_8UC3, item.image.data());
    cv::cvtColor(m, dst, m.channels() == 3 ? cv::COLOR_BGR2RGB : cv::COLOR_GRAY2RGB);
    item.decoded = true;
    return item;
  }

  std::optional<std::uint64_t> count() override {
    if (!open_error_.empty()) return 1;
    const double frames = frames_in_header_;
    if (!(frames > 0)) return std::nullopt;
    std::uint64_t n = (static_cast<std::uint64_t>(frames) + static_cast<std::uint64_t>(every_) - 1) /
                      static_cast<std::uint64_t>(every_);
    if (max_frames_ > 0) n = std::min<std::uint64_t>(n, static_cast<std::uint64_t>(max_frames_));
    return n;
  }

 private:
  fs::path path_;
  int every_;
  std::int64_t max_frames_;
  std::int64_t max_pixels_;
  cv::VideoCapture cap_;
  std::string open_error_;
  bool reported_ = false;
  double frames_in_header_ = 0;  // what the container claims; 0 when it does not say
  std::int64_t frame_ = 0, kept_ = 0;

  std::string frame_id(std::int64_t index) const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "frame_%06lld", static_cast<long long>(index));
    return path_.filename().string() + "/" + buf;
  }

  // The video gave no more frames. Short of the count its container states, it was cut off or damaged:
  // one failed input at the first missing frame, so the run does not pass for complete.
  std::optional<SourceItem> stopped() {
    if (reported_) return std::nullopt;
    reported_ = true;
    const auto expected = static_cast<std::int64_t>(frames_in_header_);
    if (!(frames_in_header_ > 0) || frame_ >= expected) return std::nullopt;
    SourceItem item;
    item.id = frame_id(frame_);
    item.path = path_.string();
    item.error = path_.string() + ": ended at frame " + std::to_string(frame_) + " of " +
                 std::to_string(expected) + " (the video is truncated or damaged)";
    return item;
  }
};

class ConcatSource : public Source {
 public:
  explicit ConcatSource(std::vector<std::unique_ptr<Source>> s) : sources_(std::move(s)) {}
  std::optional<SourceItem> next() override {
    while (i_ < sources_.size()) {
      if (auto item = sources_[i_]->next()) return item;
      ++i_;
    }
    return std::nullopt;
  }
  std::optional<std::uint64_t> count() override {
    std::uint64_t n = 0;
    for (auto& s : sources_) {
      const auto c = s->count();
      if (!c) return std::nullopt;
      n += *c;
    }
    return n;
  }

 private:
  std::vector<std::unique_ptr<Source>> sources_;
  std::size_t i_ = 0;
};

// A path the config names that is not there: a config mistake (exit 2 in the CLI), found before any model
// loads, with the path made absolute so the reader sees where it was looked for.
[[noreturn]] void missing(const SourceConfig& c, const std::string& what) {
  throw ConfigError(c.place.str() + ": source (" + std::string(to_string(c.type)) + "): " + what);
}

std::string absolute_path(const fs::path& p) {
  std::error_code ec;
  return fs::absolute(p, ec).lexically_normal().string();
}

}  // namespace

bool glob_match(const std::string& pattern, const std::string& path) {
  return match_from(split_path(pattern), 0, split_path(path), 0);
}

std::unique_ptr<Source> make_source(const SourceConfig& c, std::int64_t max_pixels) {
  switch (c.type) {
    case SourceType::files:
      for (const auto& p : c.paths)
        if (std::error_code ec; !fs::exists(p, ec)) missing(c, absolute_path(p) + " does not exist");
      return std::make_unique<FilesSource>(c.paths, c.labels_from_folders);
    case SourceType::folder: {
      if (!fs::is_directory(c.path)) missing(c, absolute_path(c.path) + " is not a folder");
      const auto exts = c.extensions.empty() ? image_extensions() : c.extensions;
      const bool recursive = c.recursive;
      const fs::path root = c.path;
      return std::make_unique<WalkSource>(
          [=] {
            return Walker(
                root, [=](const std::string&) { return recursive; },
                [=](const std::string&, const fs::path& p) {
                  const auto ext = lower(p.extension().string());
                  return std::find(exts.begin(), exts.end(), ext) != exts.end();
                });
          },
          c.labels_from_folders);
    }
    case SourceType::glob: {
      // The root is the longest leading part without wildcards; the rest is matched while walking.
      const auto parts = split_path(c.pattern);
      fs::path root = c.pattern.starts_with("/") ? fs::path("/") : fs::path();
      std::size_t i = 0;
      for (; i + 1 < parts.size() && parts[i].find_first_of("*?[") == std::string::npos; ++i)
        root /= parts[i];
      if (root.empty()) root = ".";
      const std::vector<std::string> pat(parts.begin() + static_cast<std::ptrdiff_t>(i), parts.end());
      if (!fs::is_directory(root))
        missing(c, "the folder " + absolute_path(root) + " of pattern " + c.pattern + " does not exist");
      return std::make_unique<WalkSource>(
          [=] {
            return Walker(
                root, [=](const std::string& rel) { return could_contain(pat, split_path(rel)); },
                [=](const std::string& rel, const fs::path&) {
                  return match_from(pat, 0, split_path(rel), 0);
                });
          },
          c.labels_from_folders);
    }
    case SourceType::list:
      if (!fs::is_regular_file(c.path)) missing(c, absolute_path(c.path) + " is not a readable file");
      return std::make_unique<ListSource>(c.path, c.labels_from_folders);
    case SourceType::video:
      if (!fs::is_regular_file(c.path)) missing(c, absolute_path(c.path) + " is not a file");
      return std::make_unique<VideoSource>(c, max_pixels);
    case SourceType::plugin:
      break;  // built through the registry by the pipeline
  }
  missing(c, "not a built-in source type");
}

std::unique_ptr<Source> concat_sources(std::vector<std::unique_ptr<Source>> sources) {
  if (sources.size() == 1) return std::move(sources.front());
  return std::make_unique<ConcatSource>(std::move(sources));
}

}  // namespace visbone::pipeline
