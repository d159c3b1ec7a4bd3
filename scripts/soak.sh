#!/usr/bin/env bash
# Soak test of "nothing lost, nothing mixed" (issue 16): `visbone run` of the digits set with every sink type
# (scripts/soak.yaml: jsonl, csv, safetensors, embedding_index, contact_sheet, annotated_images, heatmap and
# the summary) into one output folder ROUNDS times, alternating two input sets (300 and 150 images, so a mix
# of two runs' files is visible), most runs killed with SIGKILL at a random moment, then one round on a full
# disk over a folder that holds a complete earlier run (a tmpfs, when run as root): the run must fail and
# leave the earlier run's files intact or the folder without _SUCCESS, and the next run with room must leave
# exactly its own files. After every run, scripts/soak_check.py parses every file in the folder and its
# per-input folders: none may be truncated, and a folder with _SUCCESS must hold one complete run (every
# output present, every sink and per-input folder holding exactly the inputs the summary counts, no other
# file).
# Usage: scripts/soak.sh [ROUNDS=50]  (env: VISBONE=build/bin/visbone, SOAK_SEED=1). Prints what it found
# and its time; exit 1 on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-50}
VISBONE=${VISBONE:-build/bin/visbone}
RANDOM=${SOAK_SEED:-1}
[ -x "$VISBONE" ] || { echo "soak: $VISBONE not built" >&2; exit 2; }
WORK=$(mktemp -d)
MOUNTED="" RAM=""
cleanup() {
  [ -n "$MOUNTED" ] && umount "$MOUNTED" 2> /dev/null
  [ -n "$RAM" ] && umount "$RAM" 2> /dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
start=$(date +%s)

# Two input sets: all 300 digits, and every second one (150), each one folder per label.
mkdir -p "$WORK/half"
(cd data/digits && find . -name '*.png' | sort) | awk 'NR % 2 == 0' | while read -r f; do
  mkdir -p "$WORK/half/$(dirname "$f")"
  cp "data/digits/$f" "$WORK/half/$f"
done
inputs=("$PWD/data/digits" "$WORK/half")

run_once() {  # OUT INPUT [KILL_AFTER_SECONDS] -> exit status of the run (137 when killed)
  local out=$1 input=$2 kill_after=${3:-}
  "$VISBONE" run scripts/soak.yaml --input "$input" --output "$out" --progress none > /dev/null 2> "$WORK/err" &
  local pid=$!
  if [ -n "$kill_after" ]; then
    sleep "$kill_after"
    kill -KILL "$pid" 2> /dev/null || true
  fi
  local rc=0
  wait "$pid" 2> /dev/null || rc=$?
  return "$rc"
}

# The killed runs' folder: on a tmpfs when run as root. A SIGKILL leaves the page cache as it is, so what a
# killed run leaves is the same as on a disk, without the ~600 fsyncs per run a busy disk makes take seconds
# (50 rounds: about 40 s instead of about 3 minutes on 2 busy cores).
OUT="$WORK/out"
if [ "$(id -u)" = 0 ] && mkdir -p "$WORK/ram" && mount -t tmpfs -o size=256m tmpfs "$WORK/ram" 2> /dev/null; then
  RAM="$WORK/ram"
  OUT="$RAM/out"
fi

# One uninterrupted run: the time a run takes sets the range of kill moments.
t=$(date +%s%N)
run_once "$OUT" "${inputs[0]}" || { cat "$WORK/err"; echo "soak: the first run failed" >&2; exit 1; }
duration_ms=$(( ($(date +%s%N) - t) / 1000000 ))
/usr/bin/python3 scripts/soak_check.py "$OUT" --expect-complete

killed=0 completed=0 findings=0
declare -A states=()
for round in $(seq "$ROUNDS"); do
  input=${inputs[$((round % 2))]}
  if [ $((RANDOM % 5)) -eq 0 ]; then
    rc=0; run_once "$OUT" "$input" || rc=$?
  else
    ms=$((RANDOM % (duration_ms + 1)))
    rc=0; run_once "$OUT" "$input" "$((ms / 1000)).$(printf %03d $((ms % 1000)))" || rc=$?
  fi
  if [ "$rc" = 137 ]; then killed=$((killed + 1)); elif [ "$rc" = 0 ]; then completed=$((completed + 1)); else
    echo "soak: round $round: exit $rc"; cat "$WORK/err"; findings=$((findings + 1)); fi
  state=$(/usr/bin/python3 scripts/soak_check.py "$OUT" --state) ||
    { echo "$state"; echo "soak: round $round left the folder above"; findings=$((findings + 1)); }
  state=${state##*$'\n'}
  states[$state]=$(( ${states[$state]:-0} + 1 ))
done

# A full disk under a folder that holds a complete earlier run (of the 150 inputs): the run of the 300 must
# fail (non-zero) and leave the earlier run's files intact (with _SUCCESS) or the folder without _SUCCESS,
# nothing truncated; given room again, the next run leaves exactly its own files.
full="skipped (needs root to mount a tmpfs)"
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$WORK/small"
  if mount -t tmpfs -o size=16m tmpfs "$WORK/small" 2> /dev/null; then
    MOUNTED="$WORK/small"
    out="$WORK/small/out"
    rc=0; run_once "$out" "${inputs[1]}" || rc=$?
    [ "$rc" = 0 ] || { cat "$WORK/err"; echo "soak: the run before the full disk failed" >&2; exit 1; }
    /usr/bin/python3 scripts/soak_check.py "$out" --expect-complete
    (cd "$out" && find . -type f ! -name '.*' ! -name _SUCCESS | sort | xargs sha256sum) > "$WORK/before"
    # Fill the disk, then leave 256 KiB: the run gets going and runs out of room part way.
    dd if=/dev/zero of="$WORK/small/filler" bs=64k 2> /dev/null || true
    truncate -s -256K "$WORK/small/filler"
    rc=0; run_once "$out" "${inputs[0]}" || rc=$?
    changed=$(cd "$out" && sha256sum --quiet -c "$WORK/before" 2> /dev/null | grep FAILED | cut -d: -f1 || true)
    intact="$(( $(wc -l < "$WORK/before") - $(printf '%s' "$changed" | grep -c . || true) )) of $(wc -l < "$WORK/before") earlier files intact"
    [ -z "$changed" ] || intact="$intact (changed: $(echo $changed | head -c 120))"
    if [ "$rc" = 0 ]; then full="FOUND: exit 0 on a full disk"; findings=$((findings + 1));
    elif [ -e "$out/_SUCCESS" ] && ! (cd "$out" && sha256sum --quiet -c "$WORK/before" > /dev/null 2>&1); then
      full="FOUND: _SUCCESS over changed files after a full disk ($intact)"; findings=$((findings + 1));
    elif ! /usr/bin/python3 scripts/soak_check.py "$out"; then full="FOUND: a truncated or mixed file"; findings=$((findings + 1));
    else
      state=$([ -e "$out/_SUCCESS" ] && echo "earlier run complete" || echo "no _SUCCESS")
      full="exit $rc, $(grep -m1 -o 'No space left on device' "$WORK/err" || head -c 200 "$WORK/err"), $state, $intact, nothing truncated"
      rm -f "$WORK/small/filler"
      rc=0; run_once "$out" "${inputs[0]}" || rc=$?
      if [ "$rc" != 0 ] || ! /usr/bin/python3 scripts/soak_check.py "$out" --expect-complete; then
        full="$full; FOUND: the run after it (exit $rc) did not leave one complete run"; findings=$((findings + 1))
      else
        full="$full; the next run with room: complete, its files only"
      fi
    fi
    umount "$WORK/small"; MOUNTED=""
  else
    full="skipped (mount -t tmpfs failed)"
  fi
fi
tally=$(for k in "${!states[@]}"; do printf '%s %s, ' "${states[$k]}" "$k"; done)
echo "soak: $ROUNDS runs ($killed killed at random moments within ${duration_ms} ms, $completed completed), folder checked after each (${tally%, }); full disk: $full; findings: $findings; $(( $(date +%s) - start )) s"
[ "$findings" = 0 ]
