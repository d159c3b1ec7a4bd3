// Outputs that would overwrite what a run reads (issue 16): a sink's file or folder, or the summary, that is
// another output, an input, the config or the model is a ConfigError naming the key's place and both paths.
// An output outside output_dir is allowed and printed as a note.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "visbone/pipeline/config.h"

namespace visbone::pipeline {

struct PlannedOutput {
  std::filesystem::path path;  // absolute
  ConfigPlace place;           // the key that names it
  std::string name;            // "sinks[1]", "summary"
  bool folder = false;         // a folder of per-input files (annotated_images, heatmap)
};

// What outputs must leave alone.
struct ReadPaths {
  std::filesystem::path config;
  // Source::reads(): files, and folders that stand for everything under them (a folder source's walk leaves
  // out output_dir, so a path in it is no input of that folder).
  std::vector<std::filesystem::path> inputs;
  std::optional<std::filesystem::path> model;  // the checkpoint folder
  std::optional<std::filesystem::path> output_dir;
  ConfigPlace output_dir_place;
};

void check_outputs(const std::vector<PlannedOutput>& outputs, const ReadPaths& reads, std::ostream& notes);

}  // namespace visbone::pipeline
