#include "visbone/pipeline/journal.h"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>

#include "success_marker.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/core/model_name.h"
#include "visbone/hub/sha256.h"
#include "visbone/pipeline/atomic_file.h"
#include "visbone/pipeline/components.h"
#include "visbone/pipeline/concat_source.h"
#include "visbone/pipeline/merge.h"
#include "visbone/pipeline/shard_manifest.h"
#include "visbone/pipeline/staged_folder.h"
#include "visbone/registry/registry.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

// Feeds `s` to `h` with its length first, so bytes moved from one part to the next change the hash.
void part(hub::Sha256& h, const std::string& s) {
  h.update(std::to_string(s.size()) + ":");
  h.update(s);
}

void check_resumable(const PipelineConfig& c, const registry::Registry& builtin) {
  const std::string file = c.file.string();
  if (!c.output_dir) throw ConfigError(file + ": --resume needs an output folder (output_dir or --output)");
  if (c.shard)
    throw ConfigError(file +
                      ": --resume does not go with a sharded run (--shard, or Slurm/Kubernetes variables)");
  if (c.summary) throw ConfigError(file + ": summary: a resumable run (--resume) writes no summary file");
  for (const auto& s : c.sources)
    if (!builtin.contains(registry::ComponentKind::source, s.type))
      throw ConfigError(
          s.place.str() + ": source '" + s.type +
          "': a resumable run (--resume) takes the built-in sources (files, folder, glob, list, video)");
  for (const auto& s : c.sinks) {
    if (s.type != "jsonl" && s.type != "csv" && s.type != "safetensors")
      throw ConfigError(
          s.place.str() + ": sink '" + s.type +
          "': a resumable run (--resume) takes jsonl, csv and safetensors sinks (written in chunks, "
          "then merged)");
    const YAML::Node p = s.spec["path"];
    const fs::path path = p && p.IsScalar() ? fs::path(p.Scalar()).lexically_normal() : fs::path();
    if (path.empty() || path.is_absolute() || *path.begin() == "..")
      throw ConfigError(s.place.str() + ": sink '" + s.type +
                        "': a resumable run (--resume) needs a path inside the output folder");
  }
}

// The files that make the model and its preprocessing: a checkpoint folder's files, by name and content.
void hash_model(hub::Sha256& h, const PipelineConfig& c) {
  const auto hash_path = [&](const fs::path& p) {
    std::vector<fs::path> files;
    if (fs::is_directory(p)) {
      for (const auto& e : fs::directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.push_back(p);
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      part(h, f.filename().string());
      part(h, hub::sha256_file_hex(f));
    }
  };
  if (const YAML::Node ckpt = c.model.spec["checkpoint"]; ckpt && ckpt.IsScalar()) {
    const ModelName name = classify_model_name(ckpt.Scalar(), c.base_dir);
    if (name.kind == ModelName::Kind::path)
      hash_path(name.path);
    else
      part(h, "hub " + ckpt.Scalar());  // its revision is in the model spec, hashed with the config
  }
  part(h, c.preprocess.from);
  if (c.preprocess.from != "checkpoint" && c.preprocess.from != "defaults") hash_path(c.preprocess.from);
  part(h, c.preprocess.overrides ? YAML::Dump(c.preprocess.overrides) : std::string());
}

std::string run_key(const PipelineConfig& c) {
  hub::Sha256 h;
  part(h, config_hash(c));
  hash_model(h, c);
  part(h, visbone_version());
  return h.finish_hex();
}

// An input's content key: the run's key, its id and its bytes (a file's, an encoded image's, or the pixels of
// a frame the source decoded).
std::string input_key(const std::string& run, const SourceItem& s) {
  hub::Sha256 h;
  part(h, run);
  part(h, s.id);
  if (!s.error.empty()) {
    part(h, "error " + s.error);
  } else if (!s.bytes.empty()) {
    h.update(s.bytes.data(), s.bytes.size());
  } else if (s.decoded) {
    part(h, std::to_string(s.image.width()) + "x" + std::to_string(s.image.height()) + "x" +
                std::to_string(s.image.channels()));
    h.update(s.image.pixels().data(), s.image.pixels().size());
  } else {
    try {
      part(h, hub::sha256_file_hex(s.path));
    } catch (const Error& e) {
      // The run records the error; a mended file changes the key.
      part(h, std::string("unreadable ") + e.what());
    }
  }
  return h.finish_hex();
}

// The file's text, or "" when it is missing or unreadable (a journal file a killed run did not write).
std::string text_or_empty(const fs::path& p) {
  try {
    return fs::exists(p) ? read_text_file(p) : std::string();
  } catch (const Error&) {
    return {};
  }
}

void write_text(const fs::path& p, const std::string& text) {
  write_file_atomic(p, {reinterpret_cast<const unsigned char*>(text.data()), text.size()});
}

// Whether chunk `spec` is committed: its manifest is there, was made from inputs with these keys, and its
// parts are intact.
bool committed(const fs::path& journal, const ShardSpec& spec, const ShardRange& range,
               const std::string& keys, const std::string& hash) {
  const fs::path manifest = manifest_path(journal, spec);
  if (!fs::exists(manifest)) return false;
  if (text_or_empty(journal / ("_keys." + part_tag(spec) + ".json")) != keys) return false;
  try {
    const ShardManifest m = read_manifest(manifest);
    if (m.range.begin != range.begin || m.range.end != range.end || m.config_hash != hash) return false;
    for (const ShardOutput& o : m.outputs) {
      std::error_code ec;
      const fs::path p = journal / o.file;
      if (fs::file_size(p, ec) != o.bytes || ec || hub::sha256_file_hex(p) != o.sha256) return false;
    }
  } catch (const Error&) {
    return false;
  }
  return true;
}

}  // namespace

fs::path journal_dir(const fs::path& output_dir) {
  return output_dir / ".visbone-journal";
}

ResumeReport run_resumable(const PipelineConfig& config, const Pipeline::Registration& builtins,
                           const ResumeOptions& options,
                           const std::function<void(const Progress&)>& on_progress) {
  const auto start = Clock::now();
  registry::Registry builtin;
  register_components(builtin);
  check_resumable(config, builtin);
  const fs::path dir = *config.output_dir;
  const fs::path journal = journal_dir(dir);

  std::vector<std::unique_ptr<Source>> parts;
  SourceContext context;
  context.max_pixels = config.max_pixels;
  for (const auto& s : config.sources)
    parts.push_back(
        builtin.build_source(registry::Params(s.spec, config.file.string(), config.base_dir), context));
  const std::unique_ptr<Source> source = concat_sources(std::move(parts));
  const auto total = source->count();
  if (!total)
    throw ConfigError(config.file.string() + ": a resumable run needs sources that can count their inputs");
  const auto batch = static_cast<std::uint64_t>(std::max(config.batch_size, 1));
  std::uint64_t chunk = options.chunk_inputs ? options.chunk_inputs : 64 * batch;
  chunk = (chunk + batch - 1) / batch * batch;
  const int chunks = static_cast<int>(std::max<std::uint64_t>(1, (*total + chunk - 1) / chunk));

  // Another run's journal (config, model, version or input count changed) is of no use.
  const std::string key = run_key(config);
  const std::string hash = config_hash(config);
  const std::string head =
      json::serialize(json::object{
          {"run_key", key}, {"total", *total}, {"chunks", chunks}, {"version", visbone_version()}}) +
      "\n";
  if (text_or_empty(journal / "journal.json") != head) {
    fs::remove_all(journal);
    fs::create_directories(journal);
    write_text(journal / "journal.json", head);
  }
  clear_success_marker(dir);

  ResumeReport report;
  report.chunks = chunks;
  Summary& sum = report.summary;
  std::uint64_t before = 0;  // inputs of the chunks before the current one
  for (int i = 0; i < chunks; ++i) {
    const ShardSpec spec{i, chunks};
    const ShardRange range = shard_range(*total, config.batch_size, spec);
    json::array keys;
    for (std::uint64_t k = range.begin; k < range.end; ++k) {
      const auto item = source->next();
      if (!item)
        throw Error(config.file.string() + ": the sources ended after " + std::to_string(k) + " of " +
                    std::to_string(*total) + " inputs (did they change during the run?)");
      keys.emplace_back(input_key(key, *item));
    }
    const std::string keys_text = json::serialize(keys) + "\n";
    if (committed(journal, spec, range, keys_text, hash)) {
      const ShardManifest m = read_manifest(manifest_path(journal, spec));
      ++report.reused;
      sum.items += m.ok + m.failed;
      sum.ok += m.ok;
      sum.failed += m.failed;
      before += range.end - range.begin;
      continue;
    }
    // The old manifest goes first: no moment has it beside keys it was not made from.
    fs::remove(manifest_path(journal, spec));
    sync_path(journal);
    write_text(journal / ("_keys." + part_tag(spec) + ".json"), keys_text);
    PipelineConfig c = config;
    c.output_dir = journal;
    c.shard = spec;
    Pipeline p(std::move(c), builtins);
    const Summary s = p.run([&](const Progress& pr) {
      if (!on_progress) return;
      Progress all = pr;
      all.done += before;
      all.total = *total;
      on_progress(all);
    });
    sum.items += s.items;
    sum.ok += s.ok;
    sum.failed += s.failed;
    sum.labeled += s.labeled;
    sum.correct += s.correct;
    if (sum.stages.empty())
      sum.stages = s.stages;
    else
      for (std::size_t k = 0; k < s.stages.size() && k < sum.stages.size(); ++k)
        sum.stages[k].seconds += s.stages[k].seconds;
    for (const auto& u : s.unknown_labels)
      if (std::find(sum.unknown_labels.begin(), sum.unknown_labels.end(), u) == sum.unknown_labels.end())
        sum.unknown_labels.push_back(u);
    if (sum.sources.empty()) sum.sources = s.sources;
    before += range.end - range.begin;
  }

  // The merged files are made in the journal and renamed into the output folder; killed before the journal
  // is gone, the next --resume merges again.
  merge_shards(journal);
  const ShardManifest first = read_manifest(manifest_path(journal, {0, chunks}));
  for (const ShardOutput& o : first.outputs) {
    const fs::path to = dir / o.merged;
    fs::create_directories(to.parent_path());
    fs::rename(journal / o.merged, to);
    sync_path(to.parent_path());
    sum.outputs.push_back({o.kind, to.string(), o.kind + " -> " + to.string()});
  }
  write_success_marker(dir);
  // Out of the way in one rename first: a kill while it is being removed leaves no half journal behind.
  const fs::path gone = hidden_temp_path(journal, "removed");
  fs::rename(journal, gone);
  sync_path(dir);
  fs::remove_all(gone);
  sum.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return report;
}

}  // namespace visbone::pipeline
