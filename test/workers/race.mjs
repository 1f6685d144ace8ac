// race.mjs — Worker side of the forced race windows in test/threads-races.test.ts. workerData.mode picks
// the scenario; results go back with postMessage. Every scenario is bounded (a few hundred iterations).
import { attachAllocator, CpuBusyError, DoubleFreeError } from "../../dist/index.js";
import { parentPort, workerData } from "node:worker_threads";
import { rng } from "../../cli/lib/workload.mjs";

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

async function mixedBulk() {
  // Two CPUs on two nodes over one cache (arrays off: every object goes through the slabs). The "freer"
  // (node 0) frees batches that mix its own objects with objects it took from node 1 (allocNode), some
  // with a duplicate (a typed DoubleFreeError, and nothing freed: the batch freed again without it must
  // pass); the "churner" (node 1) allocates and frees on node 1 meanwhile, so its refills race the
  // freer's check pass on the same slabs. A shared owner map (one word per object slot, taken with
  // compare-and-swap on every object handed out, given back before it is freed) catches an object held
  // by two at once; each object's payload (its own address) is checked before it is freed.
  const heap = await attachAllocator(handle, { cpu: workerData.cpu });
  const cache = heap.cache("race");
  const owner = new Int32Array(workerData.owner);
  const shift = workerData.shift;
  const me = workerData.cpu + 1;
  const errors = [];
  const random = rng((0x9e3779b9 ^ (me * 7919)) >>> 0);
  const rand = (n) => Math.floor(random() * n);
  const fail = (m) => { if (errors.length < 10) errors.push(`cpu ${workerData.cpu}: ${m}`); };
  const take = (p) => {
    const was = Atomics.compareExchange(owner, p >>> shift, 0, me);
    if (was !== 0) fail(`0x${p.toString(16)} handed out while held by cpu ${was - 1}`);
    new Uint32Array(heap.memory.buffer, p, 1)[0] = p;
  };
  const give = (p) => {
    if (new Uint32Array(heap.memory.buffer, p, 1)[0] !== p) fail(`payload of 0x${p.toString(16)} changed`);
    if (Atomics.compareExchange(owner, p >>> shift, me, 0) !== me) fail(`0x${p.toString(16)} not ours at free`);
  };
  let batches = 0;
  let refused = 0;
  let foreign = 0;
  let rounds = 0;
  const t0 = Date.now();
  try {
    for (let i = 0; i < workerData.iterations && errors.length === 0; i++) {
      if (workerData.role === "freer") {
        const n = 8 + rand(56);
        const batch = [];
        for (let k = 0; k < n; k++) {
          const remote = rand(2) === 0;
          const p = remote ? cache.allocNode(1) : cache.alloc();
          if (heap.nodeOf(p) !== 0) foreign++;
          take(p);
          batch.push(p);
        }
        for (let k = n - 1; k > 0; k--) { const j = rand(k + 1); const t = batch[k]; batch[k] = batch[j]; batch[j] = t; }
        for (const p of batch) give(p);
        if (rand(3) === 0) {
          // A duplicate: refused as a whole (its second copy named), then the batch without it passes.
          const j = rand(n);
          const at = j + 1 + rand(n - j);
          const bad = batch.slice(0, at).concat([batch[j]], batch.slice(at));
          let err;
          try { cache.freeBulk(new Uint32Array(bad)); } catch (e) { err = e; }
          if (!(err instanceof DoubleFreeError)) fail(`a batch with a duplicate: ${err ? String(err) : "accepted"}`);
          else if (err.ptr !== batch[j]) fail(`the duplicate named 0x${err.ptr.toString(16)}, not 0x${batch[j].toString(16)}`);
          refused++;
          for (const p of batch) take(p);                  // still ours: nobody may have been handed one
          for (const p of batch) give(p);
        }
        cache.freeBulk(new Uint32Array(batch));
        batches++;
      } else {
        const n = 1 + rand(48);
        const got = rand(2) === 0 ? Array.from(cache.allocBulk(n)) : Array.from({ length: n }, () => cache.alloc());
        for (const p of got) take(p);
        for (const p of got) give(p);
        if (rand(2) === 0) cache.freeBulk(new Uint32Array(got));
        else for (const p of got) cache.free(p);
        rounds++;
      }
      if (workerData.role !== "freer" && Atomics.load(ctl, 0) !== 0) break;   // the freer is done
      if (Date.now() - t0 > workerData.ms) break;                                // bounded either way
    }
  } catch (e) {
    fail(String(e));                                                           // e.g. a free refused
  }
  if (workerData.role === "freer") Atomics.store(ctl, 0, 1);
  heap.releaseCpu();
  return { errors, batches, refused, foreign, rounds };
}

async function holdGrow() {
  // The hold on growth (arena.ts holdGrowth) is this instance's: the "holder" keeps empty slabs beyond
  // min_partial (malloc blocks freed) and then asks for large blocks, which try the heap's pages with
  // growth held first (node.ts keptHoldBegin); the "grower" meanwhile takes large blocks that need memory
  // to grow. Under a budget that fits both with room to spare, no allocation may fail.
  const heap = await attachAllocator(handle);
  const errors = [];
  const live = [];
  let mallocs = 0;
  const t0 = Date.now();
  try {
    for (let i = 0; i < workerData.iterations && errors.length === 0; i++) {
      if (workerData.role === "holder") {
        const small = [];
        for (let k = 0; k < 200; k++) small.push(heap.malloc(1500 + (k % 7) * 64));
        for (const p of small) heap.free(p);
        const big = heap.malloc(96 * 1024 + (i % 5) * 4096);
        // now and then a block only new memory can hold (a run of chunks): a hold left set would refuse it
        const huge = i % 10 === 9 ? heap.malloc(3 << 20) : 1;
        mallocs += small.length + 2;
        if (small.includes(0) || big === 0 || huge === 0) errors.push(`iteration ${i}: malloc returned 0`);
        else { heap.free(big); if (huge !== 1) heap.free(huge); }
      } else {
        const p = heap.malloc((256 << 10) + (i % 9) * 65536);
        mallocs++;
        if (p === 0) { errors.push(`iteration ${i}: malloc returned 0`); break; }
        live.push(p);
        if (live.length > 8) heap.free(live.shift());
      }
      if (Date.now() - t0 > workerData.ms) break;
    }
  } catch (e) {
    errors.push(String(e));                                  // an OutOfMemoryError: the hold leaked
  }
  for (const p of live) heap.free(p);
  heap.releaseCpu();
  return { errors, mallocs };
}

async function inuseOwn() {
  // Each Worker allocates and frees only its own objects of one in-use-bit cache (inuse.ts: 64 objects
  // of a slab share one bitmap word), in runs longer than the per-CPU array so that objects come from and
  // go back to the slabs the other CPUs take theirs from: neighbours of one word are held by several CPUs
  // at once. Every free is valid, so a DoubleFreeError is a lost update of that word. Stops when any
  // Worker has seen one (ctl[0]), after `iterations` runs or after `ms`.
  const heap = await attachAllocator(handle);
  const cache = heap.cache(workerData.cache);
  const errors = [];
  let refused = 0;
  let ops = 0;
  const random = rng((0x9e3779b9 ^ ((id + 1) * 7919)) >>> 0);
  const rand = (n) => Math.floor(random() * n);
  const t0 = Date.now();
  const held = [];
  try {
    for (let i = 0; i < workerData.iterations && Atomics.load(ctl, 0) === 0; i++) {
      const n = 1 + rand(workerData.run);
      if (workerData.bulk && rand(2) === 0) {
        // bulk.ts: allocBulk's markRun sets the bits of a run, freeBulk's check pass tests and clears them
        const got = cache.allocBulk(n);
        try { cache.freeBulk(got); } catch (e) {
          if (!(e instanceof DoubleFreeError)) throw e;
          if (refused++ === 0) errors.push(`worker ${id}: a valid freeBulk refused at 0x${e.ptr.toString(16)} (DoubleFreeError)`);
          Atomics.store(ctl, 0, 1);
        }
        ops += 2 * n;
        continue;
      }
      for (let k = 0; k < n; k++) held.push(cache.alloc());
      while (held.length > 0) {
        const p = held.pop();
        try { cache.free(p); } catch (e) {
          if (!(e instanceof DoubleFreeError)) throw e;
          if (refused++ === 0) errors.push(`worker ${id}: a valid free of 0x${p.toString(16)} refused (DoubleFreeError)`);
          Atomics.store(ctl, 0, 1);
        }
      }
      ops += 2 * n;
      if ((i & 255) === 0 && Date.now() - t0 > workerData.ms) break;
    }
  } catch (e) {
    errors.push(`worker ${id}: ${String(e)}`);
    Atomics.store(ctl, 0, 1);
  }
  heap.releaseCpu();
  return { errors, refused, ops };
}

const modes = { claimRelease, grow, holdAndDie, slowPathOwner, mixedBulk, holdGrow, inuseOwn };
try {
  const r = await modes[mode]();
  if (r !== undefined) parentPort.postMessage({ ok: true, ...r });
} catch (e) {
  parentPort.postMessage({ ok: false, error: String(e && e.stack ? e.stack : e) });
}
