// The one rule for what a model name means, shared by every way a model is named (the CLI's MODEL argument,
// load_backbone / ImageProcessor::from_pretrained, a YAML `checkpoint:`, the hub client):
//   1. a name that is an existing file or folder is that path (a relative name resolves against `base_dir`:
//      the YAML file's folder for names written in YAML, the working folder for command-line and API names);
//   2. else a name in `presets` is that preset;
//   3. else NAMESPACE/NAME that is a hub repository id by huggingface_hub's rules (is_hub_repo_id) names that
//      repository (a bare NAME, which huggingface_hub also accepts, is more likely a mistyped folder or
//      preset, so as a model name it must carry its namespace);
//   4. else it names nothing, and the error says which absolute path was looked for.
// Kept in core (no hub client) so components that cannot fetch still decide the same way.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace visbone {

// huggingface_hub's validate_repo_id: NAME or NAMESPACE/NAME; each part letters, digits, '_', '-' and '.',
// starting and ending with a letter, digit or '_'; the name at most 96 characters; no "--" or ".." anywhere;
// not ending in ".git".
bool is_hub_repo_id(std::string_view name);

struct ModelName {
  enum class Kind { path, preset, hub_id, none };
  Kind kind = Kind::none;
  std::string name;            // as written
  std::filesystem::path path;  // path: the path found; none: the absolute path that was looked for
};

ModelName classify_model_name(const std::string& name, const std::filesystem::path& base_dir = {},
                              const std::vector<std::string>& presets = {});

// "'NAME' is not an existing file or folder (looked for /abs/path), ..." for a name of Kind::none.
std::string model_name_not_found(const ModelName& m, std::string_view expected);

}  // namespace visbone
