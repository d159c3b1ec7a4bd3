#include "visbone/transfer/fit_config.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "visbone/core/errors.h"
#include "visbone/yaml/yaml_limits.h"
#include "visbone/yaml/yaml_scalars.h"

namespace visbone::transfer {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kTopKeys = {"model",   "preprocess",  "fit",        "batch_size",
                                           "threads", "concurrency", "max_pixels", "plugins"};
const std::vector<std::string> kFitKeys = {"head",      "C",    "folds",    "max_iter",
                                           "tolerance", "seed", "cache_dir"};

std::string at(const YAML::Node& n, const fs::path& file) {
  const auto m = n.Mark();
  return file.string() + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

[[noreturn]] void fail(const YAML::Node& n, const fs::path& file, const std::string& msg) {
  throw ConfigError(at(n, file) + ": " + msg);
}

void check_keys(const YAML::Node& map, const std::vector<std::string>& allowed, const fs::path& file,
                const std::string& section) {
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    bool ok = false;
    for (const auto& a : allowed) ok = ok || a == key;
    if (!ok) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(kv.first, file, section + "unknown key '" + key + "' (expected one of: " + list + ")");
    }
  }
}

// Scalars typed as every visbone YAML reader types them (core/yaml: YAML 1.2's core schema).
std::string text(const YAML::Node& n, const fs::path& file, const std::string& key, const std::string& what) {
  if (!n.IsScalar()) fail(n, file, "fit." + key + ": expected " + what);
  return n.Scalar();
}

double number(const YAML::Node& n, const fs::path& file, const std::string& key, const std::string& what) {
  const auto v = yaml::scalar_number(n);
  if (!v) fail(n, file, "fit." + key + ": expected " + what);
  return *v;
}

std::int64_t integer(const YAML::Node& n, const fs::path& file, const std::string& key,
                     const std::string& what, std::int64_t min, std::int64_t max) {
  const auto v = yaml::scalar_integer(n);
  if (!v) fail(n, file, "fit." + key + ": expected " + what);
  if (*v < min || *v > max) fail(n, file, "fit." + key + ": " + std::to_string(*v) + ", expected " + what);
  return *v;
}

fs::path default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "visbone" / "features";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "visbone" / "features";
  return fs::temp_directory_path() / "visbone-features";
}

FitSettings parse_fit(const YAML::Node& n, const fs::path& file, const fs::path& base) {
  FitSettings s;
  s.cache_dir = default_cache_dir();
  if (!n || n.IsNull()) return s;
  if (!n.IsMap()) fail(n, file, "fit: expected a mapping such as {C: [0.1, 1, 10], folds: 5}");
  check_keys(n, kFitKeys, file, "fit: ");
  if (const auto v = n["head"]) {
    const auto h = text(v, file, "head", "probe or prototype");
    if (h == "probe")
      s.head = HeadKind::probe;
    else if (h == "prototype")
      s.head = HeadKind::prototype;
    else
      fail(v, file, "fit.head: '" + h + "', expected probe or prototype");
  }
  if (const auto v = n["C"]) {
    s.cs.clear();
    if (v.IsSequence())
      for (const auto& e : v) s.cs.push_back(number(e, file, "C", "a positive number"));
    else
      s.cs.push_back(number(v, file, "C", "a positive number or a list of them"));
    if (s.cs.empty()) fail(v, file, "fit.C: an empty list; give at least one value");
    for (std::size_t i = 0; i < s.cs.size(); ++i)
      if (!(s.cs[i] > 0) || !std::isfinite(s.cs[i]))
        fail(v.IsSequence() ? v[i] : v, file,
             "fit.C: " + std::to_string(s.cs[i]) + ", expected a positive number");
  }
  if (const auto v = n["folds"]) {
    s.folds = static_cast<int>(integer(v, file, "folds", "an integer >= 2", 2, 1000000));
  }
  if (const auto v = n["max_iter"]) {
    s.solver.max_iter = static_cast<int>(integer(v, file, "max_iter", "an integer >= 1", 1, 1000000000));
  }
  if (const auto v = n["tolerance"]) {
    s.solver.tolerance = number(v, file, "tolerance", "a positive number");
    if (!(s.solver.tolerance > 0)) fail(v, file, "fit.tolerance: expected a positive number");
  }
  if (const auto v = n["seed"])
    s.seed = static_cast<std::uint64_t>(
        integer(v, file, "seed", "a non-negative integer", 0, std::numeric_limits<std::int64_t>::max()));
  if (const auto v = n["cache_dir"]) {
    fs::path p = text(v, file, "cache_dir", "a folder path");
    s.cache_dir = p.is_absolute() ? p : base / p;
  }
  return s;
}

}  // namespace

FitConfig load_fit_config(const fs::path& file) {
  FitConfig c;
  c.file = file;
  c.base_dir = fs::absolute(file).parent_path();
  c.text = yaml::read_yaml_file(file);
  c.root = yaml::load_yaml(c.text, file.string());
  if (!c.root.IsMap())
    throw ConfigError(file.string() + ": expected a mapping with model:, preprocess: and fit:");
  if (c.root.Style() != YAML::EmitterStyle::Block)
    throw ConfigError(file.string() + ": write the top level as a block mapping (one key per line)");
  check_keys(c.root, kTopKeys, file, "");
  if (!c.root["model"])
    throw ConfigError(file.string() + ": missing key 'model' (e.g. {checkpoint: FOLDER_OR_HUB_ID})");
  c.fit = parse_fit(c.root["fit"], file, c.base_dir);
  return c;
}

std::string FitConfig::pipeline_yaml(const std::vector<fs::path>& images, const fs::path& output) const {
  // Blank the fit: section's lines: from its key to the line before the next top-level key.
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  int first = -1, end = static_cast<int>(lines.size());
  for (const auto& kv : root) {
    const int line = kv.first.Mark().line;
    if (kv.first.Scalar() == "fit")
      first = line;
    else if (first >= 0 && line > first && line < end)
      end = line;
  }
  std::ostringstream out;
  for (int i = 0; i < static_cast<int>(lines.size()); ++i)
    out << (first >= 0 && i >= first && i < end ? "" : lines[static_cast<std::size_t>(i)]) << "\n";
  YAML::Emitter e;
  e << YAML::Flow << YAML::BeginSeq;
  for (const auto& p : images) e << fs::absolute(p).string();
  e << YAML::EndSeq;
  out << "source: {type: files, paths: " << e.c_str() << "}\n";
  out << "heads: [{type: embedding, name: features}]\n";
  YAML::Emitter o;
  o << fs::absolute(output).string();
  out << "sinks: [{type: safetensors, path: " << o.c_str() << ", heads: [features], stack: true}]\n";
  return out.str();
}

}  // namespace visbone::transfer
