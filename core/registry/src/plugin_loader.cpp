#include "visbone/registry/plugin_loader.h"

#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <boost/dll/library_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <string_view>

#include "visbone/registry/installed_plugins.h"
#include "visbone/registry/plugin_api.h"

namespace visbone::registry {
namespace fs = std::filesystem;
namespace {

// Components a plugin created run its code (vtables, deleters, tensor storage freed by it) and may outlive
// any registry, so libraries are never unloaded. Deliberately leaked: destroying it at exit would unload them
// while static destructors may still run their code.
std::vector<boost::dll::shared_library>& loaded_libraries() {
  static auto* libs = new std::vector<boost::dll::shared_library>;
  return *libs;
}
std::mutex& loader_mutex() {
  static std::mutex m;
  return m;
}

bool has_elf_header(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::array<char, 4> magic{};
  return in.read(magic.data(), magic.size()) && magic == std::array<char, 4>{'\x7f', 'E', 'L', 'F'};
}

// Reads the library's exported symbols from its file (Boost.DLL's library_info: no loading, none of its code
// runs) and refuses it unless it exports this build's entry point; one built against other headers says
// which fingerprint it was built for.
void check_entry_point(const fs::path& path) {
  std::vector<std::string> symbols;
  try {
    boost::dll::library_info info(path);
    symbols = info.symbols();
  } catch (const std::exception& e) {
    throw PluginError("plugin " + path.string() + ": cannot read its symbol table: " + e.what());
  }
  const std::string_view prefix = VISBONE_PLUGIN_ENTRY_POINT_PREFIX;
  std::vector<std::string> others;
  for (const auto& s : symbols) {
    if (s == VISBONE_PLUGIN_ENTRY_POINT_NAME) return;
    if (s.starts_with(prefix)) others.push_back(s.substr(prefix.size()));
  }
  const std::string ours = VISBONE_PLUGIN_ABI_FINGERPRINT_STRING;
  if (!others.empty()) {
    std::string theirs;
    for (const auto& o : others) theirs += (theirs.empty() ? "" : ", ") + o;
    throw PluginError("plugin " + path.string() + ": built against visbone plugin ABI fingerprint " + theirs +
                      ", this program's is " + ours + " (" VISBONE_PLUGIN_ABI_INPUTS
                      "); rebuild the plugin against this visbone's headers");
  }
  if (std::find(symbols.begin(), symbols.end(), "visbone_plugin_entry") != symbols.end())
    throw PluginError("plugin " + path.string() +
                      ": built for an older visbone (its entry point has no ABI fingerprint), this program's "
                      "fingerprint is " + ours + "; rebuild the plugin against this visbone's headers");
  throw PluginError("plugin " + path.string() + ": does not export the entry point '" VISBONE_PLUGIN_ENTRY_POINT_NAME
                    "'; a visbone plugin defines it with VISBONE_PLUGIN(...) from visbone/registry/plugin_api.h");
}

std::string or_unknown(const char* s) {
  return s && *s ? s : "(unnamed)";
}

}  // namespace

PluginInfo load_plugin(Registry& registry, const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) throw NotFoundError("plugin " + file.string() + ": no such file");
  if (!fs::is_regular_file(file, ec))
    throw PluginError("plugin " + file.string() + ": not a regular file (expected a shared library, .so)");
  const fs::path canonical = fs::canonical(file, ec);
  const fs::path path = ec ? fs::absolute(file) : canonical;
  for (const auto& p : registry.plugins_)
    if (p.file == path) return p;
  if (!has_elf_header(path))
    throw PluginError("plugin " + path.string() +
                      ": not a shared library (no ELF header); expected a .so built "
                      "against visbone's plugin_api.h");

  // Before loading anything: the entry point's name says which headers the plugin was built against.
  check_entry_point(path);

  std::lock_guard lock(loader_mutex());
  // Resolve every symbol now, so a library missing one fails here with the loader's message instead of
  // crashing the first time the function is called.
  boost::dll::shared_library lib(path, ec, boost::dll::load_mode::rtld_now);
  if (ec || !lib.is_loaded()) {
    const char* why = ::dlerror();
    throw PluginError("plugin " + path.string() +
                      ": the dynamic loader refused it: " + (why ? std::string(why) : ec.message()));
  }
  if (!lib.has(VISBONE_PLUGIN_ENTRY_POINT_NAME))
    throw PluginError("plugin " + path.string() + ": the loaded library has no '" VISBONE_PLUGIN_ENTRY_POINT_NAME
                      "' although its symbol table lists it");
  const auto entry = lib.get<const VisbonePluginDescriptor*()>(VISBONE_PLUGIN_ENTRY_POINT_NAME);
  const VisbonePluginDescriptor* d = entry();
  if (!d) throw PluginError("plugin " + path.string() + ": its entry point returned no descriptor");
  if (!d->register_components)
    throw PluginError("plugin " + path.string() + ": its descriptor has no register_components function");

  PluginInfo info{
      path, or_unknown(d->name), d->version ? d->version : "", d->description ? d->description : "", {}};
  Staging staging("plugin " + path.string());
  try {
    d->register_components(staging);
  } catch (const std::exception& e) {
    throw PluginError("plugin " + path.string() + " (" + info.name +
                      "): registering its components failed: " + e.what());
  }
  // Keep the library before committing: the committed factories are its code.
  loaded_libraries().push_back(lib);
  staging.commit(registry);
  for (const auto& c : registry.list())
    if (c.origin == "plugin " + path.string()) info.components.push_back(c);
  registry.plugins_.push_back(info);
  return info;
}

std::vector<fs::path> expand_plugin_path(std::string_view search_path, const std::string& where) {
  std::vector<fs::path> out;
  std::size_t start = 0;
  while (start <= search_path.size()) {
    const std::size_t end = std::min(search_path.find(':', start), search_path.size());
    const fs::path entry(std::string(search_path.substr(start, end - start)));
    start = end + 1;
    if (entry.empty()) continue;
    std::error_code ec;
    if (fs::is_directory(entry, ec)) {
      std::vector<fs::path> libs;
      for (const auto& f : fs::directory_iterator(entry, ec))
        if (f.is_regular_file() && f.path().extension() == ".so") libs.push_back(f.path());
      if (ec) throw IoError(where + ": cannot list plugin folder " + entry.string() + ": " + ec.message());
      std::sort(libs.begin(), libs.end());
      out.insert(out.end(), libs.begin(), libs.end());
    } else if (fs::exists(entry, ec)) {
      out.push_back(entry);
    } else {
      throw NotFoundError(where + ": plugin entry " + entry.string() +
                          " does not exist (expected a .so file or a folder of them)");
    }
  }
  return out;
}

std::vector<PluginInfo> load_plugins_from_env(Registry& registry) {
  std::vector<PluginInfo> loaded;
  if (const auto installed = installed_plugin_dir())
    for (const auto& f : expand_plugin_path(installed->string(), "the installed plugin folder"))
      loaded.push_back(load_plugin(registry, f));
  const char* value = std::getenv(std::string(kPluginPathVariable).c_str());
  if (!value) return loaded;
  for (const auto& f : expand_plugin_path(value, std::string(kPluginPathVariable)))
    loaded.push_back(load_plugin(registry, f));
  return loaded;
}

}  // namespace visbone::registry
