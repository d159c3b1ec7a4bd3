#!/usr/bin/env bash
# Installs visbone into a temporary prefix and builds and runs every example in examples/ against it, with
# only that prefix on CMAKE_PREFIX_PATH (the examples see nothing of the source or build tree). Also compiles
# the feature example with pkg-config alone, builds and runs the README's C++ snippet, and runs the installed
# program. Prints the time taken.
#   scripts/examples.sh            uses the Release build in build/ (built if needed)
#   VISBONE_BUILD_DIR=dir scripts/examples.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${VISBONE_BUILD_DIR:-build}
MODEL=$ROOT/tests/data/models/bit-50-random-fp16
IMAGES=$ROOT/tests/data/preprocess/images
t0=$(date +%s)

[ -f "$BUILD_DIR/CMakeCache.txt" ] || cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$(nproc)"

WORK=$(mktemp -d /tmp/visbone-examples-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
PREFIX=$WORK/prefix
cmake --install "$BUILD_DIR" --prefix "$PREFIX" > "$WORK/install.log"
echo "examples: installed into $PREFIX"

fail() { echo "examples: FAILED: $*" >&2; exit 1; }

# build_example NAME [BUILD_DIR_NAME [CMAKE_ARGS...]]
build_example() {
  local name=$1 dir=${2:-$1}
  shift $(( $# < 2 ? $# : 2 ))
  cmake -S "examples/$name" -B "$WORK/$dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DCMAKE_COMPILE_WARNING_AS_ERROR=ON -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic" "$@" > "$WORK/$dir.configure.log" \
    || { cat "$WORK/$dir.configure.log"; fail "configuring $dir"; }
  # The package must come from the prefix, not from a visbone installed elsewhere.
  grep -q "^visbone_DIR:PATH=$PREFIX/" "$WORK/$dir/CMakeCache.txt" || fail "$dir found visbone outside $PREFIX"
  cmake --build "$WORK/$dir" -j "$(nproc)" > "$WORK/$dir.build.log" || { cat "$WORK/$dir.build.log"; fail "building $dir"; }
}

# 1. Multi-scale features for a detector neck: bit-50's stage2..stage4 at 224x224.
build_example feature_pyramid
"$WORK/feature_pyramid/feature_pyramid" "$MODEL" "$IMAGES/chelsea.png" "$IMAGES/astronaut.png" | tee "$WORK/features.txt"
grep -qx "stage2 \[2, 512, 28, 28\] stride 8" "$WORK/features.txt" || fail "feature_pyramid: stage2"
grep -qx "stage3 \[2, 1024, 14, 14\] stride 16" "$WORK/features.txt" || fail "feature_pyramid: stage3"
grep -qx "stage4 \[2, 2048, 7, 7\] stride 32" "$WORK/features.txt" || fail "feature_pyramid: stage4"

# The same without OpenCV's CMake package (libopencv-dev), as with visbone-dev's four OpenCV -dev parts only.
build_example feature_pyramid feature_pyramid_no_opencv_package -DCMAKE_DISABLE_FIND_PACKAGE_OpenCV=ON
"$WORK/feature_pyramid_no_opencv_package/feature_pyramid" "$MODEL" "$IMAGES/chelsea.png" \
  | grep -x "stage4 \[1, 2048, 7, 7\] stride 32" >/dev/null || fail "feature_pyramid without OpenCV's CMake package"

# 2. Top-5 classification.
build_example classify
"$WORK/classify/classify" "$MODEL" "$IMAGES/chelsea.png" | tee "$WORK/classify.txt"
[ "$(grep -c '^[1-5]\. ' "$WORK/classify.txt")" = 5 ] || fail "classify: expected 5 ranked labels"

# 3. A custom head registered in-process.
build_example custom_head
"$WORK/custom_head/custom_head" "$MODEL" "$IMAGES/chelsea.png" | tee "$WORK/custom.txt"
grep -q '"pixel":\[' "$WORK/custom.txt" || fail "custom_head: no result"
grep -q "closest match: 'stage'" "$WORK/custom.txt" || fail "custom_head: misspelt parameter not reported"

# 4. A plugin built out of tree with the package's visbone_add_plugin() and installed into the prefix's plugin
# folder, where the installed program finds it (and the example plugins) without VISBONE_PLUGIN_PATH.
build_example plugin
cmake --install "$WORK/plugin" > "$WORK/plugin.install.log" || { cat "$WORK/plugin.install.log"; fail "installing plugin"; }
grep -q "Installing: $PREFIX/lib/visbone/plugins/max_activation.so" "$WORK/plugin.install.log" \
  || { cat "$WORK/plugin.install.log"; fail "plugin: not installed into the prefix's plugin folder (visbone_PLUGIN_DIR)"; }
env -u VISBONE_PLUGIN_PATH "$PREFIX/bin/visbone" list > "$WORK/list.txt" || fail "installed visbone list"
for c in max_activation fewshot_prototype tiny_cnn; do
  grep -q "^  $c .*\[plugin $PREFIX/lib/visbone/plugins/" "$WORK/list.txt" || { cat "$WORK/list.txt"; fail "installed visbone list: no $c"; }
done
echo "examples: the installed visbone lists the installed plugins (max_activation built out of tree)"

# Every exported target carries C++20 (the examples set no standard of their own).
targets=$(grep -c '^add_library(visbone::' "$PREFIX/lib/cmake/visbone/visboneTargets.cmake")
cxx20=$(grep -c 'INTERFACE_COMPILE_FEATURES "\([^"]*;\)\?cxx_std_20[;"]' "$PREFIX/lib/cmake/visbone/visboneTargets.cmake")
[ "$targets" -gt 0 ] && [ "$targets" = "$cxx20" ] || fail "$cxx20 of $targets exported targets carry cxx_std_20"

# The pkg-config file alone is enough to build against the prefix too; its paths are plain.
export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
flags=$(pkg-config --cflags --libs visbone)
case "$flags" in *"/../"* | *"/./"*) fail "pkg-config paths are not clean: $flags" ;; esac
grep -q -- "-I$PREFIX/include " <<< "$flags " || fail "pkg-config: no -I$PREFIX/include in: $flags"
# shellcheck disable=SC2046
g++ -std=c++20 -O1 -o "$WORK/feature_pyramid_pc" examples/feature_pyramid/main.cpp $(pkg-config --cflags --libs visbone) \
  || fail "pkg-config build"
"$WORK/feature_pyramid_pc" "$MODEL" "$IMAGES/chelsea.png" | grep -x "stage4 \[1, 2048, 7, 7\] stride 32" >/dev/null \
  || fail "pkg-config build: wrong output"
echo "examples: pkg-config build ok (plugindir $(pkg-config --variable=plugindir visbone))"

# The installed program and plugins.
"$PREFIX/bin/visbone" inspect "$MODEL" > "$WORK/inspect.json" || fail "installed visbone inspect"
grep -q '"stage4"' "$WORK/inspect.json" || fail "installed visbone inspect: no stage4"
for p in fewshot_head tiny_cnn_backbone; do
  [ -f "$PREFIX/lib/visbone/plugins/$p.so" ] || fail "plugin $p not installed"
done

# 4. The README's C++ snippet, verbatim: its #include lines on top, the rest as the body of main(), built with
# pkg-config against the prefix and run from the repository root (it names files under tests/data, configs/).
README_SNIPPET=$WORK/readme_snippet.cpp
awk '/^```cpp$/ {on = 1; next} on && /^```$/ {exit} on' README.md > "$WORK/snippet.txt"
[ -s "$WORK/snippet.txt" ] || fail "README: no \`\`\`cpp snippet found"
{
  grep '^#include' "$WORK/snippet.txt"
  echo '#include <cstdio>'
  echo 'int main() {'
  grep -v '^#include' "$WORK/snippet.txt"
  echo '  std::printf("stage3 %s stride %d, %zu predictions\n", visbone::shape_str(maps["stage3"].shape()).c_str(), stride,'
  echo '              results[0].record["predictions"].as_array().size());'
  echo '}'
} > "$README_SNIPPET"
# shellcheck disable=SC2046
PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig g++ -std=c++20 -O1 -Wall -Wextra -Wno-deprecated-enum-enum-conversion -o "$WORK/readme_snippet" "$README_SNIPPET" \
  $(PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig pkg-config --cflags --libs visbone) || fail "README snippet: build"
"$WORK/readme_snippet" | tee "$WORK/readme_snippet.txt" || fail "README snippet: run"
grep -qx "stage3 \[1, 1024, 14, 14\] stride 16, 5 predictions" "$WORK/readme_snippet.txt" \
  || fail "README snippet: wrong output"

t1=$(date +%s)
echo "examples: all passed in $((t1 - t0)) s"
