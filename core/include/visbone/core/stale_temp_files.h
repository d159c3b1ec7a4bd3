// Hidden temporary files (".NAME.tmp.PID.N", ".NAME.part.PID.N") and staging folders (".NAME.staging.PID.N",
// ".NAME.old.PID.N", and a resumed run's journal on its way out, ".NAME.removed.PID.N") that visbone's atomic
// writers leave when their process is killed. They hold nothing
// anyone can use and can be large (a killed run's half-written predictions.jsonl), so the next writer in the
// same folder removes those whose process is gone.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace visbone {

// The PID in a temporary name of the form above, or nullopt for any other name.
std::optional<long> temp_file_owner(const std::string& name);

// Removes (with their contents, for folders) the temporary entries directly in `folder` whose PID names no
// live process (kill(pid, 0) fails with ESRCH); entries of live processes, this one's, and everything else
// stay. Returns how many were removed. Never throws: what cannot be listed or removed is left.
int remove_dead_temp_files(const std::filesystem::path& folder);

// As remove_dead_temp_files, once per folder per process (later calls for the same folder do nothing), for
// writers that create many files in one folder.
void remove_dead_temp_files_once(const std::filesystem::path& folder);

}  // namespace visbone
