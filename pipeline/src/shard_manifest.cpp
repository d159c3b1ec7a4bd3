#include "visbone/pipeline/shard_manifest.h"

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <tuple>

#include "visbone/core/errors.h"
#include "visbone/core/json_writer.h"
#include "visbone/hub/sha256.h"
#include "visbone/pipeline/atomic_file.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string visbone_version() {
  return VISBONE_VERSION;
}

std::string config_hash(const PipelineConfig& c) {
  hub::Sha256 h;
  std::ifstream in(c.file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  // Lengths between the parts, so moving bytes from one part to the next changes the hash.
  const auto part = [&](const std::string& s) {
    h.update(std::to_string(s.size()) + ":");
    h.update(s);
  };
  part(text.str());
  part(YAML::Dump(c.model.spec));
  part(std::to_string(c.batch_size));
  for (const auto& s : c.sources) part(s.type + " " + YAML::Dump(s.spec));
  return h.finish_hex();
}

namespace {

// The manifest's names of the merge rules (shared folders are never listed).
const std::vector<std::pair<MergeRule, std::string>> kMergeNames = {
    {MergeRule::per_part, "per_part"},
    {MergeRule::concatenate, "concatenate"},
    {MergeRule::concatenate_after_header, "concatenate_after_header"},
    {MergeRule::safetensors, "safetensors"},
    {MergeRule::safetensors_stacked, "safetensors_stacked"}};

std::string merge_name(MergeRule rule) {
  for (const auto& [r, name] : kMergeNames)
    if (r == rule) return name;
  throw Error("a shard manifest lists no shared folders");
}

}  // namespace

std::vector<ShardOutput> shard_outputs(const PipelineConfig& c, const std::vector<SinkOutputOf>& sinks) {
  std::vector<ShardOutput> out;
  if (!c.shard) return out;
  const fs::path dir = c.output_dir ? *c.output_dir : c.base_dir;
  const auto add = [&](std::string kind, MergeRule merge, const fs::path& part) {
    ShardOutput o;
    o.kind = std::move(kind);
    const fs::path whole = whole_path(part, *c.shard);
    // A file without a part name (a plugin's own choice) is every shard's: there is nothing to join.
    o.merge = whole == part ? MergeRule::per_part : merge;
    o.file = part.lexically_relative(dir).generic_string();
    o.merged = whole.lexically_relative(dir).generic_string();
    o.bytes = fs::file_size(part);
    o.sha256 = hub::sha256_file_hex(part);
    out.push_back(std::move(o));
  };
  // Per-input folders are shared by the shards as they are.
  for (const auto& s : sinks)
    if (s.output.merge != MergeRule::shared_folder) add(s.type, s.output.merge, s.output.path);
  if (c.summary) add("summary", MergeRule::per_part, c.output_path(*c.summary));
  return out;
}

Summary ShardManifest::counts() const {
  Summary s;
  s.items = ok + failed;
  s.ok = ok;
  s.failed = failed;
  s.labeled = labeled;
  s.correct = correct;
  s.unknown_labels = unknown_labels;
  return s;
}

void write_manifest(const fs::path& output_dir, const ShardManifest& m) {
  json::array ids, keys, unknown;
  for (const auto& id : m.ids) ids.emplace_back(id);
  for (const auto& k : m.content_keys) keys.emplace_back(k);
  for (const auto& l : m.unknown_labels) unknown.emplace_back(l);
  json::array outputs;
  for (const auto& o : m.outputs)
    outputs.push_back(json::object{{"kind", o.kind},
                                   {"merge", merge_name(o.merge)},
                                   {"file", o.file},
                                   {"merged", o.merged},
                                   {"bytes", o.bytes},
                                   {"sha256", o.sha256}});
  const json::object doc{{"shard", m.shard.index},
                         {"shards", m.shard.count},
                         {"begin", m.range.begin},
                         {"end", m.range.end},
                         {"total", m.total},
                         {"batch_size", m.batch_size},
                         {"ok", m.ok},
                         {"failed", m.failed},
                         {"labeled", m.labeled},
                         {"correct", m.correct},
                         {"unknown_labels", std::move(unknown)},
                         {"config_hash", m.config_hash},
                         {"version", m.version},
                         {"numerics", m.numerics},
                         {"outputs", std::move(outputs)},
                         {"ids", std::move(ids)},
                         {"content_keys", std::move(keys)}};
  const std::string text = to_json_text(doc) + "\n";
  write_file_atomic(manifest_path(output_dir, m.shard),
                    {reinterpret_cast<const unsigned char*>(text.data()), text.size()});
}

namespace {

struct Reader {
  const fs::path& file;
  const json::object& o;
  const json::value& get(const char* key) const {
    const auto* v = o.if_contains(key);
    if (!v) throw FormatError(file.string() + ": no '" + key + "'");
    return *v;
  }
  std::uint64_t number(const char* key) const {
    const auto& v = get(key);
    if (v.is_uint64()) return v.as_uint64();
    if (v.is_int64() && v.as_int64() >= 0) return static_cast<std::uint64_t>(v.as_int64());
    throw FormatError(file.string() + ": '" + key + "' is not a number >= 0");
  }
  std::string string(const char* key) const {
    const auto& v = get(key);
    if (!v.is_string()) throw FormatError(file.string() + ": '" + key + "' is not a string");
    return std::string(v.as_string());
  }
  const json::array& array(const char* key) const {
    const auto& v = get(key);
    if (!v.is_array()) throw FormatError(file.string() + ": '" + key + "' is not an array");
    return v.as_array();
  }
};

}  // namespace

ShardManifest read_manifest(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw IoError(file.string() + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  json::error_code ec;
  const json::value doc = json::parse(text.str(), ec);
  if (ec || !doc.is_object()) throw FormatError(file.string() + ": not a JSON object (" + ec.message() + ")");
  const Reader r{file, doc.as_object()};
  ShardManifest m;
  m.shard = {static_cast<int>(r.number("shard")), static_cast<int>(r.number("shards"))};
  if (m.shard.count < 1 || m.shard.index >= m.shard.count)
    throw FormatError(file.string() + ": shard " + std::to_string(m.shard.index) + " of " +
                      std::to_string(m.shard.count) + " is not a shard");
  m.range = {r.number("begin"), r.number("end")};
  m.total = r.number("total");
  m.batch_size = static_cast<int>(r.number("batch_size"));
  m.ok = r.number("ok");
  m.failed = r.number("failed");
  m.labeled = r.number("labeled");
  m.correct = r.number("correct");
  for (const auto& [key, n, bound, of] : {std::tuple{"correct", m.correct, m.labeled, "labeled"},
                                           std::tuple{"labeled", m.labeled, m.ok, "ok"}})
    if (n > bound)
      throw FormatError(file.string() + ": '" + key + "' is " + std::to_string(n) + ", more than '" + of +
                        "' (" + std::to_string(bound) + ")");
  m.config_hash = r.string("config_hash");
  m.version = r.string("version");
  m.numerics = r.string("numerics");
  for (const auto& [key, to] : {std::pair{"ids", &m.ids}, std::pair{"content_keys", &m.content_keys},
                                std::pair{"unknown_labels", &m.unknown_labels}})
    for (const auto& v : r.array(key)) {
      if (!v.is_string())
        throw FormatError(file.string() + ": '" + key + "' holds a value that is not a string");
      to->emplace_back(v.as_string());
    }
  if (m.content_keys.size() != m.ids.size())
    throw FormatError(file.string() + ": 'content_keys' has " + std::to_string(m.content_keys.size()) +
                      " entries for " + std::to_string(m.ids.size()) + " ids");
  for (const auto& v : r.array("outputs")) {
    if (!v.is_object()) throw FormatError(file.string() + ": 'outputs' holds a value that is not an object");
    const Reader o{file, v.as_object()};
    const std::string merge = o.string("merge");
    const auto rule = std::find_if(kMergeNames.begin(), kMergeNames.end(),
                                   [&](const auto& r) { return r.second == merge; });
    if (rule == kMergeNames.end())
      throw FormatError(file.string() + ": 'merge' is '" + merge +
                        "', expected per_part, concatenate, concatenate_after_header, safetensors or "
                        "safetensors_stacked");
    m.outputs.push_back({o.string("kind"), rule->first, o.string("file"), o.string("merged"),
                         o.number("bytes"), o.string("sha256")});
  }
  return m;
}

}  // namespace visbone::pipeline
