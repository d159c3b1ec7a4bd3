#include "visbone/api/pipeline.h"

#include "visbone/api/heads.h"
#include "visbone/api/register_builtins.h"

namespace visbone {

std::unique_ptr<pipeline::Pipeline> load_pipeline(const std::filesystem::path& yaml_file,
                                                  const pipeline::Overrides& overrides) {
  auto config = pipeline::load_config(yaml_file);
  pipeline::apply_overrides(config, overrides);
  return std::make_unique<pipeline::Pipeline>(std::move(config), register_pipeline_builtins, &default_registry());
}

std::unique_ptr<pipeline::Pipeline> make_pipeline(std::string_view yaml,
                                                  const std::filesystem::path& base_dir) {
  // parse_config resolves relative paths against its file argument's folder; the file itself is only named.
  const std::filesystem::path dir = base_dir.empty() ? std::filesystem::current_path() : base_dir;
  return std::make_unique<pipeline::Pipeline>(pipeline::parse_config(yaml, dir / "<pipeline>"), register_pipeline_builtins,
                                              &default_registry());
}

}  // namespace visbone
