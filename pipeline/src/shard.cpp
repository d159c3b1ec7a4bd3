#include "visbone/pipeline/shard.h"

#include <charconv>
#include <cstdio>
#include <string_view>

#include "visbone/core/errors.h"

namespace visbone::pipeline {

namespace {

// A whole non-negative decimal number that fits an int, or nullopt.
std::optional<int> parse_count(std::string_view s) {
  int v = 0;
  if (s.empty() || s.front() == '-' || s.front() == '+') return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

int env_number(const Getenv& getenv, const char* name) {
  const char* v = getenv(name);
  const auto n = v ? parse_count(v) : std::nullopt;
  if (!n) throw ConfigError(std::string("$") + name + ": expected a number >= 0, got '" + (v ? v : "") + "'");
  return *n;
}

}  // namespace

ShardSpec parse_shard(const std::string& text, const std::string& what) {
  const auto slash = text.find('/');
  const auto i =
      slash == std::string::npos ? std::nullopt : parse_count(std::string_view(text).substr(0, slash));
  const auto n =
      slash == std::string::npos ? std::nullopt : parse_count(std::string_view(text).substr(slash + 1));
  if (!i || !n || *n < 1 || *i >= *n)
    throw ConfigError(what + ": '" + text + "' is not i/N with 0 <= i < N (shard i of N, counted from 0)");
  return {*i, *n};
}

std::optional<ShardSpec> shard_from_environment(std::optional<int> shards, const Getenv& getenv) {
  if (getenv("SLURM_ARRAY_TASK_ID")) {
    const int id = env_number(getenv, "SLURM_ARRAY_TASK_ID");
    const int min = getenv("SLURM_ARRAY_TASK_MIN") ? env_number(getenv, "SLURM_ARRAY_TASK_MIN") : 0;
    const int count =
        shards ? *shards
               : (getenv("SLURM_ARRAY_TASK_COUNT") ? env_number(getenv, "SLURM_ARRAY_TASK_COUNT") : 0);
    if (count < 1)
      throw ConfigError("$SLURM_ARRAY_TASK_ID is set but not $SLURM_ARRAY_TASK_COUNT; give --shards N");
    if (id < min || id - min >= count)
      throw ConfigError("$SLURM_ARRAY_TASK_ID: " + std::to_string(id) + " is not within " +
                        std::to_string(count) + " tasks from $SLURM_ARRAY_TASK_MIN = " + std::to_string(min) +
                        " (an array with a step, like --array=0-15:2, cannot be a shard split)");
    return ShardSpec{id - min, count};
  }
  if (getenv("JOB_COMPLETION_INDEX")) {
    const int index = env_number(getenv, "JOB_COMPLETION_INDEX");
    if (!shards) throw ConfigError("$JOB_COMPLETION_INDEX is set: give the number of shards with --shards N");
    if (*shards < 1 || index >= *shards)
      throw ConfigError("$JOB_COMPLETION_INDEX: " + std::to_string(index) + " is not below --shards " +
                        std::to_string(*shards));
    return ShardSpec{index, *shards};
  }
  if (shards)
    throw ConfigError("--shards: needs $JOB_COMPLETION_INDEX or $SLURM_ARRAY_TASK_ID (or use --shard i/N)");
  return std::nullopt;
}

ShardRange shard_range(std::uint64_t total, int batch_size, const ShardSpec& shard) {
  const auto batch = static_cast<std::uint64_t>(batch_size > 0 ? batch_size : 1);
  const auto n = static_cast<std::uint64_t>(shard.count);
  const std::uint64_t batches = (total + batch - 1) / batch;
  const std::uint64_t per = (batches + n - 1) / n * batch;
  const auto i = static_cast<std::uint64_t>(shard.index);
  return {std::min(i * per, total), std::min((i + 1) * per, total)};
}

std::string part_tag(const ShardSpec& shard) {
  char text[64];
  std::snprintf(text, sizeof text, "part-%05d-of-%05d", shard.index, shard.count);
  return text;
}

std::filesystem::path part_path(const std::filesystem::path& file, const ShardSpec& shard) {
  std::filesystem::path out = file;
  const std::string ext = file.extension().string();
  out.replace_filename(file.stem().string() + "." + part_tag(shard) + ext);
  return out;
}

std::filesystem::path whole_path(const std::filesystem::path& part, const ShardSpec& shard) {
  const std::string name = part.filename().string();
  std::string tag = ".";  // appended, not "." + ...: GCC 12 warns (-Wrestrict, falsely) on that here
  tag.append(part_tag(shard));
  const auto at = name.rfind(tag);
  if (at == std::string::npos) return part;
  // The tag ends the name or stands before its extension (one dot, no further one).
  const std::string_view rest = std::string_view(name).substr(at + tag.size());
  if (!rest.empty() && (rest.front() != '.' || rest.find('.', 1) != std::string_view::npos)) return part;
  std::string whole(name, 0, at);
  whole.append(rest);
  return part.parent_path() / whole;
}

std::filesystem::path manifest_path(const std::filesystem::path& dir, const ShardSpec& shard) {
  return dir / ("_manifest." + part_tag(shard) + ".json");
}

}  // namespace visbone::pipeline
