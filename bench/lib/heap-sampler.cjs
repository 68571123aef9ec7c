// Preload for a daemon under a bench: `BENCH_NODE_ARGS="--require ./bench/lib/heap-sampler.cjs"
// HEAP_TRACE=/tmp/heap.jsonl`. Every 250 ms it appends one JSON line: the process's RSS and V8
// heap (total, used, per space), external and ArrayBuffer memory, and the count and total ms of
// minor and major GCs so far; each worker thread writes its own heap to HEAP_TRACE + '.w'.
// This is how README "Measured figures" split the daemon's peak RSS into heap spaces and workers.
'use strict';
const fs = require('node:fs');
const v8 = require('node:v8');
const wt = require('node:worker_threads');

const file = process.env.HEAP_TRACE;
const mib = (n) => Math.round((n / 1048576) * 10) / 10;

if (file) {
  const t0 = Date.now();
  const gc = { minor: [0, 0], major: [0, 0] };
  if (wt.isMainThread) {
    const { PerformanceObserver, constants } = require('node:perf_hooks');
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const g = e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR ? gc.major : gc.minor;
        g[0]++;
        g[1] += e.duration;
      }
    }).observe({ entryTypes: ['gc'] });
  }
  setInterval(() => {
    const spaces = {};
    for (const s of v8.getHeapSpaceStatistics()) if (s.space_size > 0) spaces[s.space_name.replace('_space', '')] = [mib(s.space_size), mib(s.space_used_size)];
    if (!wt.isMainThread) {
      const h = v8.getHeapStatistics();
      fs.appendFileSync(`${file}.w`, `${JSON.stringify({ t: Date.now() - t0, tid: wt.threadId, total: mib(h.total_heap_size), used: mib(h.used_heap_size), spaces })}\n`);
      return;
    }
    const m = process.memoryUsage();
    const gcs = { minor: [gc.minor[0], Math.round(gc.minor[1])], major: [gc.major[0], Math.round(gc.major[1])] };
    fs.appendFileSync(file, `${JSON.stringify({ t: Date.now() - t0, rss: mib(m.rss), heapTotal: mib(m.heapTotal), heapUsed: mib(m.heapUsed), external: mib(m.external), arrayBuffers: mib(m.arrayBuffers), spaces, gc: gcs })}\n`);
  }, 250).unref();
}
