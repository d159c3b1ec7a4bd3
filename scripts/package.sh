#!/usr/bin/env bash
# Builds the Debian packages (visbone: the program and plugins; visbone-dev: headers, libraries, CMake and
# pkg-config files; python3-visbone: the Python module) with CPack and checks them:
#   - every shared library the program and the plugins load (DT_NEEDED) belongs to a Debian package that the
#     visbone package Depends on, so the list in cmake/install.cmake cannot fall behind the code;
#   - the packages hold what they should;
#   - apt could resolve their dependencies on a Debian 12 with nothing installed (simulated).
#   scripts/package.sh                 packages from build/ into build/packages/
#   scripts/package.sh --install-test  also installs visbone_*.deb with apt-get (root), runs the installed
#                                      `visbone inspect` on a fixture, and removes the package again
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${VISBONE_BUILD_DIR:-build}
OUT=$BUILD_DIR/packages
t0=$(date +%s)
fail() { echo "package: FAILED: $*" >&2; exit 1; }

[ -f "$BUILD_DIR/CMakeCache.txt" ] || cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$(nproc)"
rm -rf "$OUT"
mkdir -p "$OUT"
(cd "$OUT" && cpack -G DEB --config "$ROOT/$BUILD_DIR/CPackConfig.cmake" > cpack.log) || { cat "$OUT/cpack.log"; fail cpack; }
RUNTIME=$(ls "$OUT"/visbone_*.deb)
DEV=$(ls "$OUT"/visbone-dev_*.deb)
dpkg-deb -I "$RUNTIME"
dpkg-deb -f "$DEV" Package Version Section Depends Description

# Depends of the runtime package vs the packages owning the libraries its files need.
depends=$(dpkg-deb -f "$RUNTIME" Depends | tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/[[:space:]]//g' | sort -u)
CONTENT=$(mktemp -d /tmp/visbone-deb-XXXXXX)
trap 'rm -rf "$CONTENT"' EXIT
dpkg-deb -x "$RUNTIME" "$CONTENT"
[ -x "$CONTENT/usr/bin/visbone" ] || fail "no /usr/bin/visbone in $RUNTIME"
ls "$CONTENT"/usr/lib/visbone/plugins/*.so > /dev/null || fail "no plugins in $RUNTIME"
needed=$(for f in "$CONTENT/usr/bin/visbone" "$CONTENT"/usr/lib/visbone/plugins/*.so; do
  objdump -p "$f" | awk '/NEEDED/ {print $2}'; done | sort -u)
for soname in $needed; do
  path=$(ldconfig -p | awk -v l="$soname" '$1 == l && !found {print $NF; found = 1}')
  [ -n "$path" ] || fail "$soname is not installed here, cannot tell its package"
  owner=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path")
  pkg=${owner%%:*}
  grep -qx "$pkg" <<< "$depends" || fail "$soname comes from $pkg, which the visbone package does not depend on"
done
echo "package: every library the program and plugins load is covered by Depends"

# visbone-dev names the OpenCV -dev parts it uses; libopencv-dev (all of OpenCV) would pull ~190 packages more.
dpkg-deb -f "$DEV" Depends | tr ',' '\n' | grep -x '[[:space:]]*libopencv-dev' >/dev/null && fail "visbone-dev depends on all of libopencv-dev"
for m in core imgproc imgcodecs videoio; do
  dpkg-deb -f "$DEV" Depends | grep "libopencv-$m-dev" >/dev/null || fail "visbone-dev does not depend on libopencv-$m-dev"
done

# The development package: headers, static libraries, CMake package, pkg-config file.
dev_files=$(dpkg-deb -c "$DEV" | awk '{print $NF}')
for f in ./usr/include/visbone/visbone.h ./usr/include/visbone/version.h ./usr/lib/libvisbone_api.a \
         ./usr/lib/cmake/visbone/visboneConfig.cmake ./usr/lib/cmake/visbone/visboneTargets.cmake \
         ./usr/lib/pkgconfig/visbone.pc; do
  grep -qx "$f" <<< "$dev_files" || fail "$f missing from $DEV"
done

# python3-visbone (when the module is built): the module in Debian's dist-packages, importable from there.
PY=$(ls "$OUT"/python3-visbone_*.deb 2>/dev/null || true)
if grep -q '^VISBONE_BUILD_PYTHON:BOOL=ON' "$BUILD_DIR/CMakeCache.txt"; then
  [ -n "$PY" ] || fail "the Python module is built but there is no python3-visbone package"
  dpkg-deb -f "$PY" Package Depends
  dpkg-deb -x "$PY" "$CONTENT/python"
  site="$CONTENT/python/usr/lib/python3/dist-packages"
  [ -f "$site/visbone/__init__.py" ] || fail "no dist-packages/visbone/__init__.py in $PY"
  (cd "$CONTENT" && PYTHONPATH="$site" /usr/bin/python3 -c 'import visbone, sys; assert visbone.__file__.startswith(sys.argv[1]), visbone.__file__; print("package: python3-visbone imports as visbone", visbone.__version__)' "$site") \
    || fail "visbone does not import from $PY"
fi

# Would apt resolve both packages on a Debian 12 with nothing installed? (apt-get's solver, run against an
# empty dpkg status and this machine's package lists; skipped when there are no lists.)
if compgen -G "/var/lib/apt/lists/*_Packages*" > /dev/null; then
  : > "$CONTENT/empty-status"
  apt-get -s -o Dir::State::status="$CONTENT/empty-status" install "$ROOT/$RUNTIME" "$ROOT/$DEV" ${PY:+"$ROOT/$PY"} > "$CONTENT/resolve.log" 2>&1 \
    || { tail -20 "$CONTENT/resolve.log"; fail "apt cannot resolve the packages' dependencies on a bare system"; }
  echo "package: on a bare Debian 12, apt would install $(grep -c '^Inst ' "$CONTENT/resolve.log") packages for them"
else
  echo "package: no apt package lists here (run apt-get update); dependency resolution not checked"
fi

if [ "${1:-}" = "--install-test" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$ROOT/$RUNTIME"
  /usr/bin/visbone inspect "$ROOT/tests/data/models/bit-50-random-fp16" | sed -n 1,20p || fail "installed visbone inspect"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove -y -q visbone
fi

t1=$(date +%s)
echo "package: $(basename "$RUNTIME") $(basename "$DEV") in $OUT, checked in $((t1 - t0)) s"
