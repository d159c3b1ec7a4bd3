#!/usr/bin/env bash
# Crash safety of resumable runs (issue #17 item 3): `visbone run --resume` of the digits set (300 inputs,
# chunks of 32: 10 chunks) into one folder, killed with SIGKILL at a random moment KILLS times (default 20),
# each kill followed by a check that every output present under its real name is whole (the bytes of an
# uninterrupted single run), and by a `--resume` to the end in a copy of the folder, whose files must be
# the single run's bytes. The kills add up: each run goes on from the chunks the earlier ones committed.
# Then content keys: killed again, one input's bytes changed, resumed: the files are those of a single run
# over the changed input, whose record alone has another content_key; killed again, the model's bytes
# changed, resumed: the files are a single run's with that model, and every record has another key.
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
cp -r tests/data/digits/images "$WORK/images"  # copies: the last two rounds change an image and the model
cp -r tests/data/models/bit-tiny-digits "$WORK/model"
cat >"$WORK/run.yaml" <<CONF
source: {type: folder, path: $WORK/images, labels_from_folders: true}
model: {checkpoint: $WORK/model}
heads:
  - {type: classification, top_k: 3}
  - {type: embedding}
sinks:
  - {type: jsonl, path: predictions.jsonl}
  - {type: csv, path: predictions.csv}
  - {type: safetensors, path: features.safetensors}
  - {type: safetensors, path: stacked.safetensors, stack: true}
  - {type: embedding_index, path: gallery.safetensors}
batch_size: 32
threads: 1
CONF
outputs=(predictions.jsonl predictions.csv features.safetensors stacked.safetensors gallery.safetensors)
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
  line=$(resume "$WORK/copy" | sed -n 1p)
  if same_as_single "$WORK/copy" all; then result=identical; else result=DIFFERENT; status=1; fi
  echo "kill $k at $at ms: $committed chunks committed; resumed: $line; $result"
done
keys() { grep -o '"content_key":"[0-9a-f]*"' "$1/predictions.jsonl"; }
manifests() { find "$1/.visbone-journal" -name '_manifest.part-*' 2>/dev/null | wc -l; }
# Kills a --resume run into a fresh folder once it has committed 5 of its 10 chunks, runs `change`, resumes
# and compares with a single run made after the change; sets `changed` (records whose key changed) and
# `taken` (chunks the resumed run took from the journal) of `committed`.
changed_round() {
  local what=$1 change=$2 waited=0
  rm -rf "$WORK/round" "$WORK/single2"
  "$VISBONE" run "$WORK/run.yaml" --output "$WORK/round" --resume --chunk 32 --progress none >/dev/null 2>&1 &
  pid=$!
  while [ "$(manifests "$WORK/round")" -lt 5 ] && [ $((waited += 1)) -lt 3000 ]; do sleep 0.01; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  committed=$(manifests "$WORK/round")
  eval "$change"
  "$VISBONE" run "$WORK/run.yaml" --output "$WORK/single2" --progress none >/dev/null
  line=$(resume "$WORK/round" | sed -n 1p)
  taken=$(echo "$line" | sed -n 's/.*(\([0-9]*\) taken.*/\1/p')
  local f result=identical
  for f in "${outputs[@]}"; do
    cmp -s "$WORK/round/$f" "$WORK/single2/$f" || { echo "  $f differs from the single run's"; result=DIFFERENT; status=1; }
  done
  changed=$(diff <(keys "$WORK/single") <(keys "$WORK/round") | grep -c '^>' || true)
  echo "$what: killed with $committed chunks committed; resumed: $line; $changed of 300 records have another content_key; $result"
}
first=$(find "$WORK/images" -name '*.png' | sort | sed -n 1p)
target=$(find "$WORK/images" -name '*.png' | sort | sed -n 41p)  # input 40: chunk 1
changed_round "one image's bytes changed" 'cp "$first" "$target"'
[ "$changed" = 1 ] || { echo "  expected 1 record with another key"; status=1; }
[ "$taken" = $((committed - 1)) ] || { echo "  expected every committed chunk but chunk 1 to be taken"; status=1; }
rm -rf "$WORK/single" && cp -r "$WORK/single2" "$WORK/single"  # the reference for the model round: the changed image kept
changed_round "the model's bytes changed" 'echo >>"$WORK/model/config.json"'
[ "$changed" = 300 ] || { echo "  expected 300 records with another key"; status=1; }
[ "$taken" = 0 ] || { echo "  expected no chunk to be taken"; status=1; }
echo "resume_kill_test: $([ "$status" = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - start)) s"
exit "$status"
