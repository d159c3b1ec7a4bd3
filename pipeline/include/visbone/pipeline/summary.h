// What a run did: its counts (inputs, failures, labelled inputs and hits), where its time went and what it
// wrote; `visbone run` prints it (text) or writes it (summary: JSON). The parts of a run (a resumed run's
// chunks, a sharded run's shards: their manifests carry the counts) add up to the whole run's counts.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace visbone::pipeline {

// Busy time of one stage, summed over its workers.
struct StageTime {
  std::string stage;
  double seconds = 0;
};

// One thing a run wrote: the sink's registry type, its file or folder (empty when it names none), and the
// line `visbone run` prints for it.
struct Output {
  std::string sink;
  std::string path;
  std::string description;
};

struct Summary {
  // At most this many distinct unknown labels are listed.
  static constexpr std::size_t kMaxUnknownLabels = 100;

  std::uint64_t items = 0, ok = 0, failed = 0;
  double seconds = 0;  // wall time of the run
  std::vector<StageTime> stages;
  // Inputs with a known label (from folder names) that got a prediction, and how many of those the first
  // classification head's top-1 label matches (by name).
  std::uint64_t labeled = 0, correct = 0;
  std::vector<std::string> unknown_labels;  // folder labels the model has no class of that name for, sorted
  std::vector<std::string> sources;         // what each source read (its describe())
  std::vector<Output> outputs;              // what each sink wrote, then the summary file
  std::uint64_t shards = 0;                 // a merged run's shard count (`visbone merge`); 0 otherwise
  // Component failures outside any one input's record (a sink that could not write an input or finish, a
  // source that stopped): the run's outputs are incomplete, and `visbone run` exits 1.
  std::vector<std::string> errors;

  double images_per_second() const { return seconds > 0 ? static_cast<double>(items) / seconds : 0.0; }
  std::optional<double> accuracy() const;
  // Adds the counts of another part of the same run (inputs after this one's): items, ok, failed, labeled,
  // correct, stage times; unknown labels joined (sorted, distinct); the sources of the first part that has
  // them.
  void add(const Summary& part);
  // "items: N (N ok, N failed)", without a newline.
  std::string items_text() const;
  // "accuracy: ..." and the unknown labels note, a line each; empty without labelled inputs.
  std::string accuracy_text() const;
  // A few human-readable lines.
  std::string text() const;
  boost::json::object json() const;
  // Adds the summary file itself to `outputs` and writes json() there (atomically).
  void write(const std::filesystem::path& path);
  // A summary file as write() wrote it: counts, times, unknown labels and sources (outputs are not read).
  // IoError / FormatError naming the file otherwise.
  static Summary read(const std::filesystem::path& path);
};

}  // namespace visbone::pipeline
