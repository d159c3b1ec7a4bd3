#include "output_check.h"

#include <system_error>

#include "../sources/file_walk.h"
#include "visbone/core/errors.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;

namespace {

fs::path clean_absolute(const fs::path& p) {
  std::error_code ec;
  const fs::path a = fs::absolute(p, ec);
  return (ec ? p : a).lexically_normal();
}

[[noreturn]] void clash(const PlannedOutput& o, const std::string& what) {
  throw ConfigError(o.place.str() + ": " + o.name + ": " + o.path.string() + " " + what);
}

}  // namespace

void check_outputs(const std::vector<PlannedOutput>& outputs, const ReadPaths& reads, std::ostream& notes) {
  std::vector<fs::path> inputs;
  for (const auto& r : reads.inputs) inputs.push_back(clean_absolute(r));
  const std::optional<fs::path> out_dir =
      reads.output_dir ? std::optional<fs::path>(clean_absolute(*reads.output_dir)) : std::nullopt;
  // A source folder inside output_dir would be left out whole: every input skipped.
  if (out_dir)
    for (const auto& r : inputs)
      if (std::error_code ec; path_within(r, *out_dir) && fs::is_directory(r, ec))
        throw ConfigError(reads.output_dir_place.str() + ": output_dir: " + out_dir->string() +
                          " holds the input folder " + r.string() +
                          ", and a run leaves its output_dir out of its inputs; write the outputs elsewhere");
  const fs::path config = clean_absolute(reads.config);
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const PlannedOutput& o = outputs[i];
    const fs::path path = clean_absolute(o.path);
    for (std::size_t j = 0; j < i; ++j)
      if (path == clean_absolute(outputs[j].path)) clash(o, "is written by " + outputs[j].name + " too");
    if (path == config) clash(o, "is the config file " + config.string());
    if (reads.model) {
      const fs::path model = clean_absolute(*reads.model);
      if (path_within(path, model) || (o.folder && path_within(model, path)))
        clash(o, "would overwrite the model's files in " + model.string());
    }
    const bool in_out_dir = out_dir && path_within(path, *out_dir);
    for (const auto& r : inputs) {
      // Under a source folder, but in output_dir, which the folder's walk leaves out.
      const bool skipped = in_out_dir && path != r && !path_within(r, *out_dir);
      if (path_within(path, r) && !skipped)
        clash(o, path == r ? "is an input (" + r.string() + ")" : "is inside the input folder " + r.string());
      if (o.folder && path_within(r, path)) clash(o, "is a folder that holds the input " + r.string());
    }
    if (out_dir && !in_out_dir)
      notes << "note: " << o.name << " writes " << path.string() << ", outside output_dir "
            << out_dir->string() << "\n";
  }
}

}  // namespace visbone::pipeline
