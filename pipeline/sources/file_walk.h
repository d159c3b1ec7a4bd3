// Walking a folder tree for the folder and glob sources: sorted, one listing per level held at a time, and
// the glob matching (* ? [..] within a component, ** across components) both use.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "visbone/core/source.h"

namespace visbone::pipeline {

// The image file extensions a folder source takes by default (lower case, with the dot).
const std::vector<std::string>& image_extensions();

// Whether `path` (relative, '/'-separated) matches a glob pattern of the same form: * ? [..] within one
// component, ** for any number of components.
bool glob_match(const std::string& pattern, const std::string& path);

// Whether `p` is `folder` or lies under it (both absolute; compared component by component after
// lexically_normal, so /a/bc is not under /a/b).
bool path_within(const std::filesystem::path& p, const std::filesystem::path& folder);

namespace detail {

std::vector<std::string> split_path(const std::string& p);
// Whether the pattern components from `pi` on match `parts` from `si` on.
bool match_from(const std::vector<std::string>& pat, std::size_t pi, const std::vector<std::string>& parts,
                std::size_t si);
// Whether a folder (its components relative to the glob's root) can hold a match, so the walk prunes the
// rest.
bool could_contain(const std::vector<std::string>& pat, const std::vector<std::string>& dir);

// A depth-first walk in sorted order (each folder's entries sorted by name), holding one listing per level.
// Hidden entries (names starting with '.') are skipped, as are symlinked folders (which can form cycles).
// FIFOs, devices and sockets the filter accepts come out as errors: reading one could block forever.
// Folders within `skip` (SourceContext::skip: the run's output_dir) are left out with all they hold.
class Walker {
 public:
  struct Entry {
    std::filesystem::path path;
    std::string rel;    // '/'-separated, relative to the root
    std::string error;  // a folder that could not be listed
  };
  using DirFilter = std::function<bool(const std::string& rel)>;
  using FileFilter = std::function<bool(const std::string& rel, const std::filesystem::path& path)>;

  Walker(std::filesystem::path root, DirFilter descend, FileFilter accept,
         std::vector<std::filesystem::path> skip = {});
  std::optional<Entry> next();

 private:
  struct Frame {
    std::filesystem::path dir;
    std::string rel;
    std::vector<std::pair<std::string, bool>> entries;  // name, is a folder to descend into
    std::size_t next = 0;
  };
  void push(const std::filesystem::path& dir, const std::string& rel);

  DirFilter descend_;
  FileFilter accept_;
  std::vector<std::filesystem::path> skip_;
  std::vector<Frame> stack_;
  std::optional<Entry> pending_error_;
};

// A source over a walk; labels (when asked for) are the first folder under the root.
class WalkSource : public Source {
 public:
  using MakeWalker = std::function<Walker()>;
  // `root`: the folder it reads from (reads()).
  WalkSource(MakeWalker make, bool labels, std::string description, std::filesystem::path root);
  std::optional<SourceItem> next() override;
  // A second walk costs directory listings only; it gives the progress bar its total.
  std::optional<std::uint64_t> count() override;
  std::string describe() const override { return description_; }
  std::vector<std::filesystem::path> reads() const override { return {root_}; }

 private:
  MakeWalker make_;
  Walker walker_;
  bool labels_;
  std::string description_;
  std::filesystem::path root_;
};

// "/abs/path" for messages: where a relative path was looked for.
std::string absolute_path(const std::filesystem::path& p);
// The label of a file named in a list: the folder holding it.
std::optional<std::string> parent_name(const std::filesystem::path& p);

}  // namespace detail
}  // namespace visbone::pipeline
