// The pure parts of sharding: "i/N", the environment of Slurm arrays and Kubernetes Indexed Jobs, the range
// arithmetic and the part names.
#include "visbone/pipeline/shard.h"

#include <gtest/gtest.h>

#include <map>

#include "support/support.h"
#include "visbone/core/errors.h"
#include "visbone/pipeline/config.h"

namespace visbone::pipeline {
namespace {

using visbone::testing::message_of;

Getenv env_of(const std::map<std::string, std::string>& vars) {
  return [vars](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(Shard, ParsesIofN) {
  const ShardSpec s = parse_shard("3/16");
  EXPECT_EQ(s.index, 3);
  EXPECT_EQ(s.count, 16);
  EXPECT_EQ(parse_shard("0/1").count, 1);
  for (const char* bad : {"16/16", "a/3", "1/0", "-1/3", "1/", "/3", "", "3", "1/3x", "+1/3"}) {
    EXPECT_THROW(parse_shard(bad), ConfigError) << bad;
    EXPECT_NE(message_of([&] { parse_shard(bad); }).find("--shard: '" + std::string(bad) + "'"),
              std::string::npos);
  }
}

TEST(Shard, FromSlurmArrayVariables) {
  auto s = shard_from_environment(std::nullopt,
                                  env_of({{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->index, 2);
  EXPECT_EQ(s->count, 4);
  // --array=4-7: task ids start at SLURM_ARRAY_TASK_MIN.
  s = shard_from_environment(
      std::nullopt,
      env_of({{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_MIN", "4"}}));
  EXPECT_EQ(s->index, 1);
  EXPECT_EQ(s->count, 4);
  const auto err = message_of([] {
    shard_from_environment(std::nullopt,
                           env_of({{"SLURM_ARRAY_TASK_ID", "x"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}));
  });
  EXPECT_NE(err.find("$SLURM_ARRAY_TASK_ID"), std::string::npos) << err;
  EXPECT_THROW(shard_from_environment(
                   std::nullopt, env_of({{"SLURM_ARRAY_TASK_ID", "4"}, {"SLURM_ARRAY_TASK_COUNT", "4"}})),
               ConfigError);
}

TEST(Shard, FromKubernetesIndexedJob) {
  auto s = shard_from_environment(16, env_of({{"JOB_COMPLETION_INDEX", "15"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->index, 15);
  EXPECT_EQ(s->count, 16);
  EXPECT_NE(message_of([] {
              shard_from_environment(std::nullopt, env_of({{"JOB_COMPLETION_INDEX", "1"}}));
            }).find("--shards"),
            std::string::npos);
  EXPECT_THROW(shard_from_environment(16, env_of({{"JOB_COMPLETION_INDEX", "16"}})), ConfigError);
  EXPECT_FALSE(shard_from_environment(std::nullopt, env_of({})));
  EXPECT_THROW(shard_from_environment(4, env_of({})), ConfigError);  // --shards without an index
}

TEST(Shard, RangesAreBatchAlignedAndTileTheInput) {
  // 300 inputs, batches of 32: 10 batches, 4 per shard of 3.
  EXPECT_EQ(shard_range(300, 32, {0, 3}).end, 128u);
  EXPECT_EQ(shard_range(300, 32, {1, 3}).begin, 128u);
  EXPECT_EQ(shard_range(300, 32, {2, 3}).begin, 256u);
  EXPECT_EQ(shard_range(300, 32, {2, 3}).end, 300u);
  // More shards than batches: the last ones are empty.
  EXPECT_EQ(shard_range(300, 32, {12, 16}).begin, 300u);
  EXPECT_EQ(shard_range(300, 32, {12, 16}).end, 300u);
  for (std::uint64_t total : {0, 1, 31, 32, 33, 300, 1001})
    for (int batch : {1, 7, 32})
      for (int n : {1, 2, 3, 4, 16}) {
        std::uint64_t next = 0;
        for (int i = 0; i < n; ++i) {
          const ShardRange r = shard_range(total, batch, {i, n});
          EXPECT_EQ(r.begin, next) << total << " " << batch << " " << i << "/" << n;
          EXPECT_TRUE(r.begin % static_cast<std::uint64_t>(batch) == 0 || r.begin == total);
          EXPECT_LE(r.begin, r.end);
          next = r.end;
        }
        EXPECT_EQ(next, total);
      }
}

TEST(Shard, PartNames) {
  EXPECT_EQ(part_tag({3, 16}), "part-00003-of-00016");
  EXPECT_EQ(part_path("out/predictions.jsonl", {3, 16}), "out/predictions.part-00003-of-00016.jsonl");
  EXPECT_EQ(part_path("out/features", {0, 2}), "out/features.part-00000-of-00002");
  EXPECT_EQ(manifest_path("out", {3, 16}), "out/_manifest.part-00003-of-00016.json");
  // whole_path undoes part_path, and leaves other names alone.
  for (const char* name : {"out/predictions.jsonl", "out/features", "a.b/c.tar.gz", ".hidden"})
    EXPECT_EQ(whole_path(part_path(name, {3, 16}), {3, 16}), name) << name;
  EXPECT_EQ(whole_path("out/p.part-00001-of-00016.jsonl", {3, 16}), "out/p.part-00001-of-00016.jsonl");
  EXPECT_EQ(whole_path("out/own.jsonl", {3, 16}), "out/own.jsonl");
}

TEST(Shard, OutputPathGivesFilesPartNamesAndSharesFolders) {
  PipelineConfig c;
  c.output_dir = "/o";
  ComponentConfig file, folder;
  file.type = "jsonl";
  file.spec = YAML::Load("{type: jsonl, path: p.jsonl}");
  folder.type = "annotated_images";
  folder.spec = YAML::Load("{type: annotated_images, path: annotated}");
  c.sinks = {file, folder};
  EXPECT_EQ(c.output_path("p.jsonl"), "/o/p.jsonl");
  c.shard = ShardSpec{1, 4};
  EXPECT_EQ(c.output_path("p.jsonl"), "/o/p.part-00001-of-00004.jsonl");
  // A sink's folder of per-input files (its sink resolves it with output_folder) is shared by the shards.
  EXPECT_EQ(c.output_folder("annotated"), "/o/annotated");
}

}  // namespace
}  // namespace visbone::pipeline
