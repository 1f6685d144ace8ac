// capacity.mjs — how the per-CPU array capacity trades hits and lock traffic against parked memory.
//
// For each object size and capacity, a deterministic workload on 2 CPUs of one node: bursts of allocations
// with interleaved frees (a tree growing and nodes replaced), 400k operations. Reported per capacity:
//   hit %       allocs served by the main array (alloc_fastpath / all allocs)
//   locks/1k    lock_acquire per 1000 operations (node list and barn locks)
//   ns/op       median time per operation through the Cache API (context, not a goal)
//   parked KiB  objects sitting in arrays and barns at the end (memory the arrays hold back)
// Usage: node bench/capacity.mjs [--runs N]
import { parseArgs } from "node:util";
import { createAllocator } from "../dist/index.js";
import { fmt, median, progress, table, writeSection } from "./harness.mjs";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const runs = Number(values.runs);

function workload(heap, c, ops) {
  const live = [[], []];
  let x = 42;
  const rand = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  let done = 0;
  for (let r = 0; done < ops; r++) {
    const cpu = r & 1;
    heap.pin(cpu);
    const mine = live[cpu];
    const burst = 8 + Math.floor(rand() * 64);
    for (let i = 0; i < burst; i++) {
      mine.push(c.alloc());
      done++;
      if (rand() < 0.55 && mine.length > 4) {
        const k = Math.floor(rand() * mine.length);
        c.free(mine[k]);
        mine[k] = mine[mine.length - 1];
        mine.pop();
        done++;
      }
    }
    while (mine.length > 500) { c.free(mine.pop()); done++; }
  }
  return live;
}

const capsFor = (size) => (process.env.CAPS ? process.env.CAPS.split(",").map(Number) : [0, 4, 8, 12, 26, 60, 120, 250]);
const rows = [];
const points = []; // { size, capacity, hitPct, locksPer1k, nsPerOp, parkedKiB }
const bar = progress("capacity sweep", [64, 256, 1024, 4096].reduce((n, size) => n + capsFor(size).length, 0) * runs);
for (const size of [64, 256, 1024, 4096]) {
  for (const cap of capsFor(size)) {
    const times = [];
    let stats;
    let parked = 0;
    for (let r = 0; r < runs; r++) {
      const heap = await createAllocator({ nodes: 1, cpusPerNode: 2 });
      const c = heap.createCache(`c${size}`, { size, arrayCapacity: cap, magazine: false }); // the arrays themselves, not the JS magazine
      const OPS = 400_000;
      const t0 = process.hrtime.bigint();
      const live = workload(heap, c, OPS);
      times.push(Number(process.hrtime.bigint() - t0) / OPS);
      stats = c.stats();
      parked = stats.parkedObjects;
      void live;
      bar.tick(`${size} B, capacity ${cap}`);
    }
    const s = stats.counters;
    const allocs = s.alloc_fastpath + s.alloc_slowpath;
    const ops = allocs + s.free_fastpath + s.free_slowpath;
    rows.push([size, cap, fmt((100 * s.alloc_fastpath) / allocs, 1), fmt((1000 * s.lock_acquire) / ops, 1), fmt(median(times)), fmt((parked * size) / 1024, 1)]);
    points.push({ size, capacity: cap, hitPct: (100 * s.alloc_fastpath) / allocs, locksPer1k: (1000 * s.lock_acquire) / ops, nsPerOp: median(times), parkedKiB: (parked * size) / 1024 });
  }
}
bar.done();
table(["object B", "capacity", "hit %", "locks/1k ops", "ns/op", "parked KiB"], rows, `array capacity sweep, median of ${runs} runs, 2 CPUs on one node, 400k ops each`);
const curve = (key) => [64, 256, 1024, 4096].map((size) => ({ name: `${size} B`, points: points.filter((p) => p.size === size).map((p) => [p.capacity, p[key]]) }));
writeSection("capacity", {
  runs,
  figures: points.flatMap((p) => [
    { name: `hit %, ${p.size} B, capacity ${p.capacity}`, value: p.hitPct, unit: "%" },
    { name: `locks per 1k ops, ${p.size} B, capacity ${p.capacity}`, value: p.locksPer1k, unit: "locks/1k ops" },
    { name: `ns/op, ${p.size} B, capacity ${p.capacity}`, value: p.nsPerOp, unit: "ns/op" },
    { name: `parked KiB, ${p.size} B, capacity ${p.capacity}`, value: p.parkedKiB, unit: "KiB" },
  ]),
  points,
  charts: [
    { id: "hits", kind: "lines", title: "Per-CPU array capacity: allocations served by the main array", xLabel: "array capacity (objects)", yLabel: "hit %", yMin: 0, yMax: 100, unit: "%", series: curve("hitPct") },
    { id: "locks", kind: "lines", title: "Per-CPU array capacity: node-level locks taken", xLabel: "array capacity (objects)", yLabel: "locks per 1000 operations (log)", yScale: "log", series: curve("locksPer1k") },
    { id: "parked", kind: "lines", title: "Per-CPU array capacity: memory parked in arrays and barns", xLabel: "array capacity (objects)", yLabel: "parked KiB", series: curve("parkedKiB") },
  ],
});
