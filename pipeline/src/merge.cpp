#include "visbone/pipeline/merge.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>

#include "success_marker.h"
#include "visbone/core/errors.h"
#include "visbone/core/safetensors.h"
#include "visbone/hub/sha256.h"
#include "visbone/pipeline/atomic_file.h"
#include "visbone/pipeline/safetensors_stream.h"
#include "visbone/pipeline/shard_manifest.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;

namespace {

struct Shard {
  fs::path file;
  ShardManifest m;
};

// The manifests in `dir`, checked to be one complete run, in shard order.
std::vector<Shard> read_shards(const fs::path& dir) {
  static const std::regex kName(R"(_manifest\.part-(\d+)-of-(\d+)\.json)");
  std::vector<Shard> found;
  if (!fs::is_directory(dir)) throw NotFoundError(dir.string() + ": no such folder");
  for (const auto& e : fs::directory_iterator(dir))
    if (std::regex_match(e.path().filename().string(), kName))
      found.push_back({e.path(), read_manifest(e.path())});
  if (found.empty())
    throw NotFoundError(dir.string() +
                        ": no shard manifests (_manifest.part-*-of-*.json); run the shards first");
  std::sort(found.begin(), found.end(), [](const Shard& a, const Shard& b) { return a.file < b.file; });
  const Shard& first = found.front();
  std::map<int, const Shard*> by_index;
  for (const Shard& s : found) {
    const auto foreign = [&](const std::string& what, const std::string& a, const std::string& b) {
      throw Error(s.file.string() + ": foreign shard: its " + what + " is " + a + ", " + first.file.string() +
                  "'s is " + b + " (shards of another run in this folder?)");
    };
    if (s.file.filename() != manifest_path("", s.m.shard))
      throw Error(s.file.string() + ": names another shard than it holds (" + part_tag(s.m.shard) + ")");
    if (s.m.shard.count != first.m.shard.count)
      foreign("shard count", std::to_string(s.m.shard.count), std::to_string(first.m.shard.count));
    if (s.m.config_hash != first.m.config_hash) foreign("config hash", s.m.config_hash, first.m.config_hash);
    if (s.m.version != first.m.version) foreign("visbone version", s.m.version, first.m.version);
    // Another precision, algorithm or instruction set sums in another order: the merged files would not be a
    // single run's bytes (ONEDNN_MAX_CPU_ISA, the same on every node, gives mixed machines one ISA).
    if (s.m.numerics != first.m.numerics) foreign("numerics", "'" + s.m.numerics + "'", "'" + first.m.numerics + "'");
    if (s.m.total != first.m.total)
      foreign("input total", std::to_string(s.m.total), std::to_string(first.m.total));
    by_index[s.m.shard.index] = &s;
  }
  std::vector<Shard> shards;
  std::uint64_t next = 0;
  for (int i = 0; i < first.m.shard.count; ++i) {
    const auto it = by_index.find(i);
    if (it == by_index.end())
      throw Error(manifest_path(dir, {i, first.m.shard.count}).string() + ": missing: shard " +
                  std::to_string(i) + " of " + std::to_string(first.m.shard.count) +
                  " has not finished (or did not run)");
    const Shard& s = *it->second;
    if (s.m.range.begin != next || s.m.range.end < s.m.range.begin ||
        s.m.ids.size() != s.m.range.end - s.m.range.begin)
      throw Error(s.file.string() + ": inputs [" + std::to_string(s.m.range.begin) + ", " +
                  std::to_string(s.m.range.end) + ") (" + std::to_string(s.m.ids.size()) +
                  " ids) do not follow the previous shard's end " + std::to_string(next));
    next = s.m.range.end;
    shards.push_back(s);
  }
  if (next != first.m.total)
    throw Error(shards.back().file.string() + ": the shards cover " + std::to_string(next) + " of " +
                std::to_string(first.m.total) + " inputs");
  // Every shard wrote the same outputs, intact.
  for (const Shard& s : shards) {
    if (s.m.outputs.size() != first.m.outputs.size())
      throw Error(s.file.string() + ": lists other outputs than " + first.file.string());
    for (std::size_t k = 0; k < s.m.outputs.size(); ++k) {
      const ShardOutput& o = s.m.outputs[k];
      if (o.kind != first.m.outputs[k].kind || o.merge != first.m.outputs[k].merge ||
          o.merged != first.m.outputs[k].merged)
        throw Error(s.file.string() + ": lists other outputs than " + first.file.string());
      const fs::path part = dir / o.file;
      std::error_code ec;
      const auto size = fs::file_size(part, ec);
      if (ec) throw Error(part.string() + ": missing (listed in " + s.file.string() + ")");
      if (size != o.bytes || hub::sha256_file_hex(part) != o.sha256)
        throw Error(part.string() + ": its size or SHA-256 differs from " + s.file.string() +
                    " (changed after the shard finished)");
    }
  }
  return shards;
}

void copy_file_into(const fs::path& part, AtomicFile& out, bool skip_first_line) {
  std::ifstream in(part, std::ios::binary);
  if (!in) throw IoError(part.string() + ": cannot be read");
  if (skip_first_line) {
    std::string header;
    std::getline(in, header);
  }
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    out.write(buf, static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw IoError(part.string() + ": read error");
}

// A metadata value that is one JSON array or object per part; FormatError naming the part otherwise.
boost::json::value metadata_json(const SafetensorsFile& f, const fs::path& p, const std::string& key,
                                 bool array) {
  const auto it = f.metadata().find(key);
  boost::json::error_code ec;
  const auto v = it == f.metadata().end() ? boost::json::value() : boost::json::parse(it->second, ec);
  if (ec || (array ? !v.is_array() : !v.is_object()))
    throw FormatError(p.string() + ": " + (array ? "stacked tensors without an '" : "no '") + key + "' " +
                      (array ? "array" : "object") + " in __metadata__");
  return v;
}

void merge_safetensors(const std::vector<fs::path>& parts, const fs::path& merged, bool stacked) {
  SafetensorsStream out(merged, stacked);
  // Per input: stacked rows' ids and content keys (lists joined in order), per-input tensors' content keys
  // (objects joined); the other metadata is the same in every part.
  boost::json::array ids, keys;
  boost::json::object keys_by_prefix;
  std::map<std::string, std::string> metadata;
  for (const fs::path& p : parts) {
    const SafetensorsFile f = SafetensorsFile::open(p);
    for (const auto& [k, v] : f.metadata()) metadata[k] = v;
    for (const TensorInfo& info : f.tensors()) {
      const Tensor t = f.load(info.name);
      if (!stacked) {
        out.add(info.name, t);
        continue;
      }
      // The sink appends one row per input; so does the merge.
      const Shape row(t.shape().begin() + 1, t.shape().end());
      const std::int64_t rows = t.shape().empty() ? 0 : t.shape().front();
      const std::size_t per = static_cast<std::size_t>(rows > 0 ? t.numel() / rows : 0);
      for (std::int64_t r = 0; r < rows; ++r) {
        Tensor one(row);
        std::memcpy(one.data(), t.data() + static_cast<std::size_t>(r) * per, per * sizeof(float));
        out.add(info.name, one);
      }
    }
    const bool has_keys = f.metadata().contains("content_keys");
    if (stacked) {
      const boost::json::value part_ids = metadata_json(f, p, "ids", true);
      for (const auto& id : part_ids.as_array()) ids.push_back(id);
    }
    if (has_keys) {
      const boost::json::value part_keys = metadata_json(f, p, "content_keys", stacked);
      if (stacked)
        for (const auto& k : part_keys.as_array()) keys.push_back(k);
      else
        for (const auto& [k, v] : part_keys.as_object()) keys_by_prefix[k] = v;
    }
  }
  if (stacked) metadata["ids"] = boost::json::serialize(ids);
  if (metadata.contains("content_keys"))
    metadata["content_keys"] =
        stacked ? boost::json::serialize(keys) : boost::json::serialize(keys_by_prefix);
  for (const auto& [k, v] : metadata) out.set_metadata(k, v);
  out.commit();
}

// The whole run's summary: `whole` holds the counts the manifests add up to; the wall time and each stage's
// busy time are summed over the shards' own summaries (their compute time: the shards may have run at once or
// one after another), the sources are the first shard's, the outputs what merge wrote.
void merge_summaries(const std::vector<fs::path>& parts, Summary whole, const fs::path& merged) {
  Summary times;
  for (const fs::path& p : parts) {
    const Summary part = Summary::read(p);
    times.add(part);
    times.seconds += part.seconds;
  }
  whole.seconds = times.seconds;
  whole.stages = times.stages;
  whole.sources = times.sources;
  whole.shards = parts.size();
  whole.write(merged);
}

}  // namespace

bool merges_into_one_file(MergeRule rule) {
  return rule == MergeRule::concatenate || rule == MergeRule::concatenate_after_header ||
         rule == MergeRule::safetensors || rule == MergeRule::safetensors_stacked;
}

MergeResult merge_shards(const fs::path& dir) {
  const std::vector<Shard> shards = read_shards(dir);
  clear_success_marker(dir);
  MergeResult result;
  for (const Shard& s : shards) result.counts.add(s.m.counts());
  std::vector<std::string>& lines = result.lines;
  const auto& outputs = shards.front().m.outputs;
  std::pair<std::vector<fs::path>, fs::path> summary;  // the shards' summaries and the merged one's path
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    const std::string& kind = outputs[k].kind;
    const fs::path merged = dir / outputs[k].merged;
    std::vector<fs::path> parts;
    for (const Shard& s : shards) parts.push_back(dir / s.m.outputs[k].file);
    // As the sink said when it ran (Sink::outputs()), so a plugin's outputs merge as a built-in's do.
    const MergeRule rule = outputs[k].merge;
    if (kind == "summary") {
      summary = {parts, merged};  // last, once it can list what merge wrote
      continue;
    }
    if (!merges_into_one_file(rule)) {
      for (const fs::path& p : parts) result.counts.outputs.push_back({kind, p.string(), kind + " -> " + p.string()});
      lines.push_back(kind + ": left per part (" + outputs[k].file + ", ...): it does not merge");
      continue;
    }
    if (rule == MergeRule::concatenate || rule == MergeRule::concatenate_after_header) {
      AtomicFile out(merged);
      for (std::size_t i = 0; i < parts.size(); ++i)
        copy_file_into(parts[i], out, rule == MergeRule::concatenate_after_header && i > 0);
      out.commit();
    } else {
      merge_safetensors(parts, merged, rule == MergeRule::safetensors_stacked);
    }
    lines.push_back(kind + " -> " + merged.string() + " (" + std::to_string(parts.size()) + " parts)");
    result.counts.outputs.push_back({kind, merged.string(), kind + " -> " + merged.string()});
  }
  if (!summary.first.empty()) {
    merge_summaries(summary.first, result.counts, summary.second);
    lines.push_back("summary -> " + summary.second.string() + " (" + std::to_string(summary.first.size()) +
                    " parts: counts, time summed over the shards)");
  }
  write_success_marker(dir);
  return result;
}

}  // namespace visbone::pipeline
