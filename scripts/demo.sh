#!/usr/bin/env bash
# The quick start's main job: set up, build, and run the default demo on bundled data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build/bin/visbone run configs/default.yaml
