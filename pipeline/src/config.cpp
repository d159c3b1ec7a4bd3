#include "visbone/pipeline/config.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "yaml_fields.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
using detail::MapReader;

std::string ConfigPlace::str() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

fs::path PipelineConfig::output_folder(const fs::path& p) const {
  return p.is_absolute() ? p : ((output_dir ? *output_dir : base_dir) / p).lexically_normal();
}

fs::path PipelineConfig::output_path(const fs::path& p) const {
  return shard ? part_path(output_folder(p), *shard) : output_folder(p);
}

int PipelineConfig::in_flight(bool images_kept) const {
  if (max_in_flight > 0) return max_in_flight;
  // Room for one batch filling while another runs and others drain through heads and sinks, plus what the
  // decode and preprocess workers hold. Decoded images kept for drawing sinks are the largest thing an item
  // carries, so fewer items are let in then.
  return (images_kept ? 2 : 4) * batch_size + concurrency.decode + concurrency.preprocess;
}

namespace {

const std::vector<std::string> kTopKeys = {"source",     "sources",       "model",         "preprocess",
                                           "heads",      "sinks",         "output_dir",    "summary",
                                           "batch_size", "threads",       "max_in_flight", "concurrency",
                                           "max_pixels", "fail_on_error", "plugins"};
// preprocessor_config.json keys that change what BitImageProcessor computes.
const std::vector<std::string> kProcessorKeys = {
    "do_convert_rgb", "do_resize",      "size",         "resample",   "do_center_crop", "crop_size",
    "do_rescale",     "rescale_factor", "do_normalize", "image_mean", "image_std"};

constexpr const char* kSourceExamples = "folder, files, glob, list or video";

const std::vector<std::string> kVideoExtensions = {".mp4",  ".avi", ".mov", ".mkv",
                                                   ".webm", ".m4v", ".mpg", ".mpeg"};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

fs::path resolve(const fs::path& base, const std::string& p) {
  const fs::path path(p);
  return (path.is_absolute() ? path : base / path).lexically_normal();
}

// A source or sink: its `type` and the mapping, kept for the registry (which checks the other keys).
ComponentConfig parse_component(const YAML::Node& node, const std::string& file, const std::string& context,
                                const std::string& kind, const std::string& examples) {
  MapReader r(node, file, context);
  ComponentConfig c;
  c.place = r.place();
  c.type = r.required_string("type", "a " + kind + " type such as " + examples + ", or a plugin's");
  c.spec = node;
  return c;
}

}  // namespace

ModelConfig parse_model(const YAML::Node& node, const std::string& file) {
  MapReader r(node, file, "model");
  ModelConfig m;
  m.place = r.place();
  if (r.has("preset") && r.has("type"))
    r.fail_at(r.get("preset"), "model: give either 'type' or 'preset' (shorthand for type), not both");
  if (const auto preset = r.string("preset")) m.type = *preset;
  if (const auto type = r.string("type")) m.type = *type;
  // The backbone's own keys are checked against its registry entry when the pipeline is built (assemble.cpp),
  // before anything is loaded or fetched for it.
  m.spec = node;
  return m;
}

PreprocessConfig parse_preprocess(const YAML::Node& node, const std::string& file, const fs::path& base) {
  PreprocessConfig p;
  p.place = detail::place_of(node, file);
  p.overrides = YAML::Node(YAML::NodeType::Map);
  const auto from_value = [&](const std::string& v) {
    return (v == "checkpoint" || v == "defaults") ? v : resolve(base, v).string();
  };
  if (node.IsScalar()) {
    p.from = from_value(node.Scalar());
    p.from_given = true;
    p.from_text = node.Scalar();
    p.from_place = p.place;
    return p;
  }
  MapReader r(node, file, "preprocess");
  std::vector<std::string> allowed = kProcessorKeys;
  allowed.insert(allowed.begin(), "from");
  r.check_keys(allowed);
  if (const auto from = r.string("from")) {
    p.from = from_value(*from);
    p.from_given = true;
    p.from_text = *from;
    p.from_place = r.place("from");
  }
  for (const auto& kv : node)
    if (kv.first.Scalar() != "from") p.overrides[kv.first.Scalar()] = kv.second;
  return p;
}

namespace {

HeadConfig parse_head(const YAML::Node& node, const std::string& file, const std::string& context) {
  MapReader r(node, file, context);
  HeadConfig h;
  h.place = r.place();
  h.type = r.required_string("type", "a head type such as classification, feature_maps or embedding");
  h.name = r.string("name").value_or(h.type);
  h.spec = node;
  return h;
}

template <typename T, typename F>
std::vector<T> parse_list(const MapReader& top, const std::string& key, F parse_one) {
  const YAML::Node n = top.get(key);
  if (!n.IsSequence()) top.fail_value(key, "a list of mappings");
  std::vector<T> out;
  for (std::size_t i = 0; i < n.size(); ++i)
    out.push_back(parse_one(n[i], key + "[" + std::to_string(i) + "]"));
  return out;
}

}  // namespace

PipelineConfig parse_config(std::string_view yaml, const fs::path& file, const yaml::YamlLimits& limits) {
  const std::string where = file.string();
  // Bounded before anything walks the document: the specs kept for the registry are walked again when the
  // pipeline is built, and an alias bomb or deep nesting must be stopped here.
  const YAML::Node root = yaml::load_yaml(yaml, where, limits);
  if (!root.IsDefined() || root.IsNull())
    throw ConfigError(where + ": the config is empty; expected a mapping");

  PipelineConfig c;
  c.file = file;
  // Absolute and clean, so every path resolved against it reads the same wherever the run started and
  // whichever way the config was named (a record's path: /w/data/digits/0/a.png, not configs/../data/...),
  // as --input's paths do.
  std::error_code ec;
  c.base_dir = fs::absolute(file, ec).lexically_normal().parent_path();
  if (ec) c.base_dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  const fs::path& base = c.base_dir;

  MapReader top(root, where, "");
  top.check_keys(kTopKeys);

  if (top.has("source") && top.has("sources"))
    top.fail_at(top.get("sources"), "give either 'source' (one) or 'sources' (a list), not both");
  if (top.has("source")) {
    c.sources.push_back(parse_component(top.get("source"), where, "source", "source", kSourceExamples));
  } else if (top.has("sources")) {
    c.sources = parse_list<ComponentConfig>(top, "sources", [&](const YAML::Node& n, const std::string& ctx) {
      return parse_component(n, where, ctx, "source", kSourceExamples);
    });
    if (c.sources.empty()) top.fail_value("sources", "at least one source");
  } else {
    top.fail_missing("source", "where the images come from, e.g. {type: folder, path: images}");
  }

  if (!top.has("model")) top.fail_missing("model", "{checkpoint: FOLDER_OR_HUB_ID} or {preset: NAME}");
  c.model = parse_model(top.get("model"), where);

  if (top.has("preprocess")) {
    c.preprocess = parse_preprocess(top.get("preprocess"), where, base);
  } else {
    c.preprocess.place = top.place();
    c.preprocess.overrides = YAML::Node(YAML::NodeType::Map);
  }

  if (!top.has("heads")) top.fail_missing("heads", "a list such as [{type: classification, top_k: 5}]");
  c.heads = parse_list<HeadConfig>(
      top, "heads", [&](const YAML::Node& n, const std::string& ctx) { return parse_head(n, where, ctx); });
  if (c.heads.empty()) top.fail_value("heads", "at least one head");
  // Head names become keys of the JSON Lines record, next to the record's own keys.
  std::set<std::string> names = {"index", "id", "path", "label", "ok", "width", "height", "stage", "error"};
  for (std::size_t i = 0; i < c.heads.size(); ++i) {
    if (names.insert(c.heads[i].name).second) continue;
    throw ConfigError(c.heads[i].place.str() + ": heads[" + std::to_string(i) + "]: a head named '" +
                      c.heads[i].name +
                      "' already exists (or is a reserved record key); give this one a different 'name'");
  }

  if (const auto plugins = top.string_list("plugins")) {
    for (const auto& p : *plugins) c.plugins.push_back(resolve(base, p));
    const YAML::Node list = top.get("plugins");
    for (std::size_t i = 0; i < c.plugins.size(); ++i)
      c.plugin_places.push_back(detail::place_of(list.IsSequence() ? list[i] : list, where));
  }
  if (top.has("sinks"))
    c.sinks = parse_list<ComponentConfig>(top, "sinks", [&](const YAML::Node& n, const std::string& ctx) {
      return parse_component(n, where, ctx, "sink", "jsonl, csv, safetensors or heatmap");
    });

  if (const auto v = top.string("output_dir")) {
    c.output_dir = resolve(base, *v);
    c.output_dir_place = detail::place_of(top.get("output_dir"), where);
  }
  if (const auto v = top.string("summary")) {
    c.summary = fs::path(*v);
    c.summary_place = detail::place_of(top.get("summary"), where);
  }
  c.batch_size = static_cast<int>(top.integer("batch_size", 1, 4096).value_or(8));
  c.threads = static_cast<int>(top.integer("threads", 0, 4096).value_or(0));
  c.max_in_flight = static_cast<int>(top.integer("max_in_flight", 1, 1'000'000).value_or(0));
  if (c.max_in_flight > 0 && c.max_in_flight < c.batch_size)
    top.fail_value("max_in_flight",
                   "at least batch_size (" + std::to_string(c.batch_size) + ") so a batch can fill");
  c.max_pixels = top.integer("max_pixels", 1, std::int64_t{1} << 40).value_or(0);
  c.fail_on_error = top.boolean("fail_on_error").value_or(true);
  if (top.has("concurrency")) {
    MapReader r(top.get("concurrency"), where, "concurrency");
    r.check_keys({"decode", "preprocess", "heads"});
    c.concurrency.decode = static_cast<int>(r.integer("decode", 1, 256).value_or(c.concurrency.decode));
    c.concurrency.preprocess =
        static_cast<int>(r.integer("preprocess", 1, 256).value_or(c.concurrency.preprocess));
    c.concurrency.heads = static_cast<int>(r.integer("heads", 1, 256).value_or(c.concurrency.heads));
  }
  return c;
}

PipelineConfig load_config(const fs::path& file, const yaml::YamlLimits& limits) {
  // Configs are small; the cap keeps a wrong path (a video, a device) from being read whole.
  return parse_config(yaml::read_yaml_file(file, limits), file, limits);
}

ComponentConfig source_for_path(const std::string& path, const fs::path& base) {
  ComponentConfig s;
  s.place.file = "--input";
  s.spec = YAML::Node(YAML::NodeType::Map);
  const fs::path resolved = resolve(base, path);
  const std::string ext = lower(resolved.extension().string());
  if (path.find_first_of("*?[") != std::string::npos) {
    s.type = "glob";
    s.spec["pattern"] = resolved.string();
  } else if (fs::is_directory(resolved)) {
    s.type = "folder";
  } else if (std::find(kVideoExtensions.begin(), kVideoExtensions.end(), ext) != kVideoExtensions.end()) {
    s.type = "video";
  } else if (ext == ".txt" || ext == ".lst") {
    s.type = "list";
  } else {
    s.type = "files";
    s.spec["paths"].push_back(resolved.string());
  }
  if (s.type != "glob" && s.type != "files") s.spec["path"] = resolved.string();
  s.spec["type"] = s.type;
  return s;
}

namespace {

// The path a source spec made by source_for_path names (its pattern for a glob).
fs::path spec_path(const ComponentConfig& s) {
  if (s.type == "files") return s.spec["paths"][0].Scalar();
  if (s.type == "glob") return s.spec["pattern"].Scalar();
  return s.spec["path"].Scalar();
}

}  // namespace

void apply_overrides(PipelineConfig& config, const Overrides& o) {
  const fs::path cwd = fs::current_path();
  if (o.input) {
    if (o.input->empty()) throw ConfigError("--input: expected a path, found an empty string");
    ComponentConfig s = source_for_path(*o.input, cwd);
    std::error_code ec;
    if (s.type != "glob" && !fs::exists(spec_path(s), ec))
      throw ConfigError("--input: " + fs::absolute(*o.input, ec).lexically_normal().string() +
                        " does not exist");
    // Options that describe the data rather than its location carry over from the config's source, when
    // the new source takes them.
    if (!config.sources.empty()) {
      const ComponentConfig& old = config.sources.front();
      std::vector<std::string> carried;
      if (s.type != "video") carried.push_back("labels_from_folders");
      if (s.type == old.type) carried.insert(carried.end(), {"recursive", "extensions", "every", "max_frames"});
      for (const auto& key : carried)
        if (const YAML::Node v = old.spec[key]; v && old.spec.IsMap()) s.spec[key] = YAML::Clone(v);
    }
    config.sources = {s};
  }
  if (o.output) {
    if (o.output->empty()) throw ConfigError("--output: expected a folder, found an empty string");
    config.output_dir = resolve(cwd, *o.output);
    config.output_dir_place = {"--output"};
  }
  if (o.batch_size) {
    if (*o.batch_size < 1 || *o.batch_size > 4096)
      throw ConfigError("--batch-size: expected an integer from 1 to 4096, found " +
                        std::to_string(*o.batch_size));
    config.batch_size = *o.batch_size;
    // A bound below the new batch size could never fill a batch; the command line wins, so the bound follows.
    if (config.max_in_flight > 0 && config.max_in_flight < config.batch_size) config.max_in_flight = 0;
  }
  if (o.threads) {
    if (*o.threads < 0 || *o.threads > 4096)
      throw ConfigError("--threads: expected an integer from 0 (all cores) to 4096, found " +
                        std::to_string(*o.threads));
    config.threads = *o.threads;
  }
}

}  // namespace visbone::pipeline
