#!/usr/bin/env bash
# Load test of `visbone serve` (a benchmark, not a test): wrk POSTs a JPEG to :predict on 127.0.0.1 at
# concurrency 1, 8 and 32 for DURATION seconds each, with dynamic batching on (max_batch_size MAX_BATCH; and 32
# at concurrency 32) and off, and `visbone bench` runs the same model at batch 1, 8 and 32 for comparison.
# Prints a Markdown table with throughput, p50/p99 latency and the server's peak RSS, and the CPU model.
# Loopback only; every wait is bounded. The numbers depend on what else runs on the machine: run it on a quiet one.
#
# Latency at concurrency C is bounded below by Little's law: a closed loop of C clients served at X images/s
# waits C/X per request, i.e. C/B batch times at max_batch_size B. At C = 32 and B = 8 that is 4 batch
# times whatever the batcher does; so concurrency 32 also runs with max_batch_size 32, where one batch takes all
# 32 waiting requests (p99 about max_queue_delay + 2 batch times of 32).
#
# Usage: bench/serve_load.sh [bit50|digits|both]   (env: VISBONE, DURATION=60, DELAY_US=20000, MAX_BATCH=8)
set -euo pipefail
cd "$(dirname "$0")/.."
VISBONE=${VISBONE:-build/bin/visbone}
DURATION=${DURATION:-60}
DELAY_US=${DELAY_US:-20000}
MAX_BATCH=${MAX_BATCH:-8}
WHICH=${1:-bit50}
command -v wrk > /dev/null || { echo "serve_load: needs wrk (apt-get install wrk)" >&2; exit 2; }
[ -x "$VISBONE" ] || { echo "serve_load: $VISBONE not built" >&2; exit 2; }
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2> /dev/null && wait "$SERVER_PID" 2> /dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

start_server() {  # CONFIG -> SERVER_PID, URL
  "$VISBONE" serve "$1" --port 0 > "$WORK/server.out" 2> "$WORK/server.err" &
  SERVER_PID=$!
  for _ in $(seq 600); do  # up to 60 s to load the model
    URL=$(sed -n 's/^listening on //p' "$WORK/server.out")
    [ -n "$URL" ] && return 0
    kill -0 "$SERVER_PID" 2> /dev/null || break
    sleep 0.1
  done
  echo "serve_load: the server did not start:" >&2
  cat "$WORK/server.err" >&2
  exit 1
}

stop_server() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=""
}

# MODEL_NAME CHECKPOINT PREPROCESS BODY SIZE (the processor's output size, for `visbone bench`)
run_model() {
  local name=$1 checkpoint=$2 preprocess=$3 body=$4 size=$5
  # batching, max_batch_size, concurrencies
  local setups=("on $MAX_BATCH 1 8 32")
  [ "$MAX_BATCH" != 32 ] && setups+=("on 32 32")
  setups+=("off 1 1 8 32")
  for setup in "${setups[@]}"; do
    set -- $setup
    local batching=$1 max_batch=$2 dyn=true
    shift 2
    [ "$batching" = off ] && dyn=false
    cat > "$WORK/serve.yaml" << YAML
serve: {dynamic_batching: $dyn, max_batch_size: $max_batch, max_queue_delay_microseconds: $DELAY_US, max_queue_size: 256}
model: {checkpoint: $PWD/$checkpoint}
preprocess: $preprocess
heads: [{type: classification, top_k: 5}]
YAML
    start_server "$WORK/serve.yaml"
    curl -sf --max-time 120 -X POST --data-binary "@$body" "$URL/v1/models/default:predict" > /dev/null  # warm-up
    for c in "$@"; do
      local threads=$((c < 2 ? c : 2))
      local line
      line=$(BODY=$body timeout $((DURATION + 180)) wrk -t"$threads" -c"$c" -d"${DURATION}s" --timeout 120s \
        -s bench/serve_post.lua "$URL/v1/models/default:predict" | grep '^RESULT')
      local rss
      rss=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER_PID/status")
      eval "$(echo "${line#RESULT }" | tr ' ' '\n' | sed 's/^/local /')"
      printf '| %s | serve, batching %s, max_batch_size %s | %d | %s | %s | %s | %s | %s |\n' "$name" "$batching" \
        "$([ "$batching" = on ] && echo "$max_batch" || echo -)" "$c" "$rps" \
        "$p50_ms" "$p99_ms" "$((errors + non2xx))" "$rss" >> "$WORK/table"
    done
    stop_server
  done
  for b in $(printf '%s\n' 1 8 32 "$MAX_BATCH" | sort -nu); do
    local json
    json=$(timeout 600 "$VISBONE" bench "$checkpoint" --batch "$b" --size "$size" --runs 5 --warmup 1 --json)
    python3 - "$name" "$b" "$json" >> "$WORK/table" << 'PY'
import json, sys
name, batch, r = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
print(f"| {name} | visbone bench --batch {batch} | - | {r['images_per_s']:.3f} | {r['median_ms']:.1f} (batch) | - | - | {r['peak_rss_mib']:.0f} |")
PY
  done
}

: > "$WORK/table"
JPEG=tests/data/preprocess/images/chelsea_q90.jpg
if [ "$WHICH" = bit50 ] || [ "$WHICH" = both ]; then
  run_model bit-50 tests/data/models/bit-50-random-fp16 "{from: defaults}" "$JPEG" 224
fi
if [ "$WHICH" = digits ] || [ "$WHICH" = both ]; then
  run_model digits tests/data/models/bit-tiny-digits "{from: checkpoint}" "$JPEG" 32
fi
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk ${DURATION}s per row, JPEG body $(stat -c %s "$JPEG") bytes, max_queue_delay ${DELAY_US} us"
echo
echo "| model | what | concurrency | images/s | p50 ms | p99 ms | errors | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|"
cat "$WORK/table"
