// The README's sharded-run recipes are the files under examples/ (slurm/digits-shards.sbatch, run on a real
// Slurm cluster by tests/pipeline/slurm_test.sh, and k8s/digits-shards.yaml), shown verbatim. The Kubernetes
// Indexed Job is read with a YAML parser and checked for what visbone relies on; then its container command
// is run as each of its pods would (JOB_COMPLETION_INDEX set, the shared volume a local folder) and merged:
// the result is the bytes of a single run.
#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "pipeline_test_support.h"

namespace visbone::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::project_dir;
using testing::read_file;
using testing::TempDir;

const fs::path kJob = "examples/k8s/digits-shards.yaml";
const fs::path kSbatch = "examples/slurm/digits-shards.sbatch";

TEST(ShardExamples, TheReadmeShowsBothFilesVerbatim) {
  const std::string readme = read_file(project_dir() / "README.md");
  for (const fs::path& f : {kJob, kSbatch}) {
    const std::string text = read_file(project_dir() / f);
    ASSERT_FALSE(text.empty()) << f;
    EXPECT_NE(readme.find("\n" + text + "```\n"), std::string::npos) << "README.md does not show " << f;
  }
}

TEST(ShardExamples, TheSbatchFileIsAFourTaskArrayWithoutAFixedShard) {
  const std::string text = read_file(project_dir() / kSbatch);
  EXPECT_NE(text.find("\n#SBATCH --array=0-3\n"), std::string::npos);
  // The shard comes from the array's variables, so the file names none.
  EXPECT_EQ(text.find("--shard"), std::string::npos);
  EXPECT_NE(text.find(" run configs/default.yaml --output "), std::string::npos);
}

// The value after `flag` in `args`, or "" when it is absent.
std::string after(const std::vector<std::string>& args, const std::string& flag) {
  const auto it = std::find(args.begin(), args.end(), flag);
  return it == args.end() || it + 1 == args.end() ? "" : *(it + 1);
}

bool starts_with_dir(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

TEST(ShardExamples, TheIndexedJobRunsAsShardsThatMergeToTheSingleRun) {
  const std::vector<YAML::Node> docs = YAML::LoadAllFromFile((project_dir() / kJob).string());
  YAML::Node job, claim;
  for (const YAML::Node& d : docs) {
    if (d["kind"].as<std::string>() == "Job") job = d;
    if (d["kind"].as<std::string>() == "PersistentVolumeClaim") claim = d;
  }
  ASSERT_TRUE(job) << kJob << " has no Job";
  EXPECT_EQ(job["apiVersion"].as<std::string>(), "batch/v1");
  const YAML::Node spec = job["spec"];
  // Indexed: Kubernetes gives each pod its JOB_COMPLETION_INDEX, 0 .. completions - 1.
  EXPECT_EQ(spec["completionMode"].as<std::string>(), "Indexed");
  const int n = spec["completions"].as<int>();
  const int parallelism = spec["parallelism"].as<int>();
  EXPECT_GE(n, 2);
  EXPECT_TRUE(parallelism >= 1 && parallelism <= n) << parallelism;
  const YAML::Node pod = spec["template"]["spec"];
  EXPECT_NE(pod["restartPolicy"].as<std::string>(), "Always");  // a Job's pods must end
  ASSERT_EQ(pod["containers"].size(), 1u);
  const YAML::Node container = pod["containers"][0];
  for (const YAML::Node& e : container["env"])
    EXPECT_NE(e["name"].as<std::string>(), "JOB_COMPLETION_INDEX")
        << "Kubernetes sets it; the manifest must not";
  const auto command = container["command"].as<std::vector<std::string>>();
  ASSERT_GE(command.size(), 3u);
  EXPECT_EQ(command[0], "visbone");
  EXPECT_EQ(command[1], "run");
  EXPECT_EQ(after(command, "--shards"), std::to_string(n)) << "--shards must equal completions";
  EXPECT_EQ(std::find(command.begin(), command.end(), "--shard"), command.end());
  // The output folder (and the config) lie on one volume every pod mounts: a ReadWriteMany claim.
  ASSERT_EQ(container["volumeMounts"].size(), 1u);
  const std::string mount = container["volumeMounts"][0]["mountPath"].as<std::string>();
  const std::string volume_name = container["volumeMounts"][0]["name"].as<std::string>();
  ASSERT_EQ(pod["volumes"].size(), 1u);
  EXPECT_EQ(pod["volumes"][0]["name"].as<std::string>(), volume_name);
  const std::string claim_name = pod["volumes"][0]["persistentVolumeClaim"]["claimName"].as<std::string>();
  ASSERT_TRUE(claim) << kJob << " has no PersistentVolumeClaim";
  EXPECT_EQ(claim["metadata"]["name"].as<std::string>(), claim_name);
  const auto modes = claim["spec"]["accessModes"].as<std::vector<std::string>>();
  EXPECT_NE(std::find(modes.begin(), modes.end(), "ReadWriteMany"), modes.end());
  const std::string output = after(command, "--output");
  EXPECT_TRUE(starts_with_dir(output, mount)) << output << " is not on the shared volume " << mount;
  EXPECT_TRUE(starts_with_dir(command[2], mount)) << command[2] << " is not on the shared volume " << mount;

  // Each pod, here: the volume is a folder holding the repository as `visbone/`.
  TempDir shared;
  fs::create_directory_symlink(project_dir(), shared / "visbone");
  const auto local = [&](const std::string& p) {
    return (shared.path() / p.substr(mount.size() + 1)).string();
  };
  std::vector<std::string> args(command.begin() + 1, command.end());
  for (std::string& a : args)
    if (starts_with_dir(a, mount)) a = local(a);
  for (int i = 0; i < n; ++i) {
    const auto r = testing::run_visbone(
        args, {{"JOB_COMPLETION_INDEX", std::to_string(i)}, {"SLURM_ARRAY_TASK_ID", std::nullopt}});
    ASSERT_EQ(r.status, 0) << "pod " << i << ": " << r.all();
  }
  auto r = testing::run_visbone({"merge", local(output)});
  ASSERT_EQ(r.status, 0) << r.all();
  r = testing::run_visbone(
      {"run", local(command[2]), "--output", (shared / "single").string(), "--progress", "none"});
  ASSERT_EQ(r.status, 0) << r.all();
  for (const std::string f : {"predictions.jsonl", "predictions.csv"}) {
    const std::string single = read_file(shared / "single" / f);
    ASSERT_FALSE(single.empty()) << f;
    EXPECT_TRUE(read_file(fs::path(local(output)) / f) == single) << f;
  }
}

}  // namespace
}  // namespace visbone::pipeline
