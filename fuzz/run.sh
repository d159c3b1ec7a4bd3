#!/usr/bin/env bash
# Builds the fuzz targets with clang (libFuzzer + ASan + UBSan) in build-asan/ and runs each for a time.
#   fuzz/run.sh TARGET|all SECONDS     e.g. fuzz/run.sh all 30 (CI), fuzz/run.sh fuzz_image 300
#   fuzz/run.sh --cmake-options        prints the build's cmake options: scripts/test.sh --asan configures
#                                      build-asan/ with the same, so the sanitizer suite and the fuzz targets
#                                      share one build
# Each target starts from its seeds in fuzz/corpus/TARGET/ plus what earlier runs found (kept in
# build-asan/corpus/TARGET/, so the committed seeds stay small). A finding (crash, sanitizer report, leak,
# timeout, out-of-memory, uncaught exception) is saved under build-asan/artifacts/TARGET/; reproduce it with
# build-asan/bin/TARGET FILE, then add the file to tests/data/bad/ (or a unit test) with the fix.
# Prints one line per target with its execution count and status; exits non-zero if any target found something.
# VISBONE_FUZZ_SEED=N fixes libFuzzer's seed (CI does, so a run there explores the same inputs each time and
# a red run means a regression); unset, every run explores new ones.
set -euo pipefail
cd "$(dirname "$0")/.."
options=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVISBONE_BUILD_FUZZ=ON)
if [ "${1:-}" = --cmake-options ]; then
  echo "${options[@]}"
  exit 0
fi
if [ $# -ne 2 ]; then
  echo "usage: fuzz/run.sh TARGET|all SECONDS" >&2
  exit 2
fi
which=$1
seconds=$2
BUILD_DIR=${VISBONE_FUZZ_BUILD_DIR:-build-asan}
all=(fuzz_safetensors fuzz_sharded_index fuzz_npz fuzz_bit_config fuzz_preprocessor_config fuzz_image
     fuzz_pipeline_config fuzz_serve_request)
if [ "$which" = all ]; then
  targets=("${all[@]}")
else
  targets=("$which")
fi

cmake -S . -B "$BUILD_DIR" "${options[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target "${targets[@]}"

failed=0
for t in "${targets[@]}"; do
  corpus=$BUILD_DIR/corpus/$t
  artifacts=$BUILD_DIR/artifacts/$t
  log=$BUILD_DIR/logs/$t.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  status=ok
  # -timeout: one input taking longer than this is a finding (a hang); -rss_limit_mb: so is using more memory.
  "$BUILD_DIR/bin/$t" "$corpus" "fuzz/corpus/$t" ${VISBONE_FUZZ_SEED:+-seed=$VISBONE_FUZZ_SEED} -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1 || status=FOUND
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$status" = FOUND ]; then
    failed=1
    echo "fuzz: $t: FOUND something after ${execs:-?} executions; see $log and $artifacts/"
    grep -m 5 -E "ERROR|finding|terminate|what\(\)|SUMMARY" "$log" | sed 's/^/  /' || true
  else
    echo "fuzz: $t: ok, ${execs:-?} executions in ${seconds} s, no finding"
  fi
done
exit $failed
