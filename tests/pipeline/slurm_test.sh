#!/usr/bin/env bash
# Sharded runs on a real Slurm cluster (issue #17 item 4): starts a one-node cluster with
# scripts/slurm_local.sh (installs slurm-wlm and munge if missing; needs root), submits the README's job array
# examples/slurm/digits-shards.sbatch with `sbatch --array=0-3` (4 shards of the digits demo into one
# folder), waits for it (at most SLURM_TEST_TIMEOUT seconds, default 300), runs `visbone merge` and checks the
# merged files against a single-process run byte for byte; stops the cluster and removes its files at the
# end. Prints what it runs and sees (a transcript) and its time; exit 1 on any difference or failed task.
# Env: VISBONE=build/bin/visbone, SLURM_LOCAL_PORT (default 16817 here, away from a cluster on Slurm's own).
set -euo pipefail
cd "$(dirname "$0")/../.."
VISBONE=${VISBONE:-$PWD/build/bin/visbone}
TIMEOUT=${SLURM_TEST_TIMEOUT:-300}
export SLURM_LOCAL_PORT=${SLURM_LOCAL_PORT:-16817}
[ -x "$VISBONE" ] || { echo "slurm_test: $VISBONE not built" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "slurm_test: needs root (to start munged, slurmctld and slurmd)" >&2; exit 2; }
start=$(date +%s)
WORK=$(mktemp -d /tmp/visbone-slurm-test.XXXXXX)
chmod 755 "$WORK"  # munged (user munge) keeps its socket and log below it
CLUSTER=$WORK/cluster
JOB=""
cleanup() {
  if [ -n "$JOB" ] && [ -n "$(squeue -h -j "$JOB" 2>/dev/null)" ]; then
    scancel "$JOB" || true
    for _ in $(seq 1 30); do [ -z "$(squeue -h -j "$JOB" 2>/dev/null)" ] && break; sleep 1; done
  fi
  bash scripts/slurm_local.sh stop "$CLUSTER"
  rm -rf "$WORK"
}
trap cleanup EXIT
say() { echo "+ $*"; }

conf=$(bash scripts/slurm_local.sh start "$CLUSTER" | tail -n 1)
eval "$conf"
say sinfo
sinfo

# The job's environment (VISBONE, OUTPUT) comes from here: sbatch exports it (--export=ALL, the default).
export OUTPUT=$WORK/sharded
export VISBONE
say sbatch --parsable --array=0-3 --output="$WORK/slurm-%A_%a.out" examples/slurm/digits-shards.sbatch
JOB=$(sbatch --parsable --array=0-3 --output="$WORK/slurm-%A_%a.out" examples/slurm/digits-shards.sbatch)
echo "$JOB"
last=""
for ((t = 0; ; t++)); do
  if [ "$t" -ge "$TIMEOUT" ]; then
    echo "slurm_test: job $JOB not done after $TIMEOUT s" >&2
    exit 1
  fi
  # A failing squeue (slurmctld busy) is asked again; only an answer without the job ends the wait.
  if ! now=$(squeue -h -j "$JOB" -o '%i %T %R' 2>&1); then
    sleep 1
    continue
  fi
  if [ "$now" != "$last" ]; then
    say squeue -j "$JOB"
    squeue -j "$JOB" -o '%.12i %.10T %.10M %R'
    last=$now
  fi
  [ -z "$now" ] && break
  sleep 1
done
# No accounting here: the tasks' states come from slurmctld's memory of finished jobs (MinJobAge, 300 s).
say scontrol -o show job "$JOB"
states=$(scontrol -o show job "$JOB" |
  sed -E 's/.* ArrayTaskId=([0-9]+) .* JobState=([A-Z_]+) .* ExitCode=([0-9:]+) .*/task \1: \2, exit code \3/' | sort)
echo "$states"
if [ "$(grep -c ': COMPLETED, exit code 0:0$' <<<"$states")" != 4 ]; then
  echo "slurm_test: not every task of job $JOB completed with exit code 0" >&2
  cat "$WORK"/slurm-*.out >&2 || true
  exit 1
fi
for f in "$WORK"/slurm-*.out; do
  say "head -1 $f"
  head -n 1 "$f"
done
say ls "$OUTPUT"
ls "$OUTPUT"
say visbone merge "$OUTPUT"
"$VISBONE" merge "$OUTPUT"
say visbone run configs/default.yaml --output "$WORK/single" --progress none
"$VISBONE" run configs/default.yaml --output "$WORK/single" --progress none >/dev/null
status=0
for f in predictions.jsonl predictions.csv; do
  say cmp "$OUTPUT/$f" "$WORK/single/$f"
  if cmp "$OUTPUT/$f" "$WORK/single/$f"; then
    echo "identical: $f ($(wc -c <"$OUTPUT/$f") bytes, sha256 $(sha256sum <"$OUTPUT/$f" | cut -c1-16)...)"
  else
    status=1
  fi
done
echo "slurm_test: $([ "$status" = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - start)) s"
exit "$status"
