#include "visbone/serve/config.h"

#include "visbone/core/errors.h"
#include "visbone/registry/params.h"
#include "visbone/yaml/yaml_limits.h"

namespace visbone::serve {
namespace fs = std::filesystem;
using registry::Params;

namespace {

// Keys of a `visbone run` config that a server has no use for; accepted so one file does both.
const char* const kPipelineOnlyKeys[] = {"source",      "sources",    "sinks",         "output_dir",
                                         "summary",     "batch_size", "threads",       "max_in_flight",
                                         "concurrency", "max_pixels", "fail_on_error", "plugins"};

template <typename T>
T positive(const Params& p, const char* key, T fallback, T minimum = 1) {
  const T v = p.get<T>(key, fallback);
  if (v < minimum) p.fail(key, "must be at least " + std::to_string(minimum) + ", got " + std::to_string(v));
  return v;
}

ServeOptions parse_options(const Params& p) {
  ServeOptions o;
  o.host = p.get<std::string>("host", o.host);
  o.port = positive(p, "port", o.port, 0);
  if (o.port > 65535) p.fail("port", "must be at most 65535");
  o.dynamic_batching = p.get<bool>("dynamic_batching", o.dynamic_batching);
  o.max_batch_size = positive(p, "max_batch_size", o.max_batch_size);
  o.preferred_batch_size = positive(p, "preferred_batch_size", o.preferred_batch_size, 0);
  if (o.preferred_batch_size > o.max_batch_size)
    p.fail("preferred_batch_size", "must not exceed max_batch_size");
  o.max_queue_delay_microseconds =
      positive<std::int64_t>(p, "max_queue_delay_microseconds", o.max_queue_delay_microseconds, 0);
  o.max_queue_size = positive(p, "max_queue_size", o.max_queue_size);
  o.max_body_bytes = positive<std::int64_t>(p, "max_body_bytes", o.max_body_bytes);
  o.max_pixels = positive<std::int64_t>(p, "max_pixels", o.max_pixels);
  o.max_connections = positive(p, "max_connections", o.max_connections);
  o.header_timeout_seconds = p.get<double>("header_timeout_seconds", o.header_timeout_seconds);
  o.read_timeout_seconds = p.get<double>("read_timeout_seconds", o.read_timeout_seconds);
  if (o.header_timeout_seconds <= 0) p.fail("header_timeout_seconds", "must be positive");
  if (o.read_timeout_seconds <= 0) p.fail("read_timeout_seconds", "must be positive");
  o.io_threads = positive(p, "io_threads", o.io_threads);
  p.check_all_read("the serve: section");
  return o;
}

ModelSection parse_model(const Params& p, const std::string& name) {
  ModelSection m;
  m.name = name;
  if (!p.has("model")) p.fail("model", "missing: the backbone to serve, e.g. {checkpoint: FOLDER_OR_HUB_ID}");
  m.model = p.node()["model"];
  if (!m.model.IsMap()) p.fail("model", "expected a mapping such as {checkpoint: FOLDER_OR_HUB_ID}");
  if (p.has("preprocess")) {
    // As `visbone run` takes it (pipeline::parse_preprocess reads it when the model is built).
    m.preprocess = p.node()["preprocess"];
    if (!m.preprocess.IsScalar() && !m.preprocess.IsMap())
      p.fail("preprocess", "expected checkpoint, defaults, a path, or a mapping such as {from: defaults}");
  }
  if (p.has("heads")) {
    m.heads = p.node()["heads"];
    if (!m.heads.IsSequence()) p.fail("heads", "expected a list such as [{type: classification, top_k: 5}]");
  }
  return m;
}

}  // namespace

ServeConfig parse_serve_config(const std::string& yaml, const fs::path& file) {
  ServeConfig c;
  c.file = file;
  c.base_dir = file.parent_path();
  const Params top = Params::parse(yaml, file.string(), c.base_dir);
  c.options = top.has("serve") ? parse_options(top.child("serve")) : ServeOptions{};
  if (top.has("models")) {
    if (top.has("model"))
      top.fail("models", "give either 'model' (served as 'default') or 'models', not both");
    const YAML::Node models = top.node()["models"];
    if (!models.IsMap() || models.size() == 0)
      top.fail("models", "expected a mapping of names to {model: ..., preprocess: ..., heads: ...}");
    const Params all = top.child("models");
    for (const auto& kv : models) {
      const std::string name = kv.first.Scalar();
      if (name.empty() || name.find_first_of("/?#: ") != std::string::npos)
        all.fail(name, "a model name must be non-empty without '/', '?', '#', ':' or spaces");
      (void)all.has(name);
      Params one = all.child(name);
      c.models.push_back(parse_model(one, name));
      one.check_all_read("model '" + name + "'");
    }
  } else {
    c.models.push_back(parse_model(top, "default"));
  }
  for (const char* key : kPipelineOnlyKeys) (void)top.has(key);
  top.check_all_read("visbone serve's config");
  return c;
}

ServeConfig load_serve_config(const fs::path& file) {
  return parse_serve_config(yaml::read_yaml_file(file), file);
}

}  // namespace visbone::serve
