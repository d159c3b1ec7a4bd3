#!/usr/bin/env bash
# Installs what bench/compare.py runs besides visbone (test tooling only; needs root and network):
# PyTorch and numpy from Debian, Node.js from Debian, and onnxruntime-node (npm, pinned in bench/package.json)
# into $VISBONE_BENCH_DIR (default /tmp/visbone-bench-compare). onnxruntime-node carries its CPU libraries;
# its install script only fetches GPU ones, so it is skipped.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${VISBONE_BENCH_DIR:-/tmp/visbone-bench-compare}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -q
# Node.js and npm from Debian unless the machine has them already (a nodesource nodejs conflicts with Debian's npm).
NODE=""
command -v node >/dev/null && command -v npm >/dev/null || NODE="nodejs npm"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends python3-torch python3-numpy $NODE
mkdir -p "$DIR"
cp "$HERE/package.json" "$DIR/"
(cd "$DIR" && ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip \
  npm install --ignore-scripts --no-audit --no-fund --no-package-lock)
echo "install: onnxruntime-node in $DIR/node_modules"
