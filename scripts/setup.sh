#!/usr/bin/env bash
# Installs every Debian package visbone needs (idempotent) and builds it in Release into build/.
# Usage: scripts/setup.sh [extra cmake -D options...]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  g++ cmake make pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev libboost-filesystem1.81-dev
  # oneDNN's CMake package looks for OpenCL even for its CPU runtime; libdnnl-dev only recommends it
  libdnnl-dev ocl-icd-opencl-dev
  libopencv-dev libtbb-dev libyaml-cpp-dev libcurl4-openssl-dev libssl-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # clang with libFuzzer (compiler-rt) and its OpenMP runtime, for the fuzz targets (fuzz/run.sh)
  clang libclang-rt-14-dev libomp-14-dev
  python3 python3-requests
  # `visbone serve`: its browser test (tests/serve/test_page.py) and load test (bench/serve_load.sh)
  chromium chromium-driver wrk
  # the Python module (python/) and its tests
  python3-dev pybind11-dev python3-pybind11 python3-numpy python3-pytest python3-pil
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

BUILD_DIR=${VISBONE_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$BUILD_DIR" -j "$(nproc)"
