// malloc.test.ts — heap.malloc & co. with C semantics: size classes (kmalloc-N in slabinfo), alignment,
// large blocks (exact pages, chunk runs), calloc overflow, realloc in place / moved / to 0, aligned
// allocation, usable sizes, bad pointers (typed errors, nothing changed), the class sets.
import { describe, expect, it } from "vitest";
import { Abi } from "../bindings/generated/abi.js";
import { DoubleFreeError, InvalidArgumentError, InvalidFreeError, OutOfMemoryError, SlabError, createAllocator, type DebugReport } from "../bindings/index.js";

const KERNEL = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];

describe("malloc size classes", () => {
  it("kernel classes: each size goes to the smallest class that holds it, named kmalloc-N", async () => {
    const heap = await createAllocator();
    heap.setMallocClasses("kernel");
    for (const n of [1, 8, 9, 16, 17, 33, 65, 97, 129, 193, 257, 513, 1025, 2049, 4097, 8192]) {
      const p = heap.malloc(n);
      expect(heap.usableSize(p)).toBe(KERNEL.find((c) => c >= n));
    }
    const names = heap.slabinfo().split("\n").map((l) => l.split(/\s+/)[0]).filter((n) => n?.startsWith("kmalloc-"));
    expect(names.sort()).toEqual(KERNEL.map((c) => `kmalloc-${c}`).sort());
    expect(heap.validate().ok).toBe(true);
  });

  it("fine classes (the default) waste at most 25% above 16 bytes and include the kernel's", async () => {
    const heap = await createAllocator();
    heap.setMallocClasses("fine"); // chosen: served exactly, no loans (the default lends: below)
    for (let n = 17; n <= 8192; n += 7) {
      const p = heap.malloc(n);
      const u = heap.usableSize(p);
      expect(u).toBeGreaterThanOrEqual(n);
      expect(u).toBeLessThanOrEqual(Math.max(n + 15, n * 1.25));
      heap.free(p);
    }
    const names = new Set(heap.slabinfo().split("\n").map((l) => l.split(/\s+/)[0]));
    for (const c of KERNEL.slice(2)) expect(names.has(`kmalloc-${c}`), `kmalloc-${c}`).toBe(true);
    expect(heap.validate().ok).toBe(true);
  });

  it("class caches take small slabs (at least one object each)", async () => {
    const heap = await createAllocator();
    heap.setMallocClasses("fine"); // chosen: served exactly, no loans (the default lends: below)
    for (const n of [8000, 4000, 600]) heap.free(heap.malloc(n));
    const line = (name: string) => heap.slabinfo().split("\n").find((l) => l.startsWith(name + " "))!.trim().split(/\s+/);
    expect(line("kmalloc-8192").slice(4, 6)).toEqual(["1", "2"]); // 1 object per slab of 2 pages
    expect(line("kmalloc-4096").slice(4, 6)).toEqual(["1", "1"]);
    expect(line("kmalloc-640").slice(4, 6)).toEqual(["6", "1"]);
    // a class used a few times has no per-CPU arrays yet ("limit" 0 in slabinfo: warm-up) and one slab
    for (const c of ["kmalloc-8192", "kmalloc-4096", "kmalloc-640"]) expect(line(c)[8], c).toBe("0");
    expect(line("kmalloc-8192")[14]).toBe("1");
    expect(line("kmalloc-640")[14]).toBe("1");
    // after KM_WARM_ALLOCS slow-path allocations a class gets its arrays, of at most 32 KiB of objects
    // (at least 2; the default capacity for the size when that is less: 26 for 640 B), 64 KiB for the
    // classes of 2 KiB and more (kmalloc.ts KM_BIG_ARRAY_BYTES)
    for (const n of [8000, 4000, 600]) for (let i = 0; i <= Abi.KM_WARM_ALLOCS; i++) heap.free(heap.malloc(n));
    expect(line("kmalloc-8192")[8]).toBe("8");
    expect(line("kmalloc-4096")[8]).toBe("16");
    expect(line("kmalloc-640")[8]).toBe("26");
    // the first refills take two objects (batches start at 1, a refill takes twice the batch, and a
    // refill makes a new slab only for an empty batch): still one slab each
    expect(line("kmalloc-8192")[14]).toBe("1");
    expect(line("kmalloc-640")[14]).toBe("1");
    expect(heap.validate().ok).toBe(true);
  });

  it("the kernel class set keeps its per-CPU arrays from the first malloc (no warm-up)", async () => {
    const heap = await createAllocator();
    heap.setMallocClasses("kernel");
    heap.free(heap.malloc(600));
    const line = heap.slabinfo().split("\n").find((l) => l.startsWith("kmalloc-1024 "))!.trim().split(/\s+/);
    expect(Number(line[8])).toBeGreaterThan(0);
  });

  it("classes can be chosen only before the first malloc", async () => {
    const heap = await createAllocator();
    heap.free(heap.malloc(10));
    expect(() => heap.setMallocClasses("kernel")).toThrow(SlabError);
    expect(() => heap.setMallocClasses("odd" as "kernel")).toThrow(InvalidArgumentError);
  });

  it("alignment: 16 bytes from 16 up, 8 below, power-of-two classes naturally aligned", async () => {
    const heap = await createAllocator();
    for (let n = 1; n <= 8192; n = n < 64 ? n + 1 : Math.ceil(n * 1.1)) {
      for (let k = 0; k < 3; k++) {
        const p = heap.malloc(n);
        expect(p % (n >= 16 || n > 8 ? 16 : 8), `malloc(${n})`).toBe(0);
        const u = heap.usableSize(p);
        if ((u & (u - 1)) === 0) expect(p % Math.min(u, 8192), `kmalloc-${u}`).toBe(0);
      }
    }
  });

  it("malloc(0) is a unique pointer; free(0) does nothing", async () => {
    const heap = await createAllocator();
    const a = heap.malloc(0);
    const b = heap.malloc(0);
    expect(a).not.toBe(0);
    expect(a).not.toBe(b);
    heap.free(a);
    heap.free(b);
    heap.free(0);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("large blocks", () => {
  it("above 8 KiB: a run of exactly the pages needed", async () => {
    const heap = await createAllocator();
    heap.setMallocClasses("fine"); // page runs above 8 KiB, classes up to 8 KiB (the default set: medium.ts)
    const free0 = () => heap.stats().freePages[0]!;
    const p = heap.malloc(5 * 4096 - 100); // 5 pages
    expect(p % 4096).toBe(0);
    expect(heap.usableSize(p)).toBe(5 * 4096);
    expect(heap.stats().largePages[0]).toBe(5);
    const before = free0();
    heap.u8.fill(7, p, p + 5 * 4096);
    heap.free(p);
    expect(free0()).toBe(before + 5);
    expect(heap.stats().largePages[0]).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("above a chunk's 254 usable pages: a run of whole chunks", async () => {
    const heap = await createAllocator();
    const p = heap.malloc(3_000_000);
    // 3 chunks, committed to the block's end rounded to a Wasm page (assembly/page.ts runUsable)
    expect(heap.usableSize(p)).toBe(Math.min(3 * 2 ** 20 - 8192, Math.ceil((p + 3_000_000) / 65536) * 65536 - p));
    heap.u8.fill(1, p, p + 3_000_000);
    expect(heap.stats().largePages[0]).toBe(3 * 256);
    heap.free(p);
    expect(heap.stats().largePages[0]).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("many large blocks of random sizes keep the heap valid and give every page back", async () => {
    const heap = await createAllocator();
    heap.setMallocClasses("fine"); // page runs above 8 KiB, classes up to 8 KiB (the default set: medium.ts)
    let x = 1;
    const live: number[] = [];
    for (let i = 0; i < 3000; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      if (live.length && (x & 3) === 0) heap.free(live.splice(x % live.length, 1)[0]!);
      else live.push(heap.malloc(8193 + (x >>> 8) % 300_000));
    }
    expect(heap.validate().ok).toBe(true);
    for (const p of live) heap.free(p);
    const s = heap.stats();
    expect(s.largePages[0]).toBe(0);
    expect(s.freePages[0]).toBe(s.chunks * 254 - s.slabPages[0]!);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("calloc, realloc, alignedAlloc", () => {
  it("calloc zeroes recycled memory and refuses n × size beyond 32 bits", async () => {
    const heap = await createAllocator();
    for (const n of [24, 3000, 50_000]) {
      const p = heap.malloc(n);
      heap.u8.fill(0xee, p, p + n);
      heap.free(p);
      const q = heap.calloc(n, 1);
      expect(heap.u8.subarray(q, q + n).every((b) => b === 0)).toBe(true);
    }
    expect(() => heap.calloc(0x10000, 0x10001)).toThrow(OutOfMemoryError);
    const nul = await createAllocator({ onOutOfMemory: "null" });
    expect(nul.calloc(2 ** 31, 2)).toBe(0);
  });

  it("realloc: in place while the class fits, moved (contents kept) when it does not; (0, n) and (p, 0)", async () => {
    const heap = await createAllocator();
    heap.setMallocClasses("fine"); // chosen: served exactly, no loans (the default lends: below)
    const p = heap.realloc(0, 100); // malloc
    heap.u8.set([1, 2, 3, 4], p);
    expect(heap.realloc(p, 110)).toBe(p); // still kmalloc-112
    const q = heap.realloc(p, 1000);
    expect(q).not.toBe(p);
    expect([...heap.u8.subarray(q, q + 4)]).toEqual([1, 2, 3, 4]);
    const r = heap.realloc(q, 20); // much smaller: a smaller class
    expect(heap.usableSize(r)).toBe(32);
    expect([...heap.u8.subarray(r, r + 4)]).toEqual([1, 2, 3, 4]);
    // large: grows by moving, shrinks in place, giving pages back
    let big = heap.realloc(r, 100_000);
    heap.u8.fill(9, big + 4, big + 100_000);
    const pages = heap.stats().largePages[0]!;
    expect(heap.realloc(big, 40_000)).toBe(big);
    expect(heap.stats().largePages[0]).toBe(pages - 15);
    big = heap.realloc(big, 2_000_000); // a chunk run
    expect([...heap.u8.subarray(big, big + 6)]).toEqual([1, 2, 3, 4, 9, 9]);
    expect(heap.u8[big + 39_999]).toBe(9);
    expect(heap.realloc(big, 0)).toBe(0); // frees
    expect(() => heap.free(big)).toThrow(DoubleFreeError);
    expect(heap.stats().largePages[0]).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("realloc grows a large block in place into the free pages after it, and only into free pages", async () => {
    const heap = await createAllocator();
    heap.setMallocClasses("fine"); // page runs above 8 KiB, classes up to 8 KiB (the default set: medium.ts)
    let p = heap.malloc(20_000); // 5 pages
    heap.u8.fill(7, p, p + 20_000);
    const pages = heap.stats().largePages[0]!;
    expect(heap.realloc(p, 30_000)).toBe(p); // 8 pages: the free run after it
    expect(heap.stats().largePages[0]).toBe(pages + 3);
    expect(heap.usableSize(p)).toBe(32_768);
    expect(heap.validate().ok).toBe(true);
    const q = heap.malloc(20_000); // takes the pages right after p (or elsewhere)
    for (const n of [40_000, 70_000, 150_000, 300_000]) {
      const r = heap.realloc(p, n);
      expect(heap.u8.subarray(r, r + 20_000).every((b) => b === 7)).toBe(true);
      expect(heap.usableSize(r)).toBe(Math.ceil(n / 4096) * 4096);
      // in place only when nothing in use was in the way
      if (r === p) expect(q < p || q >= p + n).toBe(true);
      heap.u8.fill(7, r, r + n);
      expect(heap.validate().ok).toBe(true);
      p = r;
    }
    expect(heap.realloc(p, 12_000)).toBe(p); // and shrinks again, giving pages back
    expect(heap.usableSize(p)).toBe(12_288);
    heap.free(q);
    heap.free(p);
    expect(heap.stats().largePages[0]).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("a grown large block frees into fully merged free runs (a whole chunk comes back)", async () => {
    const heap = await createAllocator();
    heap.setMallocClasses("fine"); // page runs above 8 KiB, classes up to 8 KiB (the default set: medium.ts)
    const keep = heap.malloc(100); // holds the chunk's slab pages
    let p = heap.malloc(9000);
    let moved = 0;
    for (let n = 9000; n <= 500_000; n += 7000) {
      const r = heap.realloc(p, n);
      if (r !== p) moved++;
      p = r;
    }
    expect(moved).toBeLessThan(8);
    heap.free(p);
    heap.free(keep);
    expect(heap.stats().largePages[0]).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });

  it("realloc failing for lack of memory leaves the block alone", async () => {
    const heap = await createAllocator({ maxBytes: 4 << 20 });
    const p = heap.malloc(1000);
    const usable = heap.usableSize(p);                      // a cold class's medium block (kmalloc.ts lend)
    heap.u8.fill(5, p, p + 1000);
    expect(() => heap.realloc(p, 8 << 20)).toThrow(OutOfMemoryError);
    expect(heap.usableSize(p)).toBe(usable);
    expect(heap.u8.subarray(p, p + 1000).every((b) => b === 5)).toBe(true);
    heap.free(p);
    expect(heap.validate().ok).toBe(true);
  });

  it("alignedAlloc: 64 KiB whether chunkBase (32 KiB-aligned) is on a 64 KiB boundary or not", async () => {
    for (const heapBase of [undefined, 32768]) {
      const heap = await createAllocator({ heapBase });
      const chunkBase = heap.u32(heap.hdr + heap.L.H_CHUNK_BASE!);
      expect(chunkBase % 32768).toBe(0);
      if (heapBase === 32768) expect(chunkBase % 65536).toBe(0);
      const ps = [];
      for (const n of [5000, 70_000, 400_000, 480_000]) {
        const p = heap.alignedAlloc(65536, n);
        expect(p % 65536).toBe(0);
        expect(heap.usableSize(p)).toBeGreaterThanOrEqual(n);
        ps.push(p);
      }
      expect(heap.validate().ok).toBe(true);
      for (const p of ps) heap.free(p);
      expect(heap.stats().largePages[0]).toBe(0);
      expect(heap.validate().ok).toBe(true);
    }
  });

  it("alignedAlloc: every power of two up to 64 KiB, for small, large and huge sizes", async () => {
    const heap = await createAllocator();
    for (let a = 1; a <= 65536; a *= 2) {
      for (const n of [1, 24, 100, 3000, 8192, 10_000, 70_000]) {
        const p = heap.alignedAlloc(a, n);
        expect(p % a, `alignedAlloc(${a}, ${n})`).toBe(0);
        expect(heap.usableSize(p)).toBeGreaterThanOrEqual(n);
        heap.free(p);
      }
    }
    expect(heap.alignedAlloc(8192, 3_000_000) % 8192).toBe(0);
    expect(() => heap.alignedAlloc(3, 10)).toThrow(InvalidArgumentError);
    expect(() => heap.alignedAlloc(1 << 17, 10)).toThrow(InvalidArgumentError);
    expect(() => heap.alignedAlloc(16384, 3_000_000)).toThrow(InvalidArgumentError);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("bad pointers", () => {
  it("free / realloc / usableSize of a bad pointer throw a typed error and change nothing", async () => {
    const heap = await createAllocator();
    const user = heap.createCache("user", { size: 64 });
    const u = user.alloc();
    const small = heap.malloc(100);
    const big = heap.malloc(50_000);
    const snap = heap.slabinfo();
    const stats = JSON.stringify(heap.stats());
    const cases: [number, string, string][] = [
      [small + 8, "InvalidFreeError", "not-object"],
      [big + 4096, "InvalidFreeError", "not-object"],
      [big + 100, "InvalidFreeError", "not-object"],
      [u, "InvalidFreeError", "wrong-cache"],
      [16, "InvalidFreeError", "not-ours"],
      [0xfff0_0000, "InvalidFreeError", "not-ours"],
      [heap.hdr + 64, "InvalidFreeError", "not-ours"],
    ];
    for (const [p, cls, reason] of cases) {
      for (const op of [() => heap.free(p), () => heap.realloc(p, 10), () => heap.usableSize(p)]) {
        let err: unknown;
        try { op(); } catch (e) { err = e; }
        expect((err as Error)?.constructor.name, `0x${p.toString(16)}`).toBe(cls);
        expect((err as InvalidFreeError).reason).toBe(reason);
      }
    }
    expect(heap.slabinfo()).toBe(snap);
    expect(JSON.stringify(heap.stats())).toBe(stats);
    heap.free(big);
    expect(() => heap.free(big)).toThrow(DoubleFreeError);
    expect(() => heap.free(-1)).toThrow(InvalidArgumentError);
    expect(heap.validate().ok).toBe(true);
  });

  it("a double free is caught once the object is back in its slab", async () => {
    const heap = await createAllocator();
    const ptrs = Array.from({ length: 2000 }, () => heap.malloc(40));
    // the first class object (the class's first blocks are medium loans: kmalloc.ts lend, and a freed
    // loan's bytes may be reused, e.g. by the heap's own sheaf in a small heap: cache.ts smallHeap)
    const first = ptrs.findIndex((p, i) => i % 10 !== 0 && heap.usableSize(p) === 48);
    ptrs.forEach((p, i) => i % 10 !== 0 && heap.free(p)); // every slab keeps a live object
    expect(heap.footprint().parked).toBeGreaterThan(0);   // the last frees wait in the per-CPU arrays
    heap.shrink();                                        // arrays and barns → slabs (no slab is empty: none freed)
    expect(heap.footprint().parked).toBe(0);
    for (const p of [ptrs[first]!, ptrs[1999]!]) expect(() => heap.free(p)).toThrow(DoubleFreeError);
    expect(heap.validate().ok).toBe(true);
  });

  it("heap.imports() hands C the allocator's own functions and the memory", async () => {
    const heap = await createAllocator();
    heap.setMallocClasses("fine"); // chosen: served exactly, no loans (the default lends: below)
    const imp = heap.imports();
    expect(imp.env.memory).toBe(heap.memory);
    for (const name of ["malloc", "free", "calloc", "realloc", "aligned_alloc", "posix_memalign", "malloc_usable_size"]) {
      expect(typeof imp.env[name]).toBe("function");
      expect(imp.wasm_slab[name]).toBe(imp.env[name]);
    }
    // a bad free through the C function is reported (not thrown: it may come from C code)
    const free = imp.env.free as (p: number) => void;
    const seen: DebugReport[] = [];
    heap.onReport = (r) => seen.push(r);
    free(heap.malloc(64) + 4);
    expect(seen.map((r) => [r.kind, r.cache])).toEqual([["invalid-free", "kmalloc-64"]]); // reported once, where found
    expect(heap.reports().map((e) => e.constructor.name)).toEqual(["InvalidFreeError"]);
    // posix_memalign writes *memptr only on success, and returns EINVAL / ENOMEM as wasi-libc numbers them
    const pm = imp.env.posix_memalign as (out: number, a: number, n: number) => number;
    const out = heap.malloc(4);
    expect(pm(out, 64, 100)).toBe(0);
    expect(heap.u32(out) % 64).toBe(0);
    expect(pm(out, 24, 100)).toBe(28);
  });
});
