// api.test.ts — the public TS API of the foundation: topology, caches, alloc/free, every error, destroy,
// constructors, NUMA placement and fallback, stats and slabinfo shapes.
import { describe, expect, it } from "vitest";
import {
  CacheBusyError,
  CacheDestroyedError,
  DoubleFreeError,
  InvalidArgumentError,
  InvalidFreeError,
  OutOfMemoryError,
  STAT_NAMES,
  SlabError,
  createAllocator,
} from "../bindings/index.js";

describe("createAllocator", () => {
  it("defaults to 1 node × 1 CPU and an empty, valid heap", async () => {
    const heap = await createAllocator();
    expect(heap.nodes).toBe(1);
    expect(heap.cpus).toBe(1);
    expect(heap.cpu).toBe(0);
    expect(heap.stats().chunks).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("rejects invalid options with InvalidArgumentError", async () => {
    await expect(createAllocator({ nodes: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(createAllocator({ nodes: 9 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(createAllocator({ nodes: 8, cpusPerNode: 9 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(createAllocator({ cpusPerNode: 1.5 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(createAllocator({ maxBytes: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(createAllocator({ maxBytes: 1000 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(createAllocator({ heapBase: -5 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("never writes below heapBase", async () => {
    const memory = new WebAssembly.Memory({ initial: 4 });
    new Uint8Array(memory.buffer).fill(0x5a, 0, 200_000);
    const heap = await createAllocator({ memory, heapBase: 200_000 });
    const c = heap.createCache("x", { size: 100 });
    const ptrs = Array.from({ length: 5000 }, () => c.alloc());
    expect(Math.min(...ptrs)).toBeGreaterThanOrEqual(200_000);
    const low = new Uint8Array(memory.buffer, 0, 200_000);
    expect(low.every((b) => b === 0x5a)).toBe(true);
    for (const p of ptrs) c.free(p);
    expect(heap.validate().ok).toBe(true);
  });

  it("is importable by package name after the build", async () => {
    const mod = await import("wasm-slab");
    expect(typeof mod.createAllocator).toBe("function");
    const heap = await mod.createAllocator();
    expect(heap.createCache("n", { size: 8 }).alloc()).toBeGreaterThan(0);
  });
});

describe("caches", () => {
  it("hands out distinct, aligned objects that hold their bytes", async () => {
    const heap = await createAllocator();
    const c = heap.createCache("obj48", { size: 48, align: 16 });
    expect(c.stride).toBe(48);
    const seen = new Set<number>();
    for (let i = 0; i < 3000; i++) {
      const p = c.alloc();
      expect(p % 16).toBe(0);
      expect(seen.has(p)).toBe(false);
      seen.add(p);
      heap.u8.fill(i & 0xff, p, p + 48);
    }
    let i = 0;
    for (const p of seen) {
      expect(heap.u8.subarray(p, p + 48).every((b) => b === (i & 0xff))).toBe(true);
      i++;
    }
    expect(c.live).toBe(3000);
    for (const p of seen) c.free(p);
    expect(c.live).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("rejects invalid cache options and creates nothing", async () => {
    const heap = await createAllocator();
    const before = heap.slabinfo();
    expect(() => heap.createCache("", { size: 8 })).toThrow(InvalidArgumentError);
    expect(() => heap.createCache("a", { size: 0 })).toThrow(InvalidArgumentError);
    expect(() => heap.createCache("a", { size: 1 << 20 })).toThrow(InvalidArgumentError);
    expect(() => heap.createCache("a", { size: 2 ** 40 })).toThrow(InvalidArgumentError);
    expect(() => heap.createCache("a", { size: 8, align: 3 })).toThrow(InvalidArgumentError);
    expect(() => heap.createCache("a", { size: 8, align: 8192 })).toThrow(InvalidArgumentError);
    expect(() => heap.createCache("a", { size: 8, flags: 1 << 30 })).toThrow(InvalidArgumentError);
    expect(() => heap.createCache("a", { size: 8, arrayCapacity: -1 })).toThrow(InvalidArgumentError);
    expect(() => heap.createCache("a", { size: 8, arrayCapacity: 1e6 })).toThrow(InvalidArgumentError);
    expect(heap.slabinfo()).toBe(before);
  });

  it("sizes slabs as SLUB does", async () => {
    const heap = await createAllocator();
    const rows = [8, 64, 192, 1024, 4096].map((size) => {
      const c = heap.createCache(`s${size}`, { size });
      return [size, c.objectsPerSlab, 1 << c.order];
    });
    expect(rows).toEqual([
      [8, 504, 1],
      [64, 64, 1],
      [192, 21, 1],
      [1024, 8, 2],
      [4096, 8, 8],
    ]);
  });

  it("runs the constructor once per object; free objects keep their constructed state", async () => {
    const heap = await createAllocator();
    let calls = 0;
    const c = heap.createCache("ctor", {
      size: 32,
      arrayCapacity: 0,
      ctor: (p) => {
        calls++;
        heap.dv.setUint32(p, 0xc0ffee, true);
      },
    });
    const p = c.alloc();
    expect(calls).toBe(c.objectsPerSlab);
    expect(heap.dv.getUint32(p, true)).toBe(0xc0ffee);
    c.free(p);
    const q = c.alloc();
    expect(q).toBe(p);
    expect(heap.dv.getUint32(q, true)).toBe(0xc0ffee);
    expect(calls).toBe(c.objectsPerSlab);
  });

  it("a constructor may allocate from another cache (re-entrancy)", async () => {
    const heap = await createAllocator();
    const inner = heap.createCache("inner", { size: 16 });
    const innerPtrs: number[] = [];
    const outer = heap.createCache("outer", {
      size: 64,
      ctor: (p) => {
        const q = inner.alloc();
        innerPtrs.push(q);
        heap.dv.setUint32(p, q, true);
      },
    });
    const ptrs = Array.from({ length: 200 }, () => outer.alloc());
    for (const p of ptrs) expect(innerPtrs).toContain(heap.dv.getUint32(p, true));
    expect(inner.live).toBe(innerPtrs.length);
    expect(heap.validate().ok).toBe(true);
  });

  it("a constructor may allocate from its own cache", async () => {
    const heap = await createAllocator();
    let depth = 0;
    const extra: number[] = [];
    // eslint-disable-next-line prefer-const
    let c: ReturnType<typeof heap.createCache>;
    c = heap.createCache("self", {
      size: 128,
      ctor: () => {
        if (depth++ < 3) extra.push(c.alloc());
        depth--;
      },
    });
    const a = c.alloc();
    expect(extra.length).toBeGreaterThan(0);
    expect(new Set([a, ...extra]).size).toBe(extra.length + 1);
    expect(heap.validate().ok).toBe(true);
    c.free(a);
    for (const p of extra) c.free(p);
    expect(c.live).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("a throwing constructor surfaces as its own error and leaks nothing", async () => {
    const heap = await createAllocator();
    let fail = true;
    const c = heap.createCache("boom", {
      size: 32,
      ctor: () => {
        if (fail) throw new Error("ctor failed");
      },
    });
    expect(() => c.alloc()).toThrow("ctor failed");
    expect(c.live).toBe(0);
    fail = false;
    expect(c.alloc()).toBeGreaterThan(0);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("errors change nothing", () => {
  async function setup() {
    const heap = await createAllocator();
    const a = heap.createCache("a", { size: 64 });
    const b = heap.createCache("b", { size: 64 });
    const p = a.alloc();
    return { heap, a, b, p };
  }

  it("a pointer that is not ours", async () => {
    const { heap, a, p } = await setup();
    const snap = heap.slabinfo();
    for (const bad of [0, 8, heap.stats().headerBytes, 0xfff0_0000, 2 ** 32 - 8]) {
      const e = (() => {
        try {
          a.free(bad);
        } catch (err) {
          return err;
        }
      })();
      expect(e).toBeInstanceOf(InvalidFreeError);
      expect((e as InvalidFreeError).reason).toBe("not-ours");
      expect((e as InvalidFreeError).ptr).toBe(bad);
    }
    expect(heap.slabinfo()).toBe(snap);
    a.free(p);
    expect(heap.validate().ok).toBe(true);
  });

  it("a pointer into the middle of an object", async () => {
    const { heap, a, p } = await setup();
    expect(() => a.free(p + 4)).toThrowError(expect.objectContaining({ reason: "not-object" }));
    a.free(p);
    expect(heap.validate().ok).toBe(true);
  });

  it("an object of another cache", async () => {
    const { heap, a, b, p } = await setup();
    expect(() => b.free(p)).toThrowError(expect.objectContaining({ reason: "wrong-cache", cache: "b" }));
    expect(a.live).toBe(1);
    a.free(p);
    expect(heap.validate().ok).toBe(true);
  });

  it("a double free that reaches the slab", async () => {
    const heap = await createAllocator();
    const c = heap.createCache("noarrays", { size: 64, arrayCapacity: 0 });
    const p = c.alloc();
    const q = c.alloc();
    c.free(p);
    expect(() => c.free(p)).toThrow(DoubleFreeError);
    expect(c.live).toBe(1);
    expect(heap.validate().ok).toBe(true);
    c.free(q);
    expect(c.alloc()).toBeGreaterThan(0);
  });

  it("a double free after the arrays were flushed", async () => {
    const heap = await createAllocator();
    const c = heap.createCache("arr", { size: 64 });
    const p = c.alloc();
    c.free(p);
    heap.wasm.cache_drain(c.addr);
    expect(() => c.free(p)).toThrow(DoubleFreeError);
    expect(heap.validate().ok).toBe(true);
  });

  it("errors are SlabErrors with the ABI code", async () => {
    const { a, p } = await setup();
    try {
      a.free(p + 1);
    } catch (e) {
      expect(e).toBeInstanceOf(SlabError);
      expect((e as SlabError).code).toBe(3);
    }
  });
});

describe("destroy", () => {
  it("refuses while objects are live and frees nothing", async () => {
    const heap = await createAllocator();
    const c = heap.createCache("busy", { size: 40 });
    const ptrs = [c.alloc(), c.alloc(), c.alloc()];
    const before = c.stats();
    expect(() => c.destroy()).toThrowError(expect.objectContaining({ name: "CacheBusyError", live: 3 }));
    expect(() => c.destroy()).toThrow(CacheBusyError);
    expect(c.stats().totalObjects).toBe(before.totalObjects);
    expect(c.live).toBe(3);
    for (const p of ptrs) c.free(p);
    c.destroy();
    expect(c.destroyed).toBe(true);
    expect(() => c.alloc()).toThrow(CacheDestroyedError);
    expect(() => c.free(ptrs[0]!)).toThrow(CacheDestroyedError);
    expect(() => c.destroy()).toThrow(CacheDestroyedError);
    expect(heap.validate().ok).toBe(true);
    expect(heap.slabinfo()).not.toContain("busy");
  });

  it("gives its pages back for other caches", async () => {
    const heap = await createAllocator({ maxBytes: 1 << 20 });
    const a = heap.createCache("a", { size: 1000 });
    const ptrs: number[] = [];
    for (;;) {
      try {
        ptrs.push(a.alloc());
      } catch (e) {
        expect(e).toBeInstanceOf(OutOfMemoryError);
        break;
      }
    }
    for (const p of ptrs) a.free(p);
    a.destroy();
    const b = heap.createCache("b", { size: 500 });
    const n = Array.from({ length: 400 }, () => b.alloc()).length;
    expect(n).toBe(400);
    expect(heap.stats().chunks).toBe(1);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("out of memory", () => {
  it("throws OutOfMemoryError, or returns 0 when configured, and recovers after frees", async () => {
    for (const mode of ["throw", "null"] as const) {
      const heap = await createAllocator({ maxBytes: 2 << 20, onOutOfMemory: mode });
      const c = heap.createCache("big", { size: 4096 });
      const ptrs: number[] = [];
      for (;;) {
        let p = 0;
        try {
          p = c.alloc();
        } catch (e) {
          expect(mode).toBe("throw");
          expect(e).toBeInstanceOf(OutOfMemoryError);
        }
        if (p === 0) break;
        ptrs.push(p);
      }
      expect(ptrs.length).toBeGreaterThan(400);
      expect(heap.stats().chunks).toBe(2);
      expect(heap.validate().ok).toBe(true);
      c.free(ptrs.pop()!);
      expect(c.alloc()).toBeGreaterThan(0);
    }
  });
});

describe("topology", () => {
  it("new slabs come from the pinned CPU's node", async () => {
    const heap = await createAllocator({ nodes: 2, cpusPerNode: 2 });
    expect([0, 1, 2, 3].map((c) => heap.nodeOfCpu(c))).toEqual([0, 0, 1, 1]);
    const c = heap.createCache("n", { size: 64 });
    heap.pin(3);
    expect(heap.cpu).toBe(3);
    const p = c.alloc();
    expect(heap.nodeOf(p)).toBe(1);
    heap.pin(0);
    expect(heap.nodeOf(c.alloc())).toBe(0);
    expect(heap.nodeOf(c.allocNode(1))).toBe(1);
    expect(heap.nodeOf(12)).toBe(-1);
    expect(() => heap.pin(4)).toThrow(InvalidArgumentError);
    expect(() => c.allocNode(2)).toThrow(InvalidArgumentError);
    expect(c.stats().counters.alloc_node_mismatch).toBe(1);
  });

  it("falls back to another node when one cannot supply memory, and counts it", async () => {
    // Budget of 3 chunks: node 0 takes them all, then node 1 has nothing left to grow into.
    const heap = await createAllocator({ nodes: 2, maxBytes: 3 << 20 });
    const c = heap.createCache("fill", { size: 2048, arrayCapacity: 0 });
    const ptrs: number[] = [];
    expect(() => {
      for (;;) ptrs.push(c.allocNode(0));
    }).toThrow(OutOfMemoryError);
    expect(heap.stats().chunks).toBe(3);
    expect(ptrs.every((p) => heap.nodeOf(p) === 0)).toBe(true);
    c.free(ptrs.pop()!);
    heap.pin(1);
    const p = c.alloc();
    expect(heap.nodeOf(p)).toBe(0);
    expect(c.stats().counters.numa_fallback).toBeGreaterThanOrEqual(1);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("stats and slabinfo", () => {
  it("cache.stats has every counter, summed and per CPU", async () => {
    const heap = await createAllocator({ nodes: 1, cpusPerNode: 2 });
    const c = heap.createCache("s", { size: 64 });
    const p = c.alloc();
    c.free(p);
    heap.pin(1);
    c.free(c.alloc());
    const s = c.stats();
    expect(Object.keys(s.counters)).toEqual([...STAT_NAMES]);
    expect(s.perCpu).toHaveLength(2);
    for (const name of STAT_NAMES) expect(s.counters[name]).toBe(s.perCpu[0]![name] + s.perCpu[1]![name]);
    expect(s.counters.alloc_slowpath).toBe(2);
    expect(s.perCpu[1]!.alloc_slowpath).toBe(1);
  });

  it("slabinfo is /proc/slabinfo 2.1 text", async () => {
    const heap = await createAllocator();
    const c = heap.createCache("dentry", { size: 192 });
    const ptrs = Array.from({ length: 50 }, () => c.alloc());
    const text = heap.slabinfo();
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toBe("slabinfo - version: 2.1");
    expect(lines[1]).toMatch(/^# name +<active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>$/);
    const row = lines.find((l) => l.startsWith("dentry "))!.split(/\s+/);
    expect(row[1]).toBe("50");
    expect(row[3]).toBe("192");
    expect(row[4]).toBe("21");
    expect(row[5]).toBe("1");
    expect(row[6]).toBe(":");
    expect(row[7]).toBe("tunables");
    expect(row[8]).toBe(String(c.arrayCapacity));
    expect(row[11]).toBe(":");
    expect(row[12]).toBe("slabdata");
    for (const p of ptrs) c.free(p);
  });

  it("commits the top chunk lazily, block by block", async () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const heap = await createAllocator({ memory });
    const c = heap.createCache("tiny", { size: 32 });
    c.alloc();
    const s = heap.stats();
    expect(s.bytesGrown).toBe(1 << 20);
    expect(s.committedBytes).toBeLessThanOrEqual(s.headerBytes + 2 * 65536); // descriptors + the first pages
    const big = heap.createCache("big", { size: 4096 });
    const ptrs = Array.from({ length: 200 }, () => big.alloc());
    // every page handed out is addressable: writing the last byte of each object does not trap
    for (const p of ptrs) heap.u8[p + 4095] = 1;
    expect(heap.stats().committedBytes).toBeGreaterThan(200 * 4096);
    expect(heap.stats().committedBytes).toBeLessThanOrEqual(heap.stats().headerBytes + (1 << 20));
    expect(heap.validate().ok).toBe(true);
  });

  it("heap.stats reports memory figures", async () => {
    const heap = await createAllocator({ nodes: 2 });
    const c = heap.createCache("m", { size: 256 });
    c.alloc();
    const s = heap.stats();
    expect(s.bytesGrown).toBe(1 << 20);
    expect(s.freePages).toHaveLength(2);
    expect(s.slabPages[0]).toBeGreaterThan(0);
    expect(s.freePages[0]! + s.slabPages[0]!).toBe(254);
    expect(s.totalObjects).toBeGreaterThanOrEqual(s.activeObjects);
  });
});
