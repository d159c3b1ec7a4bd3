#!/usr/bin/env node
// ONNX Runtime runner (onnxruntime-node, CPU execution provider) on the model run_torch.py exports.
// usage: node run_ort.js MODEL.onnx --size S --batch B --threads T --runs N --warmup W [--optimize]
// Graph optimizations are off unless --optimize ('all', the speed issue 22 compares with): from level 'basic'
// on, ORT folds the stem's zero Pad into MaxPool's padding, which pads with -inf and so computes a slightly
// different model. Prints one JSON line with median_ms.
// onnxruntime-node comes from $VISBONE_BENCH_DIR/node_modules (bench/install.sh puts it there).
'use strict';
const path = require('path');
const dir = process.env.VISBONE_BENCH_DIR || '/tmp/visbone-bench-compare';
const ort = require(path.join(dir, 'node_modules', 'onnxruntime-node'));

const arg = (name, def) => {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};

async function main() {
  const size = arg('size', 224), batch = arg('batch', 1), threads = arg('threads', 2);
  const runs = arg('runs', 10), warmup = arg('warmup', 3);
  const session = await ort.InferenceSession.create(process.argv[2], {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: process.argv.includes('--optimize') ? 'all' : 'disabled', executionProviders: ['cpu'],
  });
  const data = new Float32Array(batch * 3 * size * size);
  let seed = 1;
  for (let i = 0; i < data.length; i++) {  // any input does: only the time is compared
    seed = (seed * 1103515245 + 12345) % 2147483648;
    data[i] = seed / 1073741824 - 1;
  }
  const feeds = { pixel_values: new ort.Tensor('float32', data, [batch, 3, size, size]) };
  const times = [];
  for (let i = 0; i < warmup + runs; i++) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    if (i >= warmup) times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const n = times.length;
  const median = n % 2 ? times[(n - 1) / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
  const version = require(path.join(dir, 'node_modules', 'onnxruntime-node', 'package.json')).version;
  console.log(JSON.stringify({ median_ms: median, runs, threads, version: `onnxruntime-node ${version}` }));
}
main().catch((e) => { console.error(String(e)); process.exit(1); });
