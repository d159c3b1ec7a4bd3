// The built-in sources, one per file, each registering itself (name, parameters, factory) through the
// same registrar interface a plugin uses.
#pragma once

#include <filesystem>
#include <string>

#include "visbone/registry/params.h"
#include "visbone/registry/registry.h"

namespace visbone::pipeline {

void register_files_source(registry::ComponentRegistrar& r);
void register_folder_source(registry::ComponentRegistrar& r);
void register_glob_source(registry::ComponentRegistrar& r);
void register_list_source(registry::ComponentRegistrar& r);
void register_video_source(registry::ComponentRegistrar& r);

namespace detail {

// The `labels_from_folders` parameter the file sources share.
registry::ParamInfo labels_param();

}  // namespace detail
}  // namespace visbone::pipeline
