#include "run_record.h"

#include <boost/json.hpp>
#include <iostream>
#include <set>
#include <string>
#include <system_error>

#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/core/stale_temp_files.h"
#include "visbone/core/sync_path.h"
#include "visbone/pipeline/atomic_file.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

using Paths = std::set<fs::path>;  // relative to the output folder

// `p` relative to `dir` when it lies inside it (not `dir` itself), else empty.
fs::path inside(const fs::path& dir, const fs::path& p) {
  const fs::path rel =
      fs::absolute(p).lexically_normal().lexically_relative(fs::absolute(dir).lexically_normal());
  if (rel.empty() || rel == "." || *rel.begin() == "..") return {};
  return rel;
}

struct Record {
  Paths files, folders;
};

Record relative(const fs::path& dir, const RunFiles& f) {
  Record r;
  for (const auto& p : f.files)
    if (auto rel = inside(dir, p); !rel.empty()) r.files.insert(std::move(rel));
  for (const auto& p : f.folders)
    if (auto rel = inside(dir, p); !rel.empty()) r.folders.insert(std::move(rel));
  return r;
}

// The record in `dir`; an unreadable or foreign one is printed and taken as empty (it names nothing visbone
// can trust to remove).
Record read_record(const fs::path& dir) {
  const fs::path file = dir / kRunRecord;
  Record r;
  std::error_code ec;
  if (!fs::exists(file, ec)) return r;
  try {
    const json::value v = json::parse(read_text_file(file, std::size_t{1} << 30));
    for (const char* key : {"files", "folders"})
      for (const auto& x : v.at(key).as_array()) {
        const fs::path rel = inside(dir, dir / std::string(x.as_string()));
        if (rel.empty() || rel != fs::path(std::string(x.as_string())).lexically_normal())
          throw FormatError("'" + std::string(x.as_string()) + "' is not a path inside the folder");
        (std::string(key) == "files" ? r.files : r.folders).insert(rel);
      }
  } catch (const std::exception& e) {
    std::cerr << "visbone: " << file.string() << ": not a run record, ignored (" << e.what() << ")\n";
    return {};
  }
  return r;
}

void write_record(const fs::path& dir, const Record& r) {
  json::array files, folders;
  for (const auto& p : r.files) files.emplace_back(p.generic_string());
  for (const auto& p : r.folders) folders.emplace_back(p.generic_string());
  const std::string text =
      json::serialize(json::object{{"files", std::move(files)}, {"folders", std::move(folders)}}) + "\n";
  write_file_atomic(dir / kRunRecord, {reinterpret_cast<const unsigned char*>(text.data()), text.size()});
}

bool is_image_name(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] != '.' && (p.extension() == ".png" || p.extension() == ".jpg");
}

// Removes the empty folders under `folder` (and `folder` itself with `self`), deepest first.
void remove_empty_folders(const fs::path& folder, bool self) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(folder, ec))) return;
  for (const auto& e : fs::directory_iterator(folder, ec))
    if (e.is_directory(ec) && !e.is_symlink(ec)) remove_empty_folders(e.path(), true);
  if (self && fs::is_empty(folder, ec)) fs::remove(folder, ec);
}

}  // namespace

RunFiles sink_files(const std::vector<std::unique_ptr<Sink>>& sinks, bool written) {
  RunFiles f;
  std::error_code ec;
  for (const auto& s : sinks) {
    const auto per_input = s->written_files();
    for (const auto& o : s->outputs()) {
      if (o.merge == MergeRule::shared_folder) {
        if (per_input) f.folders.push_back(o.path);
      } else if (!written || fs::is_regular_file(o.path, ec)) {
        f.files.push_back(o.path);
      }
    }
    if (written && per_input) f.files.insert(f.files.end(), per_input->begin(), per_input->end());
  }
  return f;
}

void begin_run_record(const fs::path& dir, const RunFiles& expected) {
  fs::create_directories(dir);
  Record r = read_record(dir);
  const Record add = relative(dir, expected);
  r.files.insert(add.files.begin(), add.files.end());
  r.folders.insert(add.folders.begin(), add.folders.end());
  write_record(dir, r);
}

void finish_run_record(const fs::path& dir, const RunFiles& wrote) {
  const Record before = read_record(dir);
  Record now = relative(dir, wrote);
  // What earlier runs left: the files they recorded, and images in the per-input folders.
  Paths left;
  for (const auto& p : before.files)
    if (!now.files.count(p)) left.insert(p);
  Paths folders = before.folders;
  folders.insert(now.folders.begin(), now.folders.end());
  std::error_code ec;
  for (const auto& folder : folders) {
    if (!fs::is_directory(fs::symlink_status(dir / folder, ec))) continue;
    remove_dead_temp_files(dir / folder);  // a killed run's hidden temporaries, which hold nothing
    std::error_code walk;
    for (auto it = fs::recursive_directory_iterator(dir / folder,
                                                    fs::directory_options::skip_permission_denied, walk);
         !walk && it != fs::recursive_directory_iterator(); it.increment(walk)) {
      const fs::path rel = inside(dir, it->path());
      if (it->is_directory(ec) && !it->is_symlink(ec)) remove_dead_temp_files(it->path());
      if (it->is_regular_file(ec) && !it->is_symlink(ec) && is_image_name(rel) && !now.files.count(rel))
        left.insert(rel);
    }
  }
  Paths synced;
  int failed = 0;
  for (const auto& rel : left) {
    const fs::path p = dir / rel;
    const auto st = fs::symlink_status(p, ec);
    if (!fs::exists(st)) continue;
    if (!fs::is_regular_file(st)) {
      std::cerr << "visbone: " << p.string() << ": an earlier run's output is no longer a file; left alone\n";
      continue;
    }
    if (!fs::remove(p, ec) || ec) {
      std::cerr << "visbone: " << p.string()
                << ": cannot remove this file an earlier run wrote: " << ec.message() << "\n";
      now.files.insert(rel);  // still there: the next run tries again
      ++failed;
      continue;
    }
    synced.insert(p.parent_path());
  }
  for (const auto& folder : folders) remove_empty_folders(dir / folder, !now.folders.count(folder));
  for (const auto& rel : left)  // the folders a removed file left empty, up to the output folder
    for (fs::path up = rel.parent_path(); !up.empty(); up = up.parent_path())
      if (!fs::is_directory(dir / up, ec) || !fs::is_empty(dir / up, ec) || !fs::remove(dir / up, ec)) break;
  for (const auto& p : synced)
    if (fs::exists(p, ec)) sync_path(p);
  sync_path(dir);
  for (const auto& folder : before.folders)  // a folder still holding an earlier run's files stays recorded
    if (fs::exists(dir / folder, ec) && failed) now.folders.insert(folder);
  write_record(dir, now);
  if (failed)
    throw IoError(
        dir.string() + ": " + std::to_string(failed) +
        " file(s) an earlier run wrote cannot be removed (listed above); the folder holds more than "
        "this run's outputs and is not marked complete");
}

}  // namespace visbone::pipeline
