#!/usr/bin/env bash
# Crash safety of resumable runs (issue #17 item 3): `visbone run --resume` of the digits set (300 inputs,
# chunks of 32: 10 chunks) into one folder, killed with SIGKILL at a random moment KILLS times (default 20),
# each kill followed by a check that every output present under its real name is whole (the bytes of an
# uninterrupted single run), and by a `--resume` to the end in a copy of the folder, whose files must be
# the single run's bytes. The kills add up: each run goes on from the chunks the earlier ones committed.
# Usage: tests/pipeline/resume_kill_test.sh [KILLS=20]  (env: VISBONE=build/bin/visbone, RESUME_SEED=1).
# Prints one line per kill and its time; exit 1 on any difference.
set -euo pipefail
cd "$(dirname "$0")/../.."
KILLS=${1:-20}
VISBONE=${VISBONE:-$PWD/build/bin/visbone}
RANDOM=${RESUME_SEED:-1}
[ -x "$VISBONE" ] || { echo "resume_kill_test: $VISBONE not built" >&2; exit 2; }
start=$(date +%s)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/run.yaml" <<CONF
source: {type: folder, path: $PWD/tests/data/digits/images, labels_from_folders: true}
model: {checkpoint: $PWD/tests/data/models/bit-tiny-digits}
heads:
  - {type: classification, top_k: 3}
  - {type: embedding}
sinks:
  - {type: jsonl, path: predictions.jsonl}
  - {type: csv, path: predictions.csv}
  - {type: safetensors, path: features.safetensors}
  - {type: safetensors, path: stacked.safetensors, stack: true}
batch_size: 32
threads: 1
CONF
outputs=(predictions.jsonl predictions.csv features.safetensors stacked.safetensors)
resume() { "$VISBONE" run "$WORK/run.yaml" --output "$1" --resume --chunk 32 --progress none; }

"$VISBONE" run "$WORK/run.yaml" --output "$WORK/single" --progress none >/dev/null
t0=$(date +%s%N)
resume "$WORK/timed" >/dev/null
ms=$((($(date +%s%N) - t0) / 1000000))
echo "resume_kill_test: an uninterrupted --resume run takes $ms ms; killing $KILLS times within that"

status=0
same_as_single() {  # folder, "all" (every output must be there) or "present"
  local f
  for f in "${outputs[@]}"; do
    if [ -e "$1/$f" ]; then
      cmp -s "$1/$f" "$WORK/single/$f" || { echo "  $1/$f differs from the single run's"; return 1; }
    elif [ "$2" = all ]; then
      echo "  $1/$f missing"
      return 1
    fi
  done
}
mkdir -p "$WORK/out"  # a run killed before it made the folder leaves nothing to copy
for ((k = 1; k <= KILLS; k++)); do
  at=$((RANDOM % ms))
  # The program itself in the background (not a shell function's subshell), so the kill reaches it.
  "$VISBONE" run "$WORK/run.yaml" --output "$WORK/out" --resume --chunk 32 --progress none >/dev/null 2>&1 &
  pid=$!
  sleep "$(awk -v m="$at" 'BEGIN { printf "%.3f", m / 1000 }')"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  committed=0
  [ -d "$WORK/out/.visbone-journal" ] && committed=$(find "$WORK/out/.visbone-journal" -name '_manifest.part-*' | wc -l)
  same_as_single "$WORK/out" present || status=1
  rm -rf "$WORK/copy"
  cp -a "$WORK/out" "$WORK/copy"
  line=$(resume "$WORK/copy" | head -n 1)
  if same_as_single "$WORK/copy" all; then result=identical; else result=DIFFERENT; status=1; fi
  echo "kill $k at $at ms: $committed chunks committed; resumed: $line; $result"
done
echo "resume_kill_test: $([ "$status" = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - start)) s"
exit "$status"
