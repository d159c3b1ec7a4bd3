#!/usr/bin/env bash
# Mutation testing: builds the project with one deliberate single-line bug at a time (the mutants listed in
# scripts/mutants.txt) and runs the tests that must catch it. Every mutant must be killed (some test fails);
# a survivor means the suite no longer guards that line, and the script fails.
#   scripts/mutants.sh [REGEX]     REGEX: only the mutants whose name matches (default: all)
# Mutants are applied to the source tree in place, one at a time, and the original file is always put back
# (also on Ctrl-C or an error; a copy waits in BUILD.before-mutants.sources/ until it is). The build folder is
# build-mutants/ (Release; VISBONE_MUTANTS_BUILD_DIR=build reuses the test build, as CI does; ccache when
# installed); only the test executable a mutant names is rebuilt, so each mutant costs one compile and one link.
# The build folder is copied first (to BUILD.before-mutants) and put back at the end, and the sources get their
# own modification times back, so the folder is exactly the original build again without rebuilding anything
# (CI's soak and packages run from it after this); the mutants' logs move to BUILD/mutants/.
# Prints one row per mutant (name, file, the test that killed it, seconds) and the total time.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LIST=${VISBONE_MUTANTS:-scripts/mutants.txt}
BUILD=${VISBONE_MUTANTS_BUILD_DIR:-build-mutants}
BUILD=${BUILD%/}
SNAPSHOT=$BUILD.before-mutants
BACKUP=$SNAPSHOT.sources  # the file a mutant changed, until it is put back
MTIMES=$SNAPSHOT.mtimes    # per mutated source, an empty file with the source's original modification time
LOGS=$BUILD/mutants
only=${1:-}
export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-$(command -v ccache || true)}

# Puts back every source, then its original modification time, then the build folder as it was before the
# first mutant, keeping this run's logs. A run killed hard (SIGKILL) leaves the copies: they are put back
# before anything else.
restore_all() {
  local saved rel
  if [ -d "$BACKUP" ]; then
    while IFS= read -r -d '' saved; do
      rel=${saved#"$BACKUP"/}
      cp "$saved" "$ROOT/$rel" && rm -f "$saved"
    done < <(find "$BACKUP" -type f -print0)
    rm -rf "$BACKUP"
  fi
  if [ -d "$MTIMES" ]; then
    while IFS= read -r -d '' saved; do
      rel=${saved#"$MTIMES"/}
      touch -r "$saved" "$ROOT/$rel"
    done < <(find "$MTIMES" -type f -print0)
    rm -rf "$MTIMES"
  fi
  if [ -d "$SNAPSHOT" ]; then
    [ -d "$LOGS" ] && rm -rf "$SNAPSHOT/mutants" && mv "$LOGS" "$SNAPSHOT/mutants"
    rm -rf "$BUILD" && mv "$SNAPSHOT" "$BUILD"
  fi
}
restore_all
trap 'restore_all; exit 130' INT TERM
trap 'restore_all' EXIT

start=$(date +%s)
mkdir -p "$BUILD"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$BUILD/configure.log" 2>&1 ||
  { echo "mutants: configure failed, see $BUILD/configure.log" >&2; exit 2; }
# Build, from the original sources, every test executable the chosen mutants name (nothing to do when the folder
# is CI's complete build), so the copy holds them and each mutant costs one compile and one link.
targets=()
while IFS=$'\t' read -r name _ _ _ target _; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  [[ -n "$only" && ! "$name" =~ $only ]] && continue
  [[ " ${targets[*]} " == *" $target "* ]] || targets+=("$target")
done <"$LIST"
if [ ${#targets[@]} -gt 0 ]; then
  cmake --build "$BUILD" -j "$(nproc)" --target "${targets[@]}" >"$BUILD/original.log" 2>&1 ||
    { echo "mutants: the original sources do not build, see $BUILD/original.log" >&2; exit 2; }
fi
cp -a "$BUILD" "$SNAPSHOT" || { echo "mutants: could not copy $BUILD to $SNAPSHOT" >&2; exit 2; }
rm -rf "$LOGS" && mkdir -p "$LOGS"

# mutants.txt: NAME <tab> FILE <tab> ORIGINAL <tab> REPLACEMENT <tab> TARGET <tab> CTEST_REGEX
# ORIGINAL must occur exactly once in FILE (a stale line is an error, not a silent skip).
mutate() {  # FILE ORIGINAL REPLACEMENT: replaces the one occurrence; status 3 when not exactly one
  python3 - "$@" <<'EOF'
import sys
path, old, new = sys.argv[1:4]
text = open(path).read()
n = text.count(old)
if n != 1:
    print(f"{path}: the mutant's original text occurs {n} times (expected once): {old!r}", file=sys.stderr)
    sys.exit(3)
open(path, "w").write(text.replace(old, new, 1))
EOF
}

printf '%-28s %-44s %-58s %6s\n' MUTANT FILE "KILLED BY" SECONDS
survivors=0 errors=0 count=0
while IFS=$'\t' read -r name file original replacement target regex; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  [[ -n "$only" && ! "$name" =~ $only ]] && continue
  count=$((count + 1))
  t0=$(date +%s)
  mkdir -p "$BACKUP/$(dirname "$file")" "$MTIMES/$(dirname "$file")"
  [ -e "$MTIMES/$file" ] || touch -r "$file" "$MTIMES/$file"
  cp "$file" "$BACKUP/$file"
  if ! mutate "$file" "$original" "$replacement"; then
    rm -f "$BACKUP/$file"
    printf '%-28s %-44s %-58s %6s\n' "$name" "$file" "ERROR: stale mutant (see above)" -
    errors=$((errors + 1))
    continue
  fi
  log=$LOGS/$name.log
  killed=""
  if ! cmake --build "$BUILD" -j "$(nproc)" --target "$target" >"$log" 2>&1; then
    killed="ERROR: does not compile (see $log)"
    errors=$((errors + 1))
  else
    ctest --test-dir "$BUILD" -R "$regex" --stop-on-failure --timeout 300 >>"$log" 2>&1
    if grep -q "No tests were found" "$log"; then
      killed="ERROR: no test matches $regex"
      errors=$((errors + 1))
    else
      killed=$(sed -n '/The following tests FAILED/{n;p;q}' "$log" | sed -E 's/^[[:space:]]*[0-9]+ - //; s/ \(.*//')
    fi
  fi
  # Put back with a new modification time, so that the next build compiles the original again (with the old
  # one, make would keep the mutant's object file); the old time comes back at the end, with the build folder.
  cp "$BACKUP/$file" "$file" && rm -f "$BACKUP/$file"
  if [ -z "$killed" ]; then
    killed="SURVIVED ($regex)"
    survivors=$((survivors + 1))
  fi
  printf '%-28s %-44s %-58s %6d\n' "$name" "$file" "$killed" $(($(date +%s) - t0))
done <"$LIST"

# Every source is the original again; now its modification time too, and the build folder goes back to its
# copy, so nothing run after this (CI's soak uses the same build folder) runs a mutated binary.
restore_all
total=$(($(date +%s) - start))
echo "mutants: $count run, $survivors survived, $errors errors, ${total} s (logs in $LOGS/)"
if [ "$count" -eq 0 ]; then
  echo "mutants: no mutant matched '${only}'" >&2
  exit 1
fi
[ "$survivors" -eq 0 ] && [ "$errors" -eq 0 ]
