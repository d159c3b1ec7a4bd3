#include "visbone/pipeline/config.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "visbone/bit/bit_presets.h"
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

std::string_view to_string(SourceType t) {
  switch (t) {
    case SourceType::files:
      return "files";
    case SourceType::folder:
      return "folder";
    case SourceType::glob:
      return "glob";
    case SourceType::list:
      return "list";
    case SourceType::video:
      return "video";
    case SourceType::plugin:
      return "plugin";
  }
  return "?";
}

std::string_view to_string(SinkType t) {
  switch (t) {
    case SinkType::jsonl:
      return "jsonl";
    case SinkType::csv:
      return "csv";
    case SinkType::safetensors:
      return "safetensors";
    case SinkType::annotated_images:
      return "annotated_images";
    case SinkType::heatmap:
      return "heatmap";
    case SinkType::contact_sheet:
      return "contact_sheet";
    case SinkType::plugin:
      return "plugin";
  }
  return "?";
}

fs::path PipelineConfig::output_path(const fs::path& p) const {
  const fs::path out = p.is_absolute() ? p : ((output_dir ? *output_dir : base_dir) / p).lexically_normal();
  if (!shard) return out;
  for (const auto& s : sinks)
    if ((s.type == SinkType::annotated_images || s.type == SinkType::heatmap) && s.path == p) return out;
  return part_path(out, *shard);
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
const std::vector<std::string> kSourceTypes = {"files", "folder", "glob", "list", "video"};
const std::vector<std::string> kSinkTypes = {"jsonl",   "csv",          "safetensors", "annotated_images",
                                             "heatmap", "contact_sheet"};
// preprocessor_config.json keys that change what BitImageProcessor computes.
const std::vector<std::string> kProcessorKeys = {
    "do_convert_rgb", "do_resize",      "size",         "resample",   "do_center_crop", "crop_size",
    "do_rescale",     "rescale_factor", "do_normalize", "image_mean", "image_std"};

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

std::vector<std::string> extension_list(const MapReader& r) {
  std::vector<std::string> out;
  if (const auto v = r.string_list("extensions")) {
    for (auto e : *v) {
      e = lower(e);
      if (e.front() != '.') e.insert(e.begin(), '.');
      out.push_back(e);
    }
  }
  return out;
}

SourceConfig parse_source(const YAML::Node& node, const std::string& file, const fs::path& base,
                          const std::string& context) {
  MapReader r(node, file, context);
  SourceConfig s;
  s.place = r.place();
  if (!r.has("type"))
    r.fail_missing("type", "one of " + detail::join(kSourceTypes) + ", or a plugin's source");
  const std::string type = *r.string("type");
  const auto known = std::find(kSourceTypes.begin(), kSourceTypes.end(), type);
  if (known == kSourceTypes.end()) {
    // Possibly a plugin's; the registry knows once plugins are loaded, and checks its keys then.
    s.type = SourceType::plugin;
    s.type_name = type;
    s.spec = node;
    return s;
  }
  s.type = static_cast<SourceType>(known - kSourceTypes.begin());
  switch (s.type) {
    case SourceType::files: {
      r.check_keys({"type", "paths", "labels_from_folders"});
      if (!r.has("paths")) r.fail_missing("paths", "a list of image files");
      const auto paths = r.string_list("paths");  // a named optional: ranging over *temporary would dangle
      for (const auto& p : *paths) s.paths.push_back(resolve(base, p));
      if (s.paths.empty()) r.fail_value("paths", "at least one image file");
      break;
    }
    case SourceType::folder:
      r.check_keys({"type", "path", "recursive", "extensions", "labels_from_folders"});
      s.path = resolve(base, r.required_string("path", "the folder of images"));
      s.recursive = r.boolean("recursive").value_or(true);
      s.extensions = extension_list(r);
      break;
    case SourceType::glob:
      r.check_keys({"type", "pattern", "labels_from_folders"});
      s.pattern =
          resolve(base, r.required_string("pattern", "a path pattern such as images/**/*.png")).string();
      break;
    case SourceType::list:
      r.check_keys({"type", "path", "labels_from_folders"});
      s.path = resolve(base, r.required_string("path", "a text file with one image path per line"));
      break;
    case SourceType::video:
      r.check_keys({"type", "path", "every", "max_frames"});
      s.path = resolve(base, r.required_string("path", "a video file"));
      s.every = static_cast<int>(r.integer("every", 1, 1'000'000).value_or(1));
      s.max_frames = r.integer("max_frames", 0, std::int64_t{1} << 40).value_or(0);
      break;
    case SourceType::plugin:
      break;
  }
  s.labels_from_folders = r.boolean("labels_from_folders").value_or(false);
  return s;
}

ModelConfig parse_model(const YAML::Node& node, const std::string& file) {
  MapReader r(node, file, "model");
  ModelConfig m;
  m.place = r.place();
  if (r.has("preset") && r.has("type"))
    r.fail_at(r.get("preset"), "model: give either 'type' or 'preset' (shorthand for type), not both");
  if (const auto preset = r.string("preset")) m.type = *preset;
  if (const auto type = r.string("type")) m.type = *type;
  // The BiT backbones' keys are known here, so a typo is named before anything loads; other backbone types
  // (plugins) check their own keys when built.
  const bool is_bit = m.type == "bit" || std::any_of(bit::bit_presets().begin(), bit::bit_presets().end(),
                                                     [&](const bit::BitPreset& p) { return p.name == m.type; });
  if (is_bit)
    r.check_keys({"type", "preset", "checkpoint", "revision", "config", "weights", "out_features", "out_indices",
                  "semantics", "winograd", "algorithm", "precision"});
  if (!r.has("checkpoint") && !r.has("config") && !r.has("preset") && m.type == "bit")
    r.fail_missing("checkpoint", "a checkpoint folder or a hub id such as google/bit-50; or give 'preset'");
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
    return p;
  }
  MapReader r(node, file, "preprocess");
  std::vector<std::string> allowed = kProcessorKeys;
  allowed.insert(allowed.begin(), "from");
  r.check_keys(allowed);
  if (const auto from = r.string("from")) {
    p.from = from_value(*from);
    p.from_given = true;
  }
  for (const auto& kv : node)
    if (kv.first.Scalar() != "from") p.overrides[kv.first.Scalar()] = kv.second;
  return p;
}

HeadConfig parse_head(const YAML::Node& node, const std::string& file, const std::string& context) {
  MapReader r(node, file, context);
  HeadConfig h;
  h.place = r.place();
  h.type = r.required_string("type", "a head type such as classification, feature_maps or embedding");
  h.name = r.string("name").value_or(h.type);
  h.spec = node;
  return h;
}

SinkConfig parse_sink(const YAML::Node& node, const std::string& file, const std::string& context) {
  MapReader r(node, file, context);
  SinkConfig s;
  s.place = r.place();
  if (!r.has("type")) r.fail_missing("type", "one of " + detail::join(kSinkTypes) + ", or a plugin's sink");
  const std::string type = *r.string("type");
  const auto known = std::find(kSinkTypes.begin(), kSinkTypes.end(), type);
  if (known == kSinkTypes.end()) {
    s.type = SinkType::plugin;
    s.type_name = type;
    s.spec = node;
    return s;
  }
  s.type = static_cast<SinkType>(known - kSinkTypes.begin());
  std::string path_what = "the file to write";
  switch (s.type) {
    case SinkType::jsonl:
      r.check_keys({"type", "path"});
      break;
    case SinkType::csv:
      r.check_keys({"type", "path", "head", "top_k"});
      break;
    case SinkType::safetensors:
      r.check_keys({"type", "path", "heads", "stack"});
      break;
    case SinkType::annotated_images:
      r.check_keys({"type", "path", "head", "top_k", "min_size", "format"});
      path_what = "the folder to write images to";
      break;
    case SinkType::heatmap:
      r.check_keys({"type", "path", "stage", "head", "alpha", "min_size", "format"});
      path_what = "the folder to write images to";
      break;
    case SinkType::contact_sheet:
      r.check_keys({"type", "path", "head", "columns", "tile", "max_images"});
      path_what = "the image file to write";
      break;
    case SinkType::plugin:
      break;
  }
  s.path = r.required_string("path", path_what);
  s.head = r.string("head").value_or("");
  s.heads = r.string_list("heads").value_or(std::vector<std::string>{});
  s.stack = r.boolean("stack").value_or(false);
  if (s.type == SinkType::heatmap) s.stage = r.required_string("stage", "the stage to draw, e.g. stage3");
  s.alpha = r.number("alpha", 0.0, 1.0).value_or(0.5);
  s.top_k = static_cast<int>(r.integer("top_k", 1, 100'000).value_or(0));
  s.min_size = static_cast<int>(r.integer("min_size", 1, 8192).value_or(256));
  s.columns = static_cast<int>(r.integer("columns", 1, 1000).value_or(0));
  s.tile = static_cast<int>(r.integer("tile", 8, 1024).value_or(64));
  s.max_images = r.integer("max_images", 1, 100'000).value_or(1000);
  s.format = r.choice("format", {"png", "jpg"}).value_or("png");
  return s;
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

PipelineConfig parse_config(std::string_view yaml, const fs::path& file, const YamlLimits& limits) {
  const std::string where = file.string();
  check_yaml_size(yaml, where, limits);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    throw ConfigError(where + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
  }
  if (!root.IsDefined() || root.IsNull())
    throw ConfigError(where + ": the config is empty; expected a mapping");
  // Before anything walks the document: the specs kept for the registry are walked again when the pipeline
  // is built, and an alias bomb or deep nesting must be stopped here.
  check_yaml_limits(root, where, limits);

  PipelineConfig c;
  c.file = file;
  c.base_dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  const fs::path& base = c.base_dir;

  MapReader top(root, where, "");
  top.check_keys(kTopKeys);

  if (top.has("source") && top.has("sources"))
    top.fail_at(top.get("sources"), "give either 'source' (one) or 'sources' (a list), not both");
  if (top.has("source")) {
    c.sources.push_back(parse_source(top.get("source"), where, base, "source"));
  } else if (top.has("sources")) {
    c.sources = parse_list<SourceConfig>(top, "sources", [&](const YAML::Node& n, const std::string& ctx) {
      return parse_source(n, where, base, ctx);
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
    c.sinks = parse_list<SinkConfig>(
        top, "sinks", [&](const YAML::Node& n, const std::string& ctx) { return parse_sink(n, where, ctx); });

  if (const auto v = top.string("output_dir")) c.output_dir = resolve(base, *v);
  if (const auto v = top.string("summary")) c.summary = fs::path(*v);
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

PipelineConfig load_config(const fs::path& file, const YamlLimits& limits) {
  // Configs are small; the cap keeps a wrong path (a video, a device) from being read whole.
  return parse_config(read_text_file(file, limits.max_bytes), file, limits);
}

SourceConfig source_for_path(const std::string& path, const fs::path& base) {
  SourceConfig s;
  s.place.file = "--input";
  if (path.find_first_of("*?[") != std::string::npos) {
    s.type = SourceType::glob;
    s.pattern = resolve(base, path).string();
    return s;
  }
  s.path = resolve(base, path);
  const std::string ext = lower(s.path.extension().string());
  if (fs::is_directory(s.path)) {
    s.type = SourceType::folder;
  } else if (std::find(kVideoExtensions.begin(), kVideoExtensions.end(), ext) != kVideoExtensions.end()) {
    s.type = SourceType::video;
  } else if (ext == ".txt" || ext == ".lst") {
    s.type = SourceType::list;
  } else {
    s.type = SourceType::files;
    s.paths = {s.path};
    s.path.clear();
  }
  return s;
}

void apply_overrides(PipelineConfig& config, const Overrides& o) {
  const fs::path cwd = fs::current_path();
  if (o.input) {
    if (o.input->empty()) throw ConfigError("--input: expected a path, found an empty string");
    SourceConfig s = source_for_path(*o.input, cwd);
    std::error_code ec;
    if (s.type != SourceType::glob && !fs::exists(s.type == SourceType::files ? s.paths.front() : s.path, ec))
      throw ConfigError("--input: " + fs::absolute(*o.input, ec).lexically_normal().string() +
                        " does not exist");
    // Options that describe the data rather than its location carry over from the config's source.
    if (!config.sources.empty()) {
      const SourceConfig& old = config.sources.front();
      s.labels_from_folders = old.labels_from_folders && s.type != SourceType::video;
      if (s.type == SourceType::folder && old.type == SourceType::folder) {
        s.recursive = old.recursive;
        s.extensions = old.extensions;
      }
      if (s.type == SourceType::video && old.type == SourceType::video) {
        s.every = old.every;
        s.max_frames = old.max_frames;
      }
    }
    config.sources = {s};
  }
  if (o.output) {
    if (o.output->empty()) throw ConfigError("--output: expected a folder, found an empty string");
    config.output_dir = resolve(cwd, *o.output);
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
