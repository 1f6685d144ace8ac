// medium-race.mjs — one Worker of test/medium-threads.test.ts's region race: Workers on one node malloc
// a medium block each in lockstep, so that two of them miss the node's free lists at the same moment and
// both take pages for a new region (kmalloc.ts mediumMalloc: mediumAlloc found nothing, then blockPages,
// then mediumAddRegion). The second region added must not stay wholly free (its block taken from the
// room left in the first one: validate's V_MEDIUM, "a wholly free region should have gone back").
//
// Layout, made once (one Worker after the other, the same every run): each Worker mallocs `ballast` blocks
// of `ballastSize` bytes (a size that fills its region exactly: no free block, and the node holds enough
// pages that the next regions hold two `size` blocks), each followed by a large block of `fenceSize`
// bytes (a page run right after the region, so it cannot grow in place). Kept to the end.
// Each cycle: barrier, `blocks` mallocs of `size` bytes (payload written), barrier, Worker 0 validates the
// heap (the others wait at the next barrier: a quiescent point), barrier, every block checked and freed
// (the cycle's regions go back to the pages).
//
// Protocol: workerData { handle, id, nworkers, cycles, blocks, size, ballast, ballastSize, fenceSize,
// sync (SharedArrayBuffer of 2 int32: arrivals, generation) }; posts { bad: [{ cycle, problems }],
// errors: [] } when done (its CPU released).
import { attachAllocator } from "../../dist/index.js";
import { parentPort, workerData } from "node:worker_threads";

const { handle, id, nworkers, cycles, blocks, size, ballast, ballastSize, fenceSize } = workerData;
const sync = new Int32Array(workerData.sync);
const heap = await attachAllocator(handle);
const bad = [];
const errors = [];

// A sense-reversing barrier over sync[0] (arrivals) and sync[1] (generation). It spins (then waits): the
// Workers leave it within a few instructions of each other, which is what makes their misses coincide.
function barrier() {
  const gen = Atomics.load(sync, 1);
  if (Atomics.add(sync, 0, 1) === nworkers - 1) {
    Atomics.store(sync, 0, 0);
    Atomics.add(sync, 1, 1);
    Atomics.notify(sync, 1);
  } else {
    for (let spin = 0; Atomics.load(sync, 1) === gen; spin++) if (spin > 1e6) Atomics.wait(sync, 1, gen, 1);
  }
}

// The ballast, one Worker after the other (the same layout every run): a block that fills its region
// exactly, then a large block (a page run) right after it, so no region can grow in place.
const kept = [];
for (let w = 0; w < nworkers; w++) {
  barrier();
  if (w === id) for (let i = 0; i < ballast; i++) kept.push(heap.malloc(ballastSize), heap.malloc(fenceSize));
}
if (kept.includes(0)) errors.push(`ballast: malloc(${ballastSize}) or malloc(${fenceSize}) = 0`);
for (let cycle = 0; cycle < cycles; cycle++) {
  barrier();
  const held = [];
  for (let i = 0; i < blocks; i++) {
    const p = heap.malloc(size);
    if (p === 0) { errors.push(`cycle ${cycle}: malloc(${size}) = 0`); break; }
    heap.u8.fill(id + 1, p, p + size);
    held.push(p);
  }
  barrier();
  if (id === 0) {
    const v = heap.validate();
    if (!v.ok) bad.push({ cycle, problems: v.problems });
  }
  barrier();
  for (const p of held) {
    const m = heap.u8;
    if (m[p] !== id + 1 || m[p + size - 1] !== id + 1) errors.push(`cycle ${cycle}: block ${p} payload changed`);
    heap.free(p);
  }
}
for (const p of kept) heap.free(p);
heap.releaseCpu();
parentPort.postMessage({ bad, errors });
