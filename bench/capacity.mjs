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
import { fmt, median, table } from "./harness.mjs";

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
for (const size of [64, 256, 1024, 4096]) {
  for (const cap of capsFor(size)) {
    const times = [];
    let stats;
    let parked = 0;
    for (let r = 0; r < runs; r++) {
      const heap = await createAllocator({ nodes: 1, cpusPerNode: 2 });
      const c = heap.createCache(`c${size}`, { size, arrayCapacity: cap });
      const OPS = 400_000;
      const t0 = process.hrtime.bigint();
      const live = workload(heap, c, OPS);
      times.push(Number(process.hrtime.bigint() - t0) / OPS);
      stats = c.stats();
      parked = stats.parkedObjects;
      void live;
    }
    const s = stats.counters;
    const allocs = s.alloc_fastpath + s.alloc_slowpath;
    const ops = allocs + s.free_fastpath + s.free_slowpath;
    rows.push([size, cap, fmt((100 * s.alloc_fastpath) / allocs, 1), fmt((1000 * s.lock_acquire) / ops, 1), fmt(median(times)), fmt((parked * size) / 1024, 1)]);
  }
}
console.log(`array capacity sweep, median of ${runs} runs, 2 CPUs on one node, 400k ops each`);
table(["object B", "capacity", "hit %", "locks/1k ops", "ns/op", "parked KiB"], rows);
