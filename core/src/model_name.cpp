#include "visbone/core/model_name.h"

#include <algorithm>
#include <cctype>

namespace visbone {
namespace {

namespace fs = std::filesystem;

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// One part of a repo id: [\w\-.]+ between word boundaries, as huggingface_hub's REPO_ID_REGEX has it.
bool valid_part(std::string_view part, std::size_t max_size) {
  if (part.empty() || part.size() > max_size) return false;
  const bool chars = std::all_of(part.begin(), part.end(), [](char c) { return word_char(c) || c == '-' || c == '.'; });
  return chars && word_char(part.front()) && word_char(part.back());
}

}  // namespace

bool is_hub_repo_id(std::string_view name) {
  if (name.find("--") != std::string_view::npos || name.find("..") != std::string_view::npos) return false;
  if (name.ends_with(".git")) return false;
  const auto slash = name.find('/');
  if (slash == std::string_view::npos) return valid_part(name, 96);
  if (name.find('/', slash + 1) != std::string_view::npos) return false;
  return valid_part(name.substr(0, slash), name.size()) && valid_part(name.substr(slash + 1), 96);
}

ModelName classify_model_name(const std::string& name, const fs::path& base_dir,
                              const std::vector<std::string>& presets) {
  ModelName m;
  m.name = name;
  const fs::path written(name);
  const fs::path path = written.is_relative() && !base_dir.empty() ? base_dir / written : written;
  std::error_code ec;
  if (!name.empty() && fs::exists(path, ec)) {
    m.kind = ModelName::Kind::path;
    m.path = path.lexically_normal();
    return m;
  }
  m.path = fs::absolute(path, ec).lexically_normal();
  if (std::find(presets.begin(), presets.end(), name) != presets.end())
    m.kind = ModelName::Kind::preset;
  else if (name.find('/') != std::string::npos && is_hub_repo_id(name))
    m.kind = ModelName::Kind::hub_id;
  return m;
}

std::string model_name_not_found(const ModelName& m, std::string_view expected) {
  return "'" + m.name + "' does not exist: no folder '" + m.name + "' at " + m.path.string() +
         ", and it is not a hub repository id (NAMESPACE/NAME, like google/bit-50); expected " +
         std::string(expected);
}

ResolvedModel resolve_model_name(const std::string& name, const ModelNameRules& rules,
                                 const HubFetch& fetch) {
  if (name.empty()) throw ModelNotFoundError("an empty model name; expected " + rules.expected);
  std::vector<std::string> presets;
  for (const auto& p : rules.presets) presets.push_back(p.first);
  const ModelName m = classify_model_name(name, rules.base_dir, presets);
  ResolvedModel r{m.kind, name, m.path, "", ""};
  if (m.kind == ModelName::Kind::none) throw ModelNotFoundError(model_name_not_found(m, rules.expected));
  if (m.kind == ModelName::Kind::path) return r;
  r.path.clear();
  if (m.kind == ModelName::Kind::preset) {
    r.preset = name;
    r.hub_id = rules.presets.at(name);
    if (r.hub_id.empty()) return r;
    if (!fetch)
      throw ModelNotFoundError("preset " + name + " would fetch " + r.hub_id +
                               " from the hub, and this program has no hub client; give a local folder");
  } else {
    r.hub_id = name;
    if (!fetch)
      throw ModelNotFoundError(
          "'" + name + "' is not a local file or folder (looked for " + m.path.string() +
          "), and this program has no hub client to fetch it as a hub id; download it first "
          "(visbone download) and give the folder");
  }
  r.path = fetch(r.hub_id);
  return r;
}

}  // namespace visbone
