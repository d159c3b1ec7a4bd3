#include "visbone/pipeline/journal.h"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <optional>

#include "run_record.h"
#include "success_marker.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/core/sync_path.h"
#include "visbone/hub/sha256.h"
#include "visbone/pipeline/atomic_file.h"
#include "visbone/pipeline/merge.h"
#include "visbone/pipeline/shard_manifest.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

void check_resumable(const PipelineConfig& c) {
  const std::string file = c.file.string();
  if (!c.output_dir) throw ConfigError(file + ": --resume needs an output folder (output_dir or --output)");
  if (c.shard)
    throw ConfigError(file +
                      ": --resume does not go with a sharded run (--shard, or Slurm/Kubernetes variables)");
  if (c.summary) throw ConfigError(file + ": summary: a resumable run (--resume) writes no summary file");
}

// What a chunk's parts are merged by: every output of every sink must merge into one file (as its sink says
// in Sink::outputs(), a plugin's as a built-in's) and lie in the journal, which is in the output folder.
void check_sinks(const Pipeline& p, const fs::path& journal) {
  for (const auto& s : p.sink_outputs()) {
    const std::string what = s.place.str() + ": sink '" + s.type + "': a resumable run (--resume) ";
    if (s.outputs.empty() || std::any_of(s.outputs.begin(), s.outputs.end(),
                                         [](const SinkOutput& o) { return !merges_into_one_file(o.merge); }))
      throw ConfigError(what +
                        "takes sinks whose outputs merge into one file (Sink::outputs(): concatenated or "
                        "stacked); this one's do not");
    for (const SinkOutput& o : s.outputs) {
      const fs::path rel = o.path.lexically_normal().lexically_relative(journal);
      if (rel.empty() || *rel.begin() == "..")
        throw ConfigError(what + "needs a path inside the output folder, not " +
                          whole_path(o.path, *p.config().shard).lexically_normal().string());
    }
  }
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

// Chunk `spec`'s manifest when the chunk is committed: the manifest is there, of these inputs and config,
// and its parts are intact. Whether its inputs are still those its records were made from is the caller's
// question (the manifest's content keys).
std::optional<ShardManifest> committed(const fs::path& journal, const ShardSpec& spec,
                                       const ShardRange& range, const std::string& hash) {
  const fs::path manifest = manifest_path(journal, spec);
  if (!fs::exists(manifest)) return std::nullopt;
  try {
    ShardManifest m = read_manifest(manifest);
    if (m.range.begin != range.begin || m.range.end != range.end || m.config_hash != hash)
      return std::nullopt;
    for (const ShardOutput& o : m.outputs) {
      std::error_code ec;
      const fs::path p = journal / o.file;
      if (fs::file_size(p, ec) != o.bytes || ec || hub::sha256_file_hex(p) != o.sha256) return std::nullopt;
    }
    return m;
  } catch (const Error&) {
    return std::nullopt;
  }
}

// The next `n` items of `source`, each passed to `take` (null: skipped).
void advance(Source& source, const ShardRange& range, std::uint64_t total, const fs::path& file,
             const std::function<void(const SourceItem&)>& take) {
  for (std::uint64_t k = range.begin; k < range.end; ++k) {
    const auto item = source.next();
    if (!item)
      throw Error(file.string() + ": the sources ended after " + std::to_string(k) + " of " +
                  std::to_string(total) + " inputs (did they change during the run?)");
    if (take) take(*item);
  }
}

}  // namespace

fs::path journal_dir(const fs::path& output_dir) {
  return output_dir / ".visbone-journal";
}

ResumeReport run_resumable(const PipelineConfig& config, const Pipeline::Registration& builtins,
                           const ResumeOptions& options,
                           const std::function<void(const Progress&)>& on_progress,
                           const std::function<void()>& on_loading) {
  const auto start = Clock::now();
  check_resumable(config);
  const fs::path dir = *config.output_dir;
  const fs::path journal = journal_dir(dir);

  // One pipeline, one model load, for every chunk that runs: made as a sharded run into the journal, it is
  // pointed at each chunk in turn (select_shard).
  PipelineConfig sharded = config;
  sharded.output_dir = journal;
  sharded.shard = ShardSpec{0, 1};
  const bool had_dir = fs::exists(dir), had_journal = fs::exists(journal);
  Pipeline p(std::move(sharded), builtins, nullptr, on_loading);
  try {
    check_sinks(p, journal);
  } catch (const ConfigError&) {
    // Built, the sinks made folders (their files go with them); an earlier run's journal stays.
    if (!had_journal) fs::remove_all(had_dir ? journal : dir);
    throw;
  }
  const std::unique_ptr<Source> inputs = p.open_inputs();   // the keys of the chunks taken from the journal
  const std::uint64_t total = inputs->count().value_or(0);  // a sharded pipeline's sources count
  const auto batch = static_cast<std::uint64_t>(std::max(config.batch_size, 1));
  std::uint64_t chunk = options.chunk_inputs ? options.chunk_inputs : 64 * batch;
  chunk = (chunk + batch - 1) / batch * batch;
  const int chunks = static_cast<int>(std::max<std::uint64_t>(1, (total + chunk - 1) / chunk));

  // Another run's journal (config, model, version or input count changed) is of no use.
  const std::string hash = config_hash(p.config());
  const std::string head = json::serialize(json::object{{"config_hash", hash},
                                                        {"model_key", p.model_key()},
                                                        {"total", total},
                                                        {"chunks", chunks},
                                                        {"version", visbone_version()}}) +
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
    const ShardRange range = shard_range(total, config.batch_size, spec);
    const std::optional<ShardManifest> m = committed(journal, spec, range, hash);
    // A committed chunk is taken when its inputs' keys are still those its records carry; its inputs are
    // read here, once (a chunk that runs reads its own in the pipeline).
    std::vector<std::string> keys;
    advance(*inputs, range, total, config.file,
            m ? std::function<void(const SourceItem&)>(
                    [&](const SourceItem& s) { keys.push_back(p.input_key(s)); })
              : nullptr);
    if (m && keys == m->content_keys) {
      ++report.reused;
      sum.add(m->counts());
      before += range.end - range.begin;
      continue;
    }
    p.select_shard(spec);
    const Summary part = p.run([&](const Progress& pr) {
      if (!on_progress) return;
      Progress all = pr;
      all.done += before;
      all.total = total;
      on_progress(all);
    });
    // A source or sink failed: the chunk has no manifest, so the run stops here and --resume redoes it.
    if (!part.errors.empty()) {
      std::string what;
      for (const auto& e : part.errors) what += "; " + e;
      throw Error("chunk " + std::to_string(i) + " of " + std::to_string(chunks) + " is incomplete" + what);
    }
    sum.add(part);
    before += range.end - range.begin;
  }

  // The merged files are made in the journal and renamed into the output folder; killed before the journal
  // is gone, the next --resume merges again.
  merge_shards(journal);
  const ShardManifest first = read_manifest(manifest_path(journal, {0, chunks}));
  RunFiles merged;  // the run record's (run_record.h): an earlier run's other files go
  for (const ShardOutput& o : first.outputs) merged.files.push_back(dir / o.merged);
  begin_run_record(dir, merged);
  for (const ShardOutput& o : first.outputs) {
    const fs::path to = dir / o.merged;
    fs::create_directories(to.parent_path());
    fs::rename(journal / o.merged, to);
    sync_path(to.parent_path());
    sum.outputs.push_back({o.kind, to.string(), o.kind + " -> " + to.string()});
  }
  finish_run_record(dir, merged);
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
