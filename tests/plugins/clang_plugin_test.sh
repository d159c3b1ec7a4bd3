#!/bin/sh
# A plugin compiled by clang against the same headers and libraries loads into the program built by g++: the
# compiler is no part of the plugin ABI fingerprint. Usage: clang_plugin_test.sh CLANGXX VISBONE OUT_DIR
# SOURCE [compiler and linker arguments...]
set -eu
clangxx=$1 visbone=$2 out=$3 source=$4
shift 4
mkdir -p "$out"
plugin="$out/max_activation_clang.so"
rm -f "$plugin"
"$clangxx" -std=c++20 -O1 -fPIC -shared -fvisibility=hidden -fvisibility-inlines-hidden "$source" -o "$plugin" \
  -Wl,--exclude-libs,ALL -Wl,--no-undefined "$@"
readelf -p .comment "$plugin" | grep "clang version" >/dev/null || { echo "clang_plugin_test: $plugin not built by clang"; exit 1; }
"$visbone" list --plugin "$plugin" > "$out/list.txt"
grep -q "^  max_activation .*\[plugin $plugin\]" "$out/list.txt" || { cat "$out/list.txt"; echo "clang_plugin_test: max_activation not listed"; exit 1; }
echo "clang_plugin_test: the clang-built plugin loads"
