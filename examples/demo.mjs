// demo.mjs — a small tour: two nodes × two CPUs, a cache of 3D points, per-CPU arrays at work, a wrong-node
// free batched through an alien array, a bad free caught, then stats and /proc/slabinfo.
// Run: npm run demo   (after npm ci; it builds first)
import { createAllocator, InvalidFreeError } from "../dist/index.js";

const heap = await createAllocator({ nodes: 2, cpusPerNode: 2, maxBytes: 32 << 20 });
const points = heap.createCache("point3d", { size: 24 });

heap.pin(0); // CPU 0, node 0
const ptrs = [];
for (let i = 0; i < 10_000; i++) {
  const p = points.alloc();
  new Float64Array(heap.memory.buffer, p, 3).set([i, i * 2, i * 3]);
  ptrs.push(p);
}
console.log(`allocated ${ptrs.length} points on node ${heap.nodeOf(ptrs[0])}; point 1234 =`, [...new Float64Array(heap.memory.buffer, ptrs[1234], 3)]);

heap.pin(2); // CPU 2 is on node 1: these frees go to alien arrays, flushed in batches
for (const p of ptrs.splice(0, 5000)) points.free(p);
heap.pin(0);
for (const p of ptrs) points.free(p);

try {
  points.free(ptrs[0] + 4);
} catch (e) {
  if (e instanceof InvalidFreeError) console.log(`caught: ${e.message}`);
}

const s = points.stats().counters;
console.log(`alloc_fastpath ${s.alloc_fastpath}, alloc_slowpath ${s.alloc_slowpath}, alien_free ${s.alien_free}, alien_flush ${s.alien_flush}, lock_acquire ${s.lock_acquire}`);
console.log(heap.stats());
console.log(heap.slabinfo());
console.log("validate:", heap.validate().ok ? "ok" : heap.validate().problems);
