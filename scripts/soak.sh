#!/usr/bin/env bash
# Soak test of "nothing lost, nothing mixed" (issue 16): `visbone run` of the digits demo into one output
# folder ROUNDS times, alternating two input sets (300 and 150 images, so a mix of two runs' files is visible),
# most runs killed with SIGKILL at a random moment, then one round on a full disk (a 1 MiB tmpfs, when run
# as root). After every run, scripts/soak_check.py parses every file in the folder: none may be truncated,
# and a folder with _SUCCESS must hold one complete run (every sink and the summary agree on the inputs).
# Usage: scripts/soak.sh [ROUNDS=50]  (env: VISBONE=build/bin/visbone, SOAK_SEED=1). Prints what it found
# and its time; exit 1 on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-50}
VISBONE=${VISBONE:-build/bin/visbone}
RANDOM=${SOAK_SEED:-1}
[ -x "$VISBONE" ] || { echo "soak: $VISBONE not built" >&2; exit 2; }
WORK=$(mktemp -d)
MOUNTED=""
cleanup() {
  [ -n "$MOUNTED" ] && umount "$MOUNTED" 2> /dev/null
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
  "$VISBONE" run configs/default.yaml --input "$input" --output "$out" --progress none > /dev/null 2> "$WORK/err" &
  local pid=$!
  if [ -n "$kill_after" ]; then
    sleep "$kill_after"
    kill -KILL "$pid" 2> /dev/null || true
  fi
  local rc=0
  wait "$pid" 2> /dev/null || rc=$?
  return "$rc"
}

# One uninterrupted run: the time a run takes sets the range of kill moments.
t=$(date +%s%N)
run_once "$WORK/out" "${inputs[0]}" || { cat "$WORK/err"; echo "soak: the first run failed" >&2; exit 1; }
duration_ms=$(( ($(date +%s%N) - t) / 1000000 ))
/usr/bin/python3 scripts/soak_check.py "$WORK/out" --expect-complete

killed=0 completed=0 findings=0
declare -A states=()
for round in $(seq "$ROUNDS"); do
  input=${inputs[$((round % 2))]}
  if [ $((RANDOM % 5)) -eq 0 ]; then
    rc=0; run_once "$WORK/out" "$input" || rc=$?
  else
    ms=$((RANDOM % (duration_ms + 1)))
    rc=0; run_once "$WORK/out" "$input" "$((ms / 1000)).$(printf %03d $((ms % 1000)))" || rc=$?
  fi
  if [ "$rc" = 137 ]; then killed=$((killed + 1)); elif [ "$rc" = 0 ]; then completed=$((completed + 1)); else
    echo "soak: round $round: exit $rc"; cat "$WORK/err"; findings=$((findings + 1)); fi
  state=$(/usr/bin/python3 scripts/soak_check.py "$WORK/out" --state) ||
    { echo "$state"; echo "soak: round $round left the folder above"; findings=$((findings + 1)); }
  state=${state##*$'\n'}
  states[$state]=$(( ${states[$state]:-0} + 1 ))
done

# A full disk: the run must fail (non-zero) and leave no truncated file and no _SUCCESS.
full="skipped (needs root to mount a tmpfs)"
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$WORK/small"
  if mount -t tmpfs -o size=1m tmpfs "$WORK/small" 2> /dev/null; then
    MOUNTED="$WORK/small"
    head -c 900k /dev/zero > "$WORK/small/filler"
    rc=0; run_once "$WORK/small/out" "${inputs[0]}" || rc=$?
    if [ "$rc" = 0 ]; then full="FOUND: exit 0 on a full disk"; findings=$((findings + 1));
    elif [ -e "$WORK/small/out/_SUCCESS" ]; then full="FOUND: _SUCCESS on a full disk"; findings=$((findings + 1));
    elif ! /usr/bin/python3 scripts/soak_check.py "$WORK/small/out"; then full="FOUND: a truncated file"; findings=$((findings + 1));
    else full="exit $rc, $(grep -m1 -o 'No space left on device' "$WORK/err" || head -c 200 "$WORK/err"), no _SUCCESS, nothing truncated"; fi
    umount "$WORK/small"; MOUNTED=""
  else
    full="skipped (mount -t tmpfs failed)"
  fi
fi
tally=$(for k in "${!states[@]}"; do printf '%s %s, ' "${states[$k]}" "$k"; done)
echo "soak: $ROUNDS runs ($killed killed at random moments within ${duration_ms} ms, $completed completed), folder checked after each (${tally%, }); full disk: $full; findings: $findings; $(( $(date +%s) - start )) s"
[ "$findings" = 0 ]
