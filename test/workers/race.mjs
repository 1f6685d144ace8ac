// race.mjs — Worker side of the forced race windows in test/threads-races.test.ts. workerData.mode picks
// the scenario; results go back with postMessage. Every scenario is bounded (a few hundred iterations).
import { attachAllocator, CpuBusyError } from "../../dist/index.js";
import { parentPort, workerData } from "node:worker_threads";

const { handle, mode, id } = workerData;
const ctl = workerData.ctl ? new Int32Array(workerData.ctl) : undefined;

async function claimRelease() {
  // Every worker fights for CPU 0 (and only CPU 0): whoever wins must be alone on it.
  const heap = await attachAllocator(handle, { cpu: 1 + id });     // start on a CPU of its own
  heap.releaseCpu();
  const cache = heap.cache("race");
  let won = 0;
  let busy = 0;
  const errors = [];
  for (let i = 0; i < workerData.iterations; i++) {
    try {
      heap.claimCpu(0);
    } catch (e) {
      if (e instanceof CpuBusyError) { busy++; continue; }
      throw e;
    }
    if (Atomics.add(ctl, 0, 1) !== 0) errors.push(`iteration ${i}: two owners of CPU 0`);
    const ps = [];
    for (let k = 0; k < 40; k++) ps.push(cache.alloc());
    for (const p of ps) cache.free(p);
    Atomics.sub(ctl, 0, 1);
    heap.releaseCpu();
    won++;
  }
  return { won, busy, errors };
}

async function grow() {
  // Large blocks grow memory while the other Workers allocate small objects; every block is written
  // through a view taken after the allocation (views are refreshed when memory has grown).
  const heap = await attachAllocator(handle);
  const errors = [];
  const blocks = [];
  const small = heap.cache("race");
  const objs = [];
  for (let i = 0; i < workerData.iterations; i++) {
    if (workerData.big) {
      const n = 64 * 1024 + (i % 7) * 4096;
      const p = heap.malloc(n);
      if (p === 0) { errors.push(`malloc(${n}) failed`); break; }
      const u8 = heap.u8;
      if (u8.length < p + n) errors.push(`view too short after growth: ${u8.length} < ${p + n}`);
      u8.fill((id * 31 + i) & 0xff, p, p + n);
      blocks.push([p, n, (id * 31 + i) & 0xff]);
    } else {
      const p = small.alloc();
      new Uint32Array(heap.memory.buffer, p, 1)[0] = p;
      objs.push(p);
      if (objs.length > 64) {
        const q = objs.shift();
        if (new Uint32Array(heap.memory.buffer, q, 1)[0] !== q) errors.push(`payload of ${q} changed`);
        small.free(q);
      }
    }
  }
  for (const [p, n, v] of blocks) {
    const u8 = heap.u8;
    for (let k = 0; k < n; k += 997) if (u8[p + k] !== v) { errors.push(`block ${p} byte ${k}`); break; }
  }
  for (const q of objs) small.free(q);
  heap.releaseCpu();
  return { errors, blocks: blocks.map(([p, n, v]) => [p, n, v]), grown: heap.memory.buffer.byteLength };
}

async function holdAndDie() {
  // Allocate, free half (they stay parked in this CPU's arrays), publish the held ones, then block for
  // ever: the test terminates this Worker and recovers its CPU.
  const heap = await attachAllocator(handle);
  const cache = heap.cache("race");
  const held = new Int32Array(workerData.held);
  const all = [];
  for (let i = 0; i < 600; i++) all.push(cache.alloc());
  for (let i = 0; i < 300; i++) cache.free(all.pop());
  for (let i = 0; i < all.length; i++) held[i + 1] = all[i];
  held[0] = all.length;
  parentPort.postMessage({ cpu: heap.cpu, token: heap.token, held: all.length, parked: cache.stats().perCpu[heap.cpu] });
  Atomics.notify(held, 0);
  Atomics.wait(ctl, 0, 0); // until terminated
  return undefined;
}

async function slowPathOwner() {
  // A Worker whose cache constructor blocks (inside this CPU's slow path) until the test has posted a
  // drain request; then it finishes the slow path and polls when told to.
  const heap = await attachAllocator(handle);
  let inCtor = false;
  const cache = heap.createCache("ctor", {
    size: 48,
    ctor: () => {
      if (inCtor) return;
      inCtor = true;
      Atomics.store(ctl, 0, 1);             // "inside the slow path"
      Atomics.notify(ctl, 0);
      while (Atomics.load(ctl, 1) === 0) Atomics.wait(ctl, 1, 0, 100); // until the request is posted
    },
  });
  const p = cache.alloc();                   // a slow path (refill, new slab: the constructor blocks)
  const parkedBefore = cache.stats().parkedObjects;
  Atomics.store(ctl, 2, 1);                  // that slow path is over; the request must still be pending
  Atomics.notify(ctl, 2);
  while (Atomics.load(ctl, 3) === 0) Atomics.wait(ctl, 3, 0, 100);
  heap.poll();                               // the owner's next API call honours it
  const parkedAfter = cache.stats().parkedObjects;
  cache.free(p);
  heap.releaseCpu();
  return { cpu: heap.cpu, parkedBefore, parkedAfter };
}

const modes = { claimRelease, grow, holdAndDie, slowPathOwner };
try {
  const r = await modes[mode]();
  if (r !== undefined) parentPort.postMessage({ ok: true, ...r });
} catch (e) {
  parentPort.postMessage({ ok: false, error: String(e && e.stack ? e.stack : e) });
}
