#!/usr/bin/env bash
# The quick start's test command: set up, build, and run the whole test suite.
#   scripts/test.sh          Release build in build/ (with bench/'s micro-benchmarks)
#   scripts/test.sh --asan   AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/: clang, configured
#                            as fuzz/run.sh configures it (libFuzzer coverage, _GLIBCXX_ASSERTIONS), so the fuzz
#                            targets are built there too and fuzz/run.sh reuses the build
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--asan" ]; then
  export VISBONE_BUILD_DIR=build-asan
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp}
  bash scripts/setup.sh $(bash fuzz/run.sh --cmake-options)
else
  bash scripts/setup.sh -DVISBONE_BUILD_BENCH=ON  # the micro-benchmarks are built (not run) so they keep compiling
fi
BUILD_DIR=${VISBONE_BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)"
