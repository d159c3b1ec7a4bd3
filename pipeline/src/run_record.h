// The run record of an output folder (`.visbone-outputs.json`): every file visbone's runs may have left
// there, so a run can remove what an earlier run wrote and it did not, and a folder with `_SUCCESS` holds
// exactly that run's outputs. A run, after removing `_SUCCESS`:
//  - begin_run_record: records the earlier record joined with the files it is about to write (so a run killed
//    later still leaves a record of everything it may have written);
//  - finish_run_record, after its last output and before `_SUCCESS`: removes what the record lists that the
//    run did not write, and, in the per-input folders of sinks that keep their files (Sink::written_files()),
//    image files (.png, .jpg: the sinks' naming rule, output_name()) it did not write (a killed run's); then
//    records only its own files.
// Only paths inside the output folder are recorded or removed; other files there (a user's) are never
// touched.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "visbone/core/sink.h"

namespace visbone::pipeline {

inline constexpr const char* kRunRecord = ".visbone-outputs.json";

struct RunFiles {
  std::vector<std::filesystem::path> files;    // files written (or, for begin, about to be written)
  std::vector<std::filesystem::path> folders;  // per-input folders whose files are listed in `files`
};

// What `sinks` write: their outputs' files (those that exist, with `written`) and the per-input folders and
// files of those that keep them.
RunFiles sink_files(const std::vector<std::unique_ptr<Sink>>& sinks, bool written);

void begin_run_record(const std::filesystem::path& dir, const RunFiles& expected);
// IoError (after printing each) when a file an earlier run left cannot be removed: the folder is then not
// one run's, and the record keeps listing it for the next run.
void finish_run_record(const std::filesystem::path& dir, const RunFiles& wrote);

}  // namespace visbone::pipeline
