// Splitting one run into N shards that merge to the bytes of a single run (issue #17).
//
// Shard i of N takes a contiguous range of the sorted input list whose size is a whole number of batches:
// per = ceil(ceil(total / batch_size) / N) * batch_size inputs, shard i gets [i * per, min((i + 1) * per,
// total)). Every batch of a shard is then a batch of the single run (inputs of one pixel size), so the
// numbers are the same. Items keep their global index, and each shard writes its files under part names
// (predictions.jsonl -> predictions.part-00003-of-00016.jsonl) and, last, a manifest
// `_manifest.part-00003-of-00016.json` that marks the shard complete (see shard_manifest.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace visbone::pipeline {

struct ShardSpec {
  int index = 0;  // 0-based
  int count = 1;
};

// "i/N" with 0 <= i < N; ConfigError naming `what` (the option) otherwise.
ShardSpec parse_shard(const std::string& text, const std::string& what = "--shard");

// The shard from the environment, for when --shard is not given: Slurm job arrays
// (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job
// (JOB_COMPLETION_INDEX of `shards`, the --shards option). nullopt when neither is set; ConfigError naming
// the variable for a value that is not a number or out of range. `getenv` is injectable for tests.
using Getenv = std::function<const char*(const char*)>;
std::optional<ShardSpec> shard_from_environment(std::optional<int> shards, const Getenv& getenv);

// The inputs [begin, end) of a shard.
struct ShardRange {
  std::uint64_t begin = 0, end = 0;
};
ShardRange shard_range(std::uint64_t total, int batch_size, const ShardSpec& shard);

// "part-00003-of-00016".
std::string part_tag(const ShardSpec& shard);
// predictions.jsonl -> predictions.part-00003-of-00016.jsonl (the tag before the last extension; a name
// without one gets it at the end).
std::filesystem::path part_path(const std::filesystem::path& file, const ShardSpec& shard);
// The inverse: the name a single run gives the file part_path named (the file itself when it is not a part
// name of this shard).
std::filesystem::path whole_path(const std::filesystem::path& part, const ShardSpec& shard);
// The manifest of a shard: `dir`/_manifest.part-00003-of-00016.json.
std::filesystem::path manifest_path(const std::filesystem::path& dir, const ShardSpec& shard);

}  // namespace visbone::pipeline
