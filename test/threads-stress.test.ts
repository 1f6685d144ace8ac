// threads-stress.test.ts — several Workers over one shared heap, allocating and freeing across threads.
//
// Each run: 4 Workers (on this 2-core machine), ≥ 1e6 operations each, ≥ 50% of frees on objects another
// Worker allocated (passed through a ring; a send waits for room, so the share does not depend on
// scheduling), payload written on alloc and checked on free, a shared ownership bitmap checked on every
// alloc and free (test/workers/stress.mjs). At the end, at a quiescent
// point (every Worker parked on a barrier, still owning its CPU): the objects the Workers hold are exactly
// the live objects the heap counts, and validate() is clean. Then everything is freed, the CPUs released,
// and after shrink() every cache but the boot cache (which holds the caches themselves) has no slab.
// Correctness only: nothing here measures time.
import { describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import { createAllocator, type SharedHeap } from "../dist/index.js";

/** Objects in a cache's slabs, every node (CN_TOTAL_OBJECTS), read through the heap's views. */
function totalObjects(heap: SharedHeap, addr: number): number {
  let t = 0;
  for (let n = 0; n < heap.nodes; n++) t += heap.u32(addr + heap.L.C_HDR + n * heap.L.CN_SIZE + heap.L.CN_TOTAL_OBJECTS);
  return t;
}


interface Phase {
  phase: number;
  id: number;
  cpu?: number;
  held?: number;
  heldMalloc?: number;
  allocs: number;
  frees: number;
  remoteFrees: number;
  oom: number;
  mallocs: number;
  errors: string[];
  error?: string;
}

interface RunOptions {
  workers: number;
  ops: number;
  maxBytes: number;
  debugBuild?: boolean;
  poolMax: number;
  sendPct: number;
  mallocPct: number;
  allocPct?: number;
}

const RING_SIZE = 4096;

async function run(o: RunOptions) {
  const heap = (await createAllocator({
    shared: true, nodes: 2, cpusPerNode: 3, maxBytes: o.maxBytes, reap: false, onOutOfMemory: "null",
    debugBuild: o.debugBuild ?? false,
  })) as SharedHeap;
  const cache = heap.createCache("stress", { size: 32 });
  heap.releaseCpu(); // the main thread takes part only at quiescent points (it claims a CPU again later)
  const maxMem = o.maxBytes + (2 << 20);
  const bits = new SharedArrayBuffer(Math.ceil(maxMem / 8 / 8) + 8);
  const rings = new SharedArrayBuffer(4 * o.workers * (RING_SIZE + 2));
  const ctl = new SharedArrayBuffer(16);
  const control = new Int32Array(ctl);
  const handle = heap.handle();
  const workers: Worker[] = [];
  const phase1: Phase[] = [];
  const phase2: Phase[] = [];
  let failed: string | undefined;
  const all = new Promise<void>((resolve) => {
    for (let id = 0; id < o.workers; id++) {
      const w = new Worker(new URL("./workers/stress.mjs", import.meta.url), {
        workerData: {
          handle, id, nworkers: o.workers, ops: o.ops, seed: 0x9e3779b9 ^ (id * 7919), rings, bits, ctl,
          ringSize: RING_SIZE, sendPct: o.sendPct, mallocPct: o.mallocPct, poolMax: o.poolMax, allocPct: o.allocPct ?? 50,
        },
      });
      w.on("error", (e) => { failed = String(e); resolve(); });
      w.on("message", (m: Phase) => {
        if (m.phase === -1) { failed = m.error; resolve(); return; }
        if (m.phase === 1) {
          phase1.push(m);
          if (phase1.length === o.workers) quiescent();
        } else {
          phase2.push(m);
          if (phase2.length === o.workers) resolve();
        }
      });
      workers.push(w);
    }
  });
  let quiet: { live: number; malloced: number; held: number; heldMalloc: number; ok: boolean; problems: unknown[] } | undefined;
  function quiescent(): void {
    // Every Worker waits for GO: nobody is inside the allocator. Count and validate now.
    // malloc blocks handed out: class objects and medium blocks (the Workers' 16..216-byte mallocs: a cold
    // class's loans, assembly/kmalloc.ts lend)
    const malloced = heap.footprint().mallocObjects;
    const v = heap.validate();
    quiet = {
      live: cache.stats().activeObjects,
      malloced,
      held: phase1.reduce((a, m) => a + (m.held ?? 0), 0),
      heldMalloc: phase1.reduce((a, m) => a + (m.heldMalloc ?? 0), 0),
      ok: v.ok,
      problems: v.problems,
    };
    Atomics.store(control, 1, 1);
    Atomics.notify(control, 1);
  }
  await all;
  await Promise.all(workers.map((w) => w.terminate()));
  expect(failed).toBeUndefined();
  return { heap, cache, phase1, phase2, quiet: quiet! };
}

function checkEnd(heap: SharedHeap, cache: ReturnType<SharedHeap["createCache"]>) {
  heap.claimCpu();
  expect(cache.stats().activeObjects).toBe(0);
  heap.shrink();
  expect(heap.validate().ok).toBe(true);
  for (const c of heap.walkCaches()) {
    if (c.name === "kmem_cache") continue;
    expect({ name: c.name, objects: totalObjects(heap, c.addr) }).toEqual({ name: c.name, objects: 0 });
  }
}

describe("threads: Workers over one shared heap", () => {
  it("4 Workers × 1e6 operations, 50%+ frees across Workers: no object twice, all accounted for, validate clean, all slabs back", async () => {
    const { heap, cache, phase1, phase2, quiet } = await run({
      workers: 4, ops: 1_000_000, maxBytes: 64 << 20, poolMax: 2000, sendPct: 70, mallocPct: 25,
    });
    const errors = phase2.flatMap((m) => m.errors).concat(phase1.flatMap((m) => m.errors));
    expect(errors).toEqual([]);
    const frees = phase2.reduce((a, m) => a + m.frees, 0);
    const remote = phase2.reduce((a, m) => a + m.remoteFrees, 0);
    const allocs = phase2.reduce((a, m) => a + m.allocs, 0);
    expect(allocs).toBe(frees);                                 // everything freed by the end
    expect(remote / frees).toBeGreaterThanOrEqual(0.5);               // sends wait for room: ~0.7 whatever the scheduling
    expect(new Set(phase1.map((m) => m.cpu)).size).toBe(4);       // four distinct CPUs
    expect(quiet.ok, JSON.stringify(quiet.problems)).toBe(true);
    expect(quiet.live).toBe(quiet.held);                          // every object accounted for
    expect(quiet.malloced).toBe(quiet.heldMalloc);
    expect(phase2.every((m) => m.oom === 0)).toBe(true);
    checkEnd(heap, cache);
  });

  it("the same under a small budget: OOM in some Workers, nothing lost or handed out twice", async () => {
    const { heap, cache, phase1, phase2, quiet } = await run({
      workers: 4, ops: 250_000, maxBytes: 3 << 20, poolMax: 40000, sendPct: 40, mallocPct: 25, allocPct: 60,
    });
    const errors = phase2.flatMap((m) => m.errors).concat(phase1.flatMap((m) => m.errors));
    expect(errors).toEqual([]);
    expect(phase2.reduce((a, m) => a + m.oom, 0)).toBeGreaterThan(0);
    expect(quiet.ok, JSON.stringify(quiet.problems)).toBe(true);
    expect(quiet.live).toBe(quiet.held);
    expect(quiet.malloced).toBe(quiet.heldMalloc);
    checkEnd(heap, cache);
  });

  it("the debug build (assertions and the lock-order check on) survives a shorter run", async () => {
    const { heap, cache, phase2, quiet } = await run({
      workers: 4, ops: 100_000, maxBytes: 32 << 20, debugBuild: true, poolMax: 500, sendPct: 60, mallocPct: 25,
    });
    expect(phase2.flatMap((m) => m.errors)).toEqual([]);
    expect(quiet.ok).toBe(true);
    expect(quiet.live).toBe(quiet.held);
    checkEnd(heap, cache);
  });
});
