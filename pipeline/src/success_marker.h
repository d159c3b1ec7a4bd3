// The run-state marker of an output folder, as Hadoop and Spark jobs leave one: a run removes `_SUCCESS`
// before it changes anything in its output folder and writes it after its last output, so a folder with
// `_SUCCESS` holds exactly one complete run's outputs; one without it was written by a run that failed, was
// killed or is still going.
#pragma once

#include <filesystem>

namespace visbone::pipeline {

inline constexpr const char* kSuccessMarker = "_SUCCESS";

// Removes `folder`/_SUCCESS durably (the folder entry is synced); IoError if it exists and cannot be removed.
void clear_success_marker(const std::filesystem::path& folder);
// Writes an empty `folder`/_SUCCESS atomically and durably.
void write_success_marker(const std::filesystem::path& folder);

}  // namespace visbone::pipeline
