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
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "visbone/core/errors.h"

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

// What a name resolves to. kind is path, preset or hub_id (never none: that is a ModelNotFoundError).
struct ResolvedModel {
  ModelName::Kind kind = ModelName::Kind::none;
  std::string name;            // as written
  std::filesystem::path path;  // path: the file or folder; hub_id, and a preset with a hub checkpoint: the
                               // fetched snapshot folder; a preset without one: empty
  std::string preset;          // preset: its name
  std::string hub_id;          // hub_id: the name; preset: its checkpoint's id ("" when it has none)
};

// How a caller names models: relative names resolve against base_dir; presets maps each preset name to
// the hub id of its checkpoint ("" when the hub has none); `expected` ends the not-found message ("a
// checkpoint folder, a .npz file or a hub id").
struct ModelNameRules {
  std::filesystem::path base_dir;
  std::map<std::string, std::string> presets;
  std::string expected = "a model folder or a hub repository id";
};

// A name that names nothing (rule 4), or a hub id with no hub client to fetch it.
class ModelNotFoundError : public NotFoundError {
 public:
  using NotFoundError::NotFoundError;
};

// Fetches hub repository `repo_id` and returns its local snapshot folder (hub::resolve_model_name passes
// the hub client's; components that cannot link it get one from the program, or none).
using HubFetch = std::function<std::filesystem::path(const std::string& repo_id)>;

// The one model resolver: the rule above, and the hub id of a name or preset fetched through `fetch`.
// ModelNotFoundError (naming the absolute path looked for) for a name that names nothing, or a hub id when
// `fetch` is empty; the fetch's own errors pass through.
ResolvedModel resolve_model_name(const std::string& name, const ModelNameRules& rules, const HubFetch& fetch);

// "'NAME' is not an existing file or folder (looked for /abs/path), ..." for a name of Kind::none.
std::string model_name_not_found(const ModelName& m, std::string_view expected);

}  // namespace visbone
