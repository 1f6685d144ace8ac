// threads-races.test.ts — shared heaps: the API, and each race window forced.
//
// Deterministic cases run two instances in this thread (attachAllocator works in any thread): CPU
// ownership, a second claim (typed error), requests honoured only by the owner, a request posted while
// the owner is inside a slow path (a constructor re-entering from it), recovery of an abandoned CPU, a
// lock whose holder died (the waiter gives up: LockTimeoutError), growth seen by every instance. Worker
// cases force the same windows under real concurrency: CPU claim/release contention, growth while
// others allocate, a request while the owner is in a slow path, a Worker terminated while holding
// objects, in-use bitmap words shared by objects that different CPUs hold (inuse.ts). Correctness
// assertions only; the static test reads build/threaded.wat (no atomics on the fast paths but the
// in-use bits' out-of-line compare-and-swap).
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import {
  attachAllocator, createAllocator, CacheBusyError, CpuBusyError, DoubleFreeError, InvalidArgumentError, LockTimeoutError, NoCpuError,
  type SharedHeap,
} from "../dist/index.js";

/** Objects in a cache's slabs, every node (CN_TOTAL_OBJECTS), read through the heap's views. */
function totalObjects(heap: SharedHeap, addr: number): number {
  let t = 0;
  for (let n = 0; n < heap.nodes; n++) t += heap.u32(addr + heap.L.C_HDR + n * heap.L.CN_SIZE + heap.L.CN_TOTAL_OBJECTS);
  return t;
}


const REQ_DRAIN = 1;

async function shared(extra: Record<string, unknown> = {}): Promise<SharedHeap> {
  return (await createAllocator({ shared: true, nodes: 2, cpusPerNode: 2, maxBytes: 32 << 20, reap: false, ...extra })) as SharedHeap;
}

function runWorker(data: Record<string, unknown>, onMessage?: (m: any, w: Worker) => void): Promise<any> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL("./workers/race.mjs", import.meta.url), { workerData: data });
    w.on("error", reject);
    w.on("message", (m) => {
      if (onMessage) onMessage(m, w);
      if (m.ok === false) reject(new Error(m.error));
      else if (m.ok === true) { resolve(m); void w.terminate(); }
    });
  });
}

/** Objects in one CPU's arrays of a cache (main, spare, alien): read at a quiescent point. */
function slotObjects(heap: SharedHeap, cacheAddr: number, cpu: number): number {
  const L = heap.L;
  const slot = cacheAddr + heap.u32(heap.hdr + L.H_CPU_OFF!) + cpu * L.CC_SIZE!;
  let n = heap.u32(heap.u32(slot + L.CC_MAIN!) + L.SH_COUNT!) + heap.u32(heap.u32(slot + L.CC_SPARE!) + L.SH_COUNT!);
  for (let k = 0; k < L.MAX_NODES!; k++) {
    const a = heap.u32(slot + L.CC_ALIEN! + 4 * k);
    if (a !== 0) n += heap.u32(a + L.SH_COUNT!);
  }
  return n;
}

function allSlabsBack(heap: SharedHeap): void {
  heap.shrink();
  for (const c of heap.walkCaches()) {
    if (c.name === "kmem_cache") continue;
    expect({ name: c.name, objects: totalObjects(heap, c.addr) }).toEqual({ name: c.name, objects: 0 });
  }
}

describe("threads: the threaded build", () => {
  it("keeps atomic instructions out of the fast paths, in-use bits out of line (and the single-threaded build has none at all)", () => {
    const body = (wat: string, fn: string): string => {
      const name = new RegExp(`\\(export "${fn}" \\(func (\\$[^)]+)\\)\\)`).exec(wat)![1]!;
      const start = wat.indexOf(`\n (func ${name} `);
      const end = wat.indexOf("\n (func ", start + 5);
      return wat.slice(start, end);
    };
    const threaded = readFileSync(new URL("../build/threaded.wat", import.meta.url), "utf8");
    const single = readFileSync(new URL("../build/release.wat", import.meta.url), "utf8");
    expect(threaded).toMatch(/memory \$0 1 65536 shared/);
    expect(threaded).toMatch(/i32\.atomic\.rmw\.cmpxchg/);                 // the locks are atomics
    for (const fn of ["cache_alloc", "cache_free", "malloc", "free"]) {
      const b = body(threaded, fn);
      expect(b.length).toBeGreaterThan(200);
      expect({ fn, atomics: (b.match(/atomic/g) ?? []).length }).toEqual({ fn, atomics: 0 });
    }
    expect(single.match(/atomic/g)).toBeNull();
    // The in-use bits (inuse.ts) are the one shared word a fast path writes: their branch calls out of
    // line to a compare-and-swap (an object's neighbours in the word are held by other CPUs), so the
    // bodies above stay free of atomics for every other cache. Inlined again, the checks above fail.
    const fnBody = (name: string): string => {
      const start = threaded.indexOf(`\n (func $assembly/inuse/${name} `);
      expect(start, name).toBeGreaterThan(0);
      return threaded.slice(start, threaded.indexOf("\n (func ", start + 5));
    };
    for (const name of ["wordSetShared", "wordTestClearShared"]) expect(fnBody(name)).toMatch(/i64\.atomic\.rmw\.cmpxchg/);
    expect(body(threaded, "cache_alloc")).toMatch(/call \$assembly\/inuse\/wordSetShared/);
    expect(body(threaded, "cache_free")).toMatch(/call \$assembly\/inuse\/wordTestClearShared/);
  });
});

describe("threads: shared heaps in one thread (deterministic)", () => {
  it("makes a shared memory whose maximum comes from maxBytes, and claims a CPU for its creator", async () => {
    const heap = await shared();
    expect(heap.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(heap.cpu).toBe(0);
    expect(heap.owner(0)).toBe(heap.token);
    const h = heap.handle();
    expect(h.kind).toBe("wasm-slab/shared");
    expect(h.heap).toBe(heap.hdr);
    // The maximum: maxBytes plus room for the header, nothing like 4 GiB.
    expect(() => heap.memory.grow(((32 << 20) + (2 << 20)) / 65536)).toThrow();
    await expect(createAllocator({ shared: true, memory: new WebAssembly.Memory({ initial: 1 }) })).rejects.toThrow(InvalidArgumentError);
  });

  it("a second claim of an owned CPU is a CpuBusyError; a released CPU can be claimed", async () => {
    const a = await shared();
    const b = await attachAllocator(a.handle(), { cpu: 1 });
    expect(b.cpu).toBe(1);
    await expect(attachAllocator(a.handle(), { cpu: 0 })).rejects.toThrow(CpuBusyError);
    expect(() => b.pin(0)).toThrow(CpuBusyError);
    expect(b.cpu).toBe(1);                                     // a refused pin changes nothing
    a.releaseCpu();
    expect(a.cpu).toBe(-1);
    expect(() => a.releaseCpu()).toThrow(NoCpuError);
    b.pin(0);
    expect(b.cpu).toBe(0);
    expect(a.owner(1)).toBe(0);
    const c = await attachAllocator(a.handle());               // the first free CPU
    expect(c.cpu).toBe(1);
    const d = await attachAllocator(a.handle());
    const e = await attachAllocator(a.handle());
    expect([d.cpu, e.cpu].sort()).toEqual([2, 3]);
    await expect(attachAllocator(a.handle())).rejects.toThrow(CpuBusyError); // every CPU owned
  });

  it("an instance without a CPU gets NoCpuError, and changes nothing", async () => {
    const a = await shared();
    const cache = a.createCache("x", { size: 40 });
    const p = cache.alloc();
    a.releaseCpu();
    expect(() => cache.alloc()).toThrow(NoCpuError);
    expect(() => cache.free(p)).toThrow(NoCpuError);
    expect(() => a.malloc(10)).toThrow(NoCpuError);
    expect(() => cache.allocBulk(10)).toThrow(NoCpuError);
    expect(() => cache.freeBulk([p])).toThrow(NoCpuError);
    expect(() => cache.prefill(4)).toThrow(NoCpuError);
    a.claimCpu(3);
    cache.free(p);
    expect(cache.stats().activeObjects).toBe(0);
    expect(a.validate().ok).toBe(true);
  });

  it("frees across instances: same node into the freeing CPU's array, other node into its alien array", async () => {
    const a = await shared();                                  // CPU 0, node 0
    const cache = a.createCache("obj", { size: 64 });
    const b = await attachAllocator(a.handle(), { cpu: 1 });   // node 0
    const c = await attachAllocator(a.handle(), { cpu: 2 });   // node 1
    const bc = b.cache("obj")!;
    const cc = c.cache("obj")!;
    const warm = Array.from({ length: 4 }, () => cache.alloc());  // first frees make the arrays (locks)
    bc.free(warm[0]!); bc.free(warm[1]!); cc.free(warm[2]!); cc.free(warm[3]!);
    const before = cache.stats().perCpu;
    const ps = Array.from({ length: 10 }, () => cache.alloc());
    for (const p of ps.slice(0, 5)) bc.free(p);
    for (const p of ps.slice(5)) cc.free(p);
    const st = cache.stats();
    expect(st.perCpu[1]!.free_fastpath - before[1]!.free_fastpath).toBe(5);
    expect(st.perCpu[2]!.alien_free - before[2]!.alien_free).toBe(5);
    expect(st.perCpu[1]!.lock_acquire + st.perCpu[2]!.lock_acquire - before[1]!.lock_acquire - before[2]!.lock_acquire).toBe(0); // no lock
    expect(slotObjects(a, cache.addr, 1)).toBeGreaterThanOrEqual(5);
    expect(slotObjects(a, cache.addr, 2)).toBeGreaterThanOrEqual(5);
    expect(st.activeObjects).toBe(0);
  });

  it("other CPUs' arrays are drained only by their owners, on request; shrink waits for them", async () => {
    const a = await shared();
    const cache = a.createCache("obj", { size: 64 });
    const b = await attachAllocator(a.handle(), { cpu: 2 });
    const bc = b.cache("obj")!;
    const ps = Array.from({ length: 50 }, () => bc.alloc());
    for (const p of ps) bc.free(p);
    const parked = slotObjects(a, cache.addr, 2);
    expect(parked).toBeGreaterThan(0);
    a.shrink();                                                // drains CPU 0, only asks CPU 2
    expect(slotObjects(a, cache.addr, 2)).toBe(parked);
    const seq = a.t.cpu_request(2, REQ_DRAIN);
    expect(seq).toBeGreaterThan(0);
    expect(a.t.cpu_requests_done(2)).toBeLessThan(seq);
    b.poll();                                                  // the owner honours it
    expect(a.t.cpu_requests_done(2)).toBeGreaterThanOrEqual(seq);
    expect(slotObjects(a, cache.addr, 2)).toBe(0);
    // shrinkAll: the other owner must answer; here it cannot (same thread, never polls): bounded wait
    for (let i = 0; i < 10; i++) bc.free(bc.alloc());
    const r = await a.shrinkAll({ timeoutMs: 50 });
    expect(r.pending).toEqual([2]);
    expect(slotObjects(a, cache.addr, 2)).toBeGreaterThan(0);
    b.poll();                                                  // honours the request shrinkAll posted
    expect(slotObjects(a, cache.addr, 2)).toBe(0);
    allSlabsBack(a);
  });

  it("a request posted while the owner is inside a slow path waits for its next slow path or API call", async () => {
    const a = await shared();
    const b = await attachAllocator(a.handle(), { cpu: 3 });
    let seq = 0;
    let doneInside = -1;
    const cache = b.createCache("ctor", {
      size: 48,
      ctor: () => {
        if (seq !== 0) return;
        seq = a.t.cpu_request(3, REQ_DRAIN);                   // the owner is inside cacheAlloc's slow path
        doneInside = a.t.cpu_requests_done(3);
      },
    });
    const p = cache.alloc();
    expect(seq).toBeGreaterThan(0);
    expect(doneInside).toBeLessThan(seq);
    expect(a.t.cpu_requests_done(3)).toBeLessThan(seq);        // not honoured inside that slow path
    expect(slotObjects(a, cache.addr, 3)).toBeGreaterThan(0);  // the refill parked objects
    b.poll();
    expect(a.t.cpu_requests_done(3)).toBeGreaterThanOrEqual(seq);
    expect(slotObjects(a, cache.addr, 3)).toBe(0);
    cache.free(p);
    expect(b.validate().ok).toBe(true);
  });

  it("a cache is not destroyed while another CPU's arrays hold its objects (CacheBusyError until drained)", async () => {
    const a = await shared();
    const cache = a.createCache("obj", { size: 64 });
    const b = await attachAllocator(a.handle(), { cpu: 2 });
    const bc = b.cache("obj")!;
    for (let i = 0; i < 3; i++) bc.free(bc.alloc());            // parked in CPU 2's arrays
    expect(() => cache.destroy()).toThrow(CacheBusyError);      // ... and a drain request posted
    expect(cache.destroyed).toBe(false);
    b.poll();
    cache.destroy();
    expect(a.validate().ok).toBe(true);
  });

  it("recovers an abandoned CPU: its arrays go back to the slabs, the objects it held stay live", async () => {
    const a = await shared();
    const cache = a.createCache("obj", { size: 100 });
    const b = await attachAllocator(a.handle(), { cpu: 2 });
    const bc = b.cache("obj")!;
    const held = Array.from({ length: 300 }, () => bc.alloc());
    for (const p of held.splice(150)) bc.free(p);
    expect(cache.stats().parkedObjects).toBeGreaterThan(0);
    // b "dies" without releasing: a takes its CPU over.
    expect(a.recoverCpu(2)).toBe(true);
    expect(a.owner(2)).toBe(0);
    expect(a.recoverCpu(2)).toBe(false);                       // nothing left to recover
    expect(slotObjects(a, cache.addr, 2)).toBe(0);             // (full arrays it gave the barn stay there)
    expect(cache.stats().activeObjects).toBe(150);
    for (const p of held) cache.free(p);
    expect(a.validate().ok).toBe(true);
    allSlabsBack(a);
    expect(() => a.recoverCpu(0)).toThrow(InvalidArgumentError); // its own CPU
  });

  it("a lock whose holder died: the waiter gives up after the timeout (LockTimeoutError), it never hangs", async () => {
    const a = await shared();
    const b = await attachAllocator(a.handle(), { cpu: 1, lockTimeoutMs: 30 });
    const cache = b.createCache("obj", { size: 64 });
    const L = a.L;
    const nodeLock = a.hdr + L.H_NODES! + 0 * L.NODE_SIZE! + L.N_LOCK!;
    const i32 = new Int32Array(a.memory.buffer);
    Atomics.store(i32, nodeLock >> 2, 1);                      // "held" by a thread that is gone
    let err: unknown;
    try {
      for (let i = 0; i < 10000; i++) cache.alloc();           // a new slab needs node 0's page lock
    } catch (e) {
      err = b.asLockTimeout(e);
    }
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect((err as LockTimeoutError).word).toBe(nodeLock);
    Atomics.store(i32, nodeLock >> 2, 0);
    // b is broken (it trapped mid-call); a recovers its CPU and the heap goes on.
    expect(a.recoverCpu(1)).toBe(true);
    const ac = a.adopt("obj", cache.addr);
    const p = ac.alloc();
    ac.free(p);
  });

  it("freeBulk of a batch that mixes nodes: the first bad pointer is named, whichever node it is of, and nothing is freed", async () => {
    // The threaded build checks the other node's objects in a second pass, under that node's lock
    // (bulk.ts checkNodes): the index it reports must still be the first bad one in the batch.
    const a = await createAllocator({ shared: true, nodes: 2, cpusPerNode: 1, maxBytes: 16 << 20, reap: false }) as SharedHeap;
    const kinds = [{ arrayCapacity: 0 }, {}, { inUseBits: true }, { debug: true }]; // keys / in-use bits / exact bitmap
    for (const [i, extra] of kinds.entries()) {
      const cache = a.createCache(`mixed-${i}`, { size: 48, ...extra });
      const own = Array.from({ length: 4 }, () => cache.allocNode(0));
      const far = Array.from({ length: 4 }, () => cache.allocNode(1));
      expect(far.every((p) => a.nodeOf(p) === 1) && own.every((p) => a.nodeOf(p) === 0)).toBe(true);
      const refused = (batch: number[]): number => {
        const live = cache.stats().activeObjects;
        let ptr = -1;
        try { cache.freeBulk(new Uint32Array(batch)); } catch (e) { expect(e).toBeInstanceOf(DoubleFreeError); ptr = (e as DoubleFreeError).ptr; }
        expect(cache.stats().activeObjects).toBe(live);         // all or nothing
        return ptr;
      };
      // a duplicate of the other node's object comes first / second
      expect(refused([own[0]!, far[0]!, own[1]!, far[0]!, own[0]!])).toBe(far[0]);
      expect(refused([own[0]!, far[0]!, own[0]!, far[0]!])).toBe(own[0]);
      expect(refused([far[1]!, far[2]!, far[1]!, far[2]!])).toBe(far[1]);
      expect(refused([far[2]!, own[2]!, far[3]!, far[3]!, far[2]!])).toBe(far[3]);
      // an object of the other node already free (in its slab with the arrays off, parked otherwise)
      cache.free(far[3]!);
      expect(refused([own[0]!, far[0]!, far[3]!, own[0]!])).toBe(far[3]);
      expect(refused([own[0]!, own[0]!, far[3]!])).toBe(own[0]);
      cache.freeBulk(new Uint32Array([...own, far[0]!, far[1]!, far[2]!]));  // every one was still allocated
      expect(cache.stats().activeObjects).toBe(0);
    }
    expect(a.validate().ok).toBe(true);
  });

  it("empty slabs one instance keeps go back before another instance grows memory (the hint is the heap's, not the instance's)", async () => {
    // node.ts: a malloc class keeps up to 4 MiB of empty slabs beyond min_partial; they must go back to
    // the page allocator before memory grows for a slab. Instance a keeps them; instance b, which never
    // kept one, needs pages: it must use theirs, not grow memory.
    const a = await createAllocator({ shared: true, nodes: 1, cpusPerNode: 2, maxBytes: 64 << 20, reap: false }) as SharedHeap;
    const b = await attachAllocator(a.handle(), { cpu: 1 });
    const L = a.L;
    const keptBytes = (): number => {
      let bytes = 0;
      for (const c of a.walkCaches()) {
        if (!c.name.startsWith("kmalloc-")) continue;
        const nr = a.u32(c.addr + L.C_HDR + L.CN_NR_EMPTY!);
        bytes += nr * (L.PAGE_SIZE << a.u32(c.addr + L.C_ORDER));
      }
      return bytes;
    };
    const blocks = Array.from({ length: 1500 }, () => a.malloc(2000));
    for (const p of blocks) a.free(p);
    const kept = keptBytes();
    expect(kept).toBeGreaterThan(2 << 20);
    const before = a.stats();
    const free = before.freePages[0]! * L.PAGE_SIZE;
    const want = free + (kept >> 1);                           // more than the free pages, less than free + kept
    const got: number[] = [];
    for (let n = 0; n < want; n += 1000) got.push(b.malloc(1000));
    expect(got.every((p) => p !== 0)).toBe(true);
    const after = a.stats();
    expect(after.chunks).toBe(before.chunks);                  // no chunk grown: the kept slabs' pages served
    expect(keptBytes()).toBeLessThan(kept);
    for (const p of got) b.free(p);
    expect(a.validate().ok).toBe(true);
  });

  it("growth by one instance is seen by every other, views refreshed", async () => {
    const a = await shared({ maxBytes: 64 << 20 });
    const b = await attachAllocator(a.handle());
    const before = a.memory.buffer.byteLength;
    const blocks: number[] = [];
    for (let i = 0; i < 20; i++) blocks.push(b.malloc(1 << 20));   // runs of chunks: memory grows
    const after = a.memory.buffer.byteLength;
    expect(after).toBeGreaterThan(before + (19 << 20));
    expect(a.u8.length).toBe(after);                           // a's view follows
    for (const p of blocks) {
      a.u8[p + (1 << 20) - 1] = 7;
      expect(b.u8[p + (1 << 20) - 1]).toBe(7);
      expect(a.nodeOf(p)).toBe(b.nodeOf(p));
    }
    expect(a.stats().chunks).toBe(b.stats().chunks);
    for (const p of blocks) a.free(p);
    expect(a.validate().ok).toBe(true);
  });
});

describe("threads: race windows with Workers", () => {
  it("CPU claim and release contended by 4 Workers: never two owners, nothing lost", async () => {
    const a = await createAllocator({ shared: true, nodes: 1, cpusPerNode: 5, maxBytes: 16 << 20, reap: false }) as SharedHeap;
    const cache = a.createCache("race", { size: 32 });
    a.releaseCpu();
    const ctl = new SharedArrayBuffer(8);
    const rs = await Promise.all([0, 1, 2, 3].map((id) => runWorker({ handle: a.handle(), mode: "claimRelease", id, ctl, iterations: 300 })));
    expect(rs.flatMap((r) => r.errors)).toEqual([]);
    expect(rs.reduce((s, r) => s + r.won, 0)).toBeGreaterThan(0);
    expect(rs.reduce((s, r) => s + r.won + r.busy, 0)).toBe(1200);
    a.claimCpu();
    expect(cache.stats().activeObjects).toBe(0);
    expect(a.validate().ok).toBe(true);
    allSlabsBack(a);
  });

  it("growth while others allocate: every block intact, every instance sees the grown memory", async () => {
    const a = await createAllocator({ shared: true, nodes: 2, cpusPerNode: 3, maxBytes: 96 << 20, reap: false }) as SharedHeap;
    a.createCache("race", { size: 32 });
    const start = a.memory.buffer.byteLength;
    const rs = await Promise.all([0, 1, 2, 3].map((id) => runWorker({ handle: a.handle(), mode: "grow", id, big: id < 2, iterations: id < 2 ? 150 : 20000 })));
    expect(rs.flatMap((r) => r.errors)).toEqual([]);
    expect(a.memory.buffer.byteLength).toBeGreaterThan(start + (16 << 20));
    for (const r of rs) {
      for (const [p, n, v] of r.blocks as [number, number, number][]) {
        expect(a.u8[p]).toBe(v);
        expect(a.u8[p + n - 1]).toBe(v);
        a.free(p);
      }
    }
    expect(a.validate().ok).toBe(true);
    allSlabsBack(a);
  });

  it("a request posted while the owning Worker is inside a slow path is honoured at its next API call", async () => {
    const a = await shared();
    const ctl = new SharedArrayBuffer(32);
    const c = new Int32Array(ctl);
    let seq = 0;
    let doneAtPost = 0;
    let doneAfterSlowPath = 0;
    let cpu = -1;
    const wait = async (i: number) => { while (Atomics.load(c, i) === 0) await new Promise((r) => setTimeout(r, 2)); };
    const worker = runWorker({ handle: a.handle(), mode: "slowPathOwner", ctl });
    await wait(0);                                             // the Worker is inside its slow path
    for (let k = 0; k < a.cpus; k++) if (a.owner(k) !== 0 && a.owner(k) !== a.token) cpu = k;
    seq = a.t.cpu_request(cpu, REQ_DRAIN);
    doneAtPost = a.t.cpu_requests_done(cpu);
    Atomics.store(c, 1, 1);
    Atomics.notify(c, 1);
    await wait(2);                                             // that slow path has returned
    doneAfterSlowPath = a.t.cpu_requests_done(cpu);
    Atomics.store(c, 3, 1);
    Atomics.notify(c, 3);
    const r = await worker;
    expect(seq).toBeGreaterThan(0);
    expect(doneAtPost).toBeLessThan(seq);
    expect(doneAfterSlowPath).toBeLessThan(seq);
    expect(r.parkedBefore).toBeGreaterThan(0);
    expect(r.parkedAfter).toBe(0);
    expect(a.t.cpu_requests_done(cpu) - seq).toBeGreaterThanOrEqual(0);
    expect(a.validate().ok).toBe(true);
  });

  it.each([
    { build: "release", arrayCapacity: 0 },                    // arrays off: every object goes through its slab
    { build: "debug", arrayCapacity: undefined },              // the lock-order check on; arrays, barns, aliens
  ])("freeBulk of batches that mix nodes, some with a duplicate, while the other node refills: no object held twice ($build build)", async ({ build, arrayCapacity }) => {
    // Two CPUs on two nodes. bulk.ts checks a batch by setting each object's free bit provisionally; an
    // object of the other node must get that mark only under its own node's lock, or that node's refill
    // can hand it out while the batch still holds it (and a failed batch's undo, or the free itself,
    // then makes it free while its new owner holds it).
    const a = await createAllocator({
      shared: true, nodes: 2, cpusPerNode: 1, maxBytes: 16 << 20, reap: false, debugBuild: build === "debug",
    }) as SharedHeap;
    const cache = a.createCache("race", { size: 32, ...(arrayCapacity === undefined ? {} : { arrayCapacity }) });
    a.releaseCpu();
    const shift = 5;                                           // one owner word per 32 bytes of memory
    const owner = new SharedArrayBuffer(4 * Math.ceil(((16 << 20) + (4 << 20)) / 32));
    const ctl = new SharedArrayBuffer(8);                     // [0]: the freer is done
    const common = { handle: a.handle(), mode: "mixedBulk", owner, shift, ctl, iterations: 4000, ms: 8000 };
    const rs = await Promise.all([
      runWorker({ ...common, cpu: 0, role: "freer" }),
      runWorker({ ...common, cpu: 1, role: "churner", iterations: 1e9 }),
    ]);
    expect(rs.flatMap((r) => r.errors)).toEqual([]);
    expect(rs[1].rounds).toBeGreaterThan(100);                 // the churner ran meanwhile
    expect(rs[0].batches).toBeGreaterThan(100);
    expect(rs[0].refused).toBeGreaterThan(10);
    expect(rs[0].foreign).toBeGreaterThan(1000);
    a.claimCpu();
    expect(cache.stats().activeObjects).toBe(0);
    const v = a.validate();
    expect(v.ok, JSON.stringify(v.problems)).toBe(true);
    a.shrink();                                                // (the Workers' staging buffers stay)
    expect(totalObjects(a, cache.addr)).toBe(0);
  });

  it.each([
    { kind: "constructor", options: { ctor: () => {} }, bulk: false },
    { kind: "inUseBits", options: { inUseBits: true }, bulk: false },
    { kind: "inUseBits, half the runs allocBulk / freeBulk", options: { inUseBits: true }, bulk: true },
  ])("in-use bits shared by neighbouring objects: 3 Workers freeing only their own objects lose no update ($kind cache)", async ({ options, bulk }) => {
    // inuse.ts: one 64-bit word holds the in-use bits of 64 neighbouring objects; CPUs holding objects of
    // one slab set and clear bits of that word at once, with no lock. A lost update refuses a valid free
    // (a lost set) or hides a double free (a lost clear). Runs of up to 24 objects against arrays of 8
    // send objects to and from the slabs all the time, so neighbours are held by different CPUs.
    const a = await createAllocator({ shared: true, nodes: 1, cpusPerNode: 4, maxBytes: 32 << 20, reap: false }) as SharedHeap;
    const cache = a.createCache("inuse", { size: 32, arrayCapacity: 8, ...options });
    a.releaseCpu();
    const ctl = new SharedArrayBuffer(8);                     // [0]: a Worker saw a lost update
    const rs = await Promise.all([0, 1, 2].map((id) =>
      runWorker({ handle: a.handle(), mode: "inuseOwn", cache: "inuse", id, ctl, run: 24, bulk, iterations: 200000, ms: 2000 })));
    expect(rs.flatMap((r) => r.errors)).toEqual([]);
    expect(rs.reduce((s, r) => s + r.ops, 0)).toBeGreaterThan(100000);
    a.claimCpu();
    expect(cache.stats().activeObjects).toBe(0);
    const v = a.validate();
    expect(v.ok, JSON.stringify(v.problems)).toBe(true);
    a.shrink();                                                // (the Workers' bulk staging buffers stay)
    expect(totalObjects(a, cache.addr)).toBe(0);
  });

  it("a hold on growth (kept slabs first) is the call's own: never left set, and no Worker's allocation fails meanwhile", async () => {
    // arena.ts holdGrowth is per instance on purpose (its comment says why). A hold left set would refuse
    // the holder's own next growth (its 3 MiB blocks); growth by the other Worker goes on meanwhile.
    const a = await createAllocator({ shared: true, nodes: 1, cpusPerNode: 3, maxBytes: 96 << 20, reap: false }) as SharedHeap;
    const common = { handle: a.handle(), mode: "holdGrow", ms: 6000 };
    const rs = await Promise.all([
      runWorker({ ...common, role: "holder", iterations: 300 }),
      runWorker({ ...common, role: "grower", iterations: 600 }),
    ]);
    expect(rs.flatMap((r) => r.errors)).toEqual([]);
    expect(rs[0].mallocs).toBeGreaterThan(1000);
    expect(a.stats().chunks).toBeGreaterThan(4);               // memory grew meanwhile
    expect(a.validate().ok).toBe(true);
  });

  it("a Worker terminated while holding objects: its CPU is recovered, no object lost", async () => {
    const a = await shared();
    const cache = a.createCache("race", { size: 72 });
    const held = new SharedArrayBuffer(4 * 1024);
    const ctl = new SharedArrayBuffer(8);
    const info = await new Promise<{ cpu: number; token: number; held: number }>((resolve, reject) => {
      const w = new Worker(new URL("./workers/race.mjs", import.meta.url), { workerData: { handle: a.handle(), mode: "holdAndDie", held, ctl } });
      w.on("error", reject);
      w.on("message", (m) => {
        if (m.ok === false) reject(new Error(m.error));
        else void w.terminate().then(() => resolve(m));
      });
    });
    expect(a.owner(info.cpu)).toBe(info.token);                // dead, still the owner
    expect(slotObjects(a, cache.addr, info.cpu)).toBeGreaterThan(0);
    expect(a.recoverCpu(info.cpu)).toBe(true);
    expect(slotObjects(a, cache.addr, info.cpu)).toBe(0);
    const h = new Int32Array(held);
    expect(h[0]).toBe(info.held);
    expect(cache.stats().activeObjects).toBe(info.held);       // what it held is still allocated
    for (let i = 1; i <= h[0]!; i++) cache.free(h[i]!);
    expect(cache.stats().activeObjects).toBe(0);
    expect(a.validate().ok).toBe(true);
    allSlabsBack(a);
  });
});
