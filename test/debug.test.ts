// debug.test.ts — debugging and hardening (issue 4), modelled on the kernel's slab KUnit cases
// (lib/slub_kunit.c: clobber zones, first word, 50th byte, red zone of a freed object, leaks at destroy):
// each corruption is detected with the right typed error and report, the object is quarantined, and the
// heap stays usable (validate ok, alloc/free keep working). Also: tracks, heap-wide defaults, checks,
// validate of free objects, destroy with live objects, the in-use bit and the top-of-array check.
import { describe, expect, it } from "vitest";
import {
  CacheBusyError,
  CacheFlags,
  CorruptionError,
  DoubleFreeError,
  InvalidFreeError,
  PoisonError,
  RedZoneError,
  SlabCheckError,
  createAllocator,
  type Cache,
  type DebugReport,
  type Heap,
} from "../bindings/index.js";

const SIZE = 64;

async function setup(opts: { size?: number; debug?: Parameters<Heap["createCache"]>[1]["debug"]; cpus?: number } = {}) {
  const reports: DebugReport[] = [];
  const heap = await createAllocator({ cpusPerNode: opts.cpus ?? 1, onReport: (r) => reports.push(r) });
  const cache = heap.createCache("kunit", { size: opts.size ?? SIZE, debug: opts.debug ?? true });
  return { heap, cache, reports };
}

function catchErr(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error");
}

/** The heap is consistent and the cache still hands out and takes back objects. */
function expectUsable(heap: Heap, cache: Cache): void {
  expect(heap.validate()).toEqual({ ok: true, problemCount: 0, problems: [] });
  const ps = Array.from({ length: 10 }, () => cache.alloc());
  expect(new Set(ps).size).toBe(10);
  for (const p of ps) cache.free(p);
  expect(heap.validate().ok).toBe(true);
}

describe("debug cache layout", () => {
  it("takes the slow path without arrays, keeps objects aligned, and reads back its flags", async () => {
    const heap = await createAllocator();
    for (const align of [8, 16, 64, 256]) {
      const c = heap.createCache(`a${align}`, { size: 40, align, debug: true });
      expect(c.arrayCapacity).toBe(0);
      expect(c.flags & CacheFlags.RED_ZONE).toBeTruthy();
      expect(c.stride).toBeGreaterThan(40);
      const ps = Array.from({ length: 50 }, () => c.alloc());
      for (const p of ps) expect(p % align).toBe(0);
      heap.u8.fill(0x11, ps[0]!, ps[0]! + 40); // the whole object is usable
      for (const p of ps) c.free(p);
    }
    expect(heap.validate().ok).toBe(true);
  });

  it("drops poison for caches with a constructor, and red zones when the slot would not fit", async () => {
    const heap = await createAllocator();
    const ctor = heap.createCache("ctor", { size: 32, debug: true, ctor: () => {} });
    expect(ctor.flags & CacheFlags.POISON).toBe(0);
    expect(ctor.flags & CacheFlags.RED_ZONE).toBeTruthy();
    const big = heap.createCache("big", { size: 32768, debug: true });
    expect(big.flags & CacheFlags.RED_ZONE).toBe(0);
    expect(big.flags & CacheFlags.POISON).toBeTruthy();
    const p = big.alloc();
    big.free(p);
    expect(heap.validate().ok).toBe(true);
  });

  it("heap-wide debug defaults apply to new caches; a cache's own option replaces them", async () => {
    const heap = await createAllocator({ debug: { redZone: true, poison: true } });
    const d = heap.createCache("d", { size: 24 });
    expect(d.flags & (CacheFlags.RED_ZONE | CacheFlags.POISON)).toBe(CacheFlags.RED_ZONE | CacheFlags.POISON);
    expect(d.arrayCapacity).toBe(0);
    expect(() => d.tune({ arrayCapacity: 8 })).toThrow(/rejected/); // debug caches never get arrays
    const plain = heap.createCache("plain", { size: 24, debug: false });
    expect(plain.flags & (CacheFlags.RED_ZONE | CacheFlags.POISON)).toBe(0);
    expect(plain.arrayCapacity).toBeGreaterThan(0);
  });
});

describe("KUnit-style corruption cases: detected, quarantined, heap usable", () => {
  it("clobbering the red zone after an object (test_clobber_zone)", async () => {
    const { heap, cache, reports } = await setup();
    const p = cache.alloc();
    heap.u8[p + SIZE] = 0x42;
    const e = catchErr(() => cache.free(p)) as RedZoneError;
    expect(e).toBeInstanceOf(RedZoneError);
    expect(e).toMatchObject({ ptr: p, cache: "kunit", offset: SIZE, side: "right", found: 0x42, expected: 0xcc });
    expect(e.tracks?.alloc).toBeDefined();
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ kind: "red-zone", ptr: p, offset: SIZE, code: e.code });
    expect(cache.quarantined).toBe(1);
    expect(cache.live).toBe(0);
    expect(heap.slabinfo()).toMatch(/^quarantine /m);
    // the quarantined object is never handed out again, and freeing it again is a double free
    const more = Array.from({ length: 200 }, () => cache.alloc());
    expect(more).not.toContain(p);
    expect(catchErr(() => cache.free(p))).toBeInstanceOf(DoubleFreeError);
    for (const q of more) cache.free(q);
    expectUsable(heap, cache);
  });

  it("clobbering the red zone before an object", async () => {
    const { heap, cache } = await setup();
    const p = cache.alloc();
    heap.u8[p - 1] = 0;
    const e = catchErr(() => cache.free(p)) as RedZoneError;
    expect(e).toBeInstanceOf(RedZoneError);
    expect(e).toMatchObject({ offset: -1, side: "left", found: 0, expected: 0xcc });
    expectUsable(heap, cache);
  });

  it("a write past the end of an odd-sized object lands in the right red zone", async () => {
    const { heap, cache } = await setup({ size: 13 });
    const p = cache.alloc();
    heap.u8[p + 13] = 1; // inside the 8-byte padding: still caught
    expect(catchErr(() => cache.free(p))).toMatchObject({ offset: 13, side: "right" });
    expectUsable(heap, cache);
  });

  it("clobbering the red zone of a freed object (test_clobber_redzone_free)", async () => {
    const { heap, cache, reports } = await setup();
    const keep = cache.alloc(); // keeps the slab from emptying
    const p = cache.alloc();
    cache.free(p);
    heap.u8[p + SIZE + 3] = 0x99;
    const v = heap.validate();
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual([{ kind: "red-zone", addr: p, cache: "kunit" }]);
    expect(() => heap.validate({ throw: true })).toThrow(CorruptionError);
    // the next alloc takes the lowest free object: that one
    const e = catchErr(() => cache.alloc()) as RedZoneError;
    expect(e).toBeInstanceOf(RedZoneError);
    expect(e).toMatchObject({ ptr: p, offset: SIZE + 3, found: 0x99, expected: 0xbb });
    expect(e.tracks?.free).toBeDefined();
    expect(reports.map((r) => r.kind)).toEqual(["red-zone"]);
    cache.free(keep);
    expectUsable(heap, cache);
  });

  for (const [what, offset] of [
    ["the first word", 0],
    ["a middle byte (the 50th: test_clobber_50th_byte)", 50],
    ["the last byte", SIZE - 1],
  ] as const) {
    it(`writing ${what} of a freed object`, async () => {
      const { heap, cache, reports } = await setup();
      const keep = cache.alloc();
      const p = cache.alloc();
      cache.free(p);
      heap.u8[p + offset] = 0x12;
      expect(heap.validate().problems).toEqual([{ kind: "poison", addr: p, cache: "kunit" }]);
      const e = catchErr(() => cache.alloc()) as PoisonError;
      expect(e).toBeInstanceOf(PoisonError);
      expect(e).toMatchObject({
        ptr: p,
        offset,
        found: 0x12,
        expected: offset === SIZE - 1 ? 0xa5 : 0x6b,
      });
      expect(e.tracks?.alloc?.clock).toBeLessThan(e.tracks!.free!.clock);
      expect(reports).toHaveLength(1);
      expect(cache.quarantined).toBe(1);
      cache.free(keep);
      expectUsable(heap, cache);
    });
  }

  it("a corrupted free object is found before its slab empties (and could go back unseen)", async () => {
    const { heap, cache, reports } = await setup();
    const p = cache.alloc();
    const q = cache.alloc();
    cache.free(q);
    heap.u8[q + 5] = 0; // use after free
    cache.free(p); // the slab's last object: every free object is checked first
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ kind: "poison", ptr: q, offset: 5 });
    expect(cache.quarantined).toBe(1);
    expectUsable(heap, cache);
  });

  it("a double free", async () => {
    const { heap, cache, reports } = await setup();
    heap.setCallerTag(11);
    const p = cache.alloc();
    heap.setCallerTag(12);
    cache.free(p);
    heap.setCallerTag(13);
    const snap = heap.slabinfo();
    const e = catchErr(() => cache.free(p)) as DoubleFreeError;
    expect(e).toBeInstanceOf(DoubleFreeError);
    expect(e.ptr).toBe(p);
    expect(e.tracks?.alloc?.tag).toBe(11);
    expect(e.tracks?.free?.tag).toBe(12);
    expect(e.message).toContain("tag 12");
    expect(heap.slabinfo()).toBe(snap);
    expect(reports[0]).toMatchObject({ kind: "double-free", ptr: p });
    expectUsable(heap, cache);
  });

  it("freeing a pointer into the middle of an object, into the wrong cache, or beyond the heap", async () => {
    const { heap, cache, reports } = await setup();
    const other = heap.createCache("other", { size: SIZE, debug: true });
    const p = cache.alloc();
    const q = other.alloc();
    const snap = heap.slabinfo();
    expect(catchErr(() => cache.free(p + 8))).toMatchObject({ reason: "not-object", ptr: p + 8 });
    expect(catchErr(() => cache.free(p - 4))).toMatchObject({ reason: "not-object" }); // the left red zone
    expect(catchErr(() => cache.free(q))).toMatchObject({ reason: "wrong-cache", ptr: q });
    const beyond = heap.memory.buffer.byteLength + 4096;
    for (const bad of [beyond, 0xfff0_0000, 16]) {
      const e = catchErr(() => cache.free(bad));
      expect(e).toBeInstanceOf(InvalidFreeError);
      expect(e).toMatchObject({ reason: "not-ours", ptr: bad });
    }
    expect(heap.slabinfo()).toBe(snap);
    expect(reports.map((r) => r.kind)).toEqual(Array(6).fill("invalid-free"));
    cache.free(p);
    other.free(q);
    expectUsable(heap, cache);
  });

  it("checks: an inconsistent slab is reported on the next operation", async () => {
    const { heap, cache } = await setup({ debug: { checks: true } });
    const p = cache.alloc();
    const q = cache.alloc();
    // corrupt the slab's in-use count in its page descriptor
    const L = heap.L;
    const chunkBase = heap.u32(heap.hdr + L.H_CHUNK_BASE!);
    const cs = p - ((p - chunkBase) % L.CHUNK_SIZE!);
    const d = cs + (((p - cs) >>> L.PAGE_SHIFT!) << L.DESC_SHIFT!);
    const inuse = heap.dv.getUint16(d + L.D_INUSE!, true);
    heap.dv.setUint16(d + L.D_INUSE!, inuse + 5, true);
    const e = catchErr(() => cache.free(p));
    expect(e).toBeInstanceOf(SlabCheckError);
    expect(e).toMatchObject({ ptr: p });
    expect(cache.quarantined).toBe(1);
    heap.dv.setUint16(d + L.D_INUSE!, inuse, true); // repair: the rest of the cache works
    cache.free(q);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("tracks", () => {
  it("record caller tag, CPU, node and a deterministic logical clock", async () => {
    const heap = await createAllocator({ nodes: 2, cpusPerNode: 1 });
    const c = heap.createCache("t", { size: 32, debug: { storeUser: true } });
    const t0 = heap.debugClock;
    heap.pin(1);
    heap.setCallerTag(0xdead);
    heap.setTimestamp(1234);
    const p = c.alloc();
    expect(c.tracks(p)).toEqual({ alloc: { tag: 0xdead, cpu: 1, node: 1, clock: t0 + 1, stamp: 1234 }, free: undefined });
    heap.pin(0);
    heap.setCallerTag(7);
    c.free(p);
    expect(c.tracks(p)?.free).toEqual({ tag: 7, cpu: 0, node: 0, clock: t0 + 2, stamp: 1234 });
    expect(heap.debugClock).toBe(t0 + 2);
    expect(heap.createCache("plain", { size: 32 }).tracks(p)).toBeUndefined();
  });
});

describe("destroy with live objects", () => {
  it("fails with the count and the first objects with their tracks; frees nothing", async () => {
    const { heap, cache } = await setup();
    heap.setCallerTag(5);
    const ps = Array.from({ length: 12 }, () => cache.alloc());
    const snap = heap.slabinfo();
    const e = catchErr(() => cache.destroy()) as CacheBusyError;
    expect(e).toBeInstanceOf(CacheBusyError);
    expect(e.live).toBe(12);
    expect(e.objects.length).toBe(heap.L.LIVE_REPORT_MAX);
    for (const o of e.objects) {
      expect(ps).toContain(o.ptr);
      expect(o.tracks?.alloc?.tag).toBe(5);
    }
    expect(e.message).toContain("tag 5");
    expect(heap.slabinfo()).toBe(snap);
    expect(cache.live).toBe(12);
    for (const p of ps) cache.free(p);
    cache.destroy();
    expect(heap.validate().ok).toBe(true);
  });

  it("names live objects of a cache with per-CPU arrays, not the parked ones", async () => {
    for (const inUseBits of [false, true]) {
      const heap = await createAllocator();
      const c = heap.createCache("arr", { size: 48, inUseBits });
      const ps = Array.from({ length: 40 }, () => c.alloc());
      for (const p of ps.slice(3)) c.free(p); // 37 parked in the array
      const e = catchErr(() => c.destroy()) as CacheBusyError;
      expect(e.live).toBe(3);
      expect(e.objects.map((o) => o.ptr).sort()).toEqual(ps.slice(0, 3).sort());
      for (const p of ps.slice(0, 3)) c.free(p);
      c.destroy();
      expect(heap.validate().ok).toBe(true);
    }
  });

  it("discards quarantined objects (they are not live) and gives their slabs back", async () => {
    const { heap, cache } = await setup();
    const p = cache.alloc();
    heap.u8[p + SIZE] = 1;
    expect(catchErr(() => cache.free(p))).toBeInstanceOf(RedZoneError);
    expect(cache.live).toBe(0);
    const before = heap.stats().slabPages[0]!;
    cache.destroy();
    expect(heap.validate().ok).toBe(true);
    expect(heap.stats().slabPages[0]).toBe(before - (1 << cache.order)); // its one slab went back
  });
});

describe("prefill and bulk on debug caches", () => {
  it("bulk alloc/free go through the checks; prefilled objects are checked when handed out", async () => {
    const { heap, cache } = await setup();
    const ps = cache.allocBulk(30);
    heap.u8[ps[4]! + SIZE] = 7;
    const e = catchErr(() => cache.freeBulk(ps)) as RedZoneError;
    expect(e).toBeInstanceOf(RedZoneError);
    expect(e.ptr).toBe(ps[4]);
    expect(cache.live).toBe(0); // the others were freed, the bad one quarantined
    const h = cache.prefill(5);
    const got = [h.alloc(), h.alloc()];
    cache.returnPrefilled(h);
    for (const p of got) cache.free(p);
    expectUsable(heap, cache);
  });
});

describe("double frees in the default mode", () => {
  it("the top of the CPU's array is checked always", async () => {
    const heap = await createAllocator();
    const c = heap.createCache("n", { size: 32 });
    const p = c.alloc();
    c.free(p);
    const snap = heap.slabinfo();
    expect(catchErr(() => c.free(p))).toBeInstanceOf(DoubleFreeError);
    expect(heap.slabinfo()).toBe(snap);
    expect(heap.validate().ok).toBe(true);
  });

  it("without in-use bits a deeper double free is caught too (the free key), and validate finds a planted duplicate", async () => {
    const heap = await createAllocator();
    const c = heap.createCache("n", { size: 32, magazine: false }); // the planting below is into the CPU's array
    const p = c.alloc();
    const q = c.alloc();
    c.free(p);
    c.free(q);
    const snap = heap.slabinfo();
    expect(catchErr(() => c.free(p))).toBeInstanceOf(DoubleFreeError); // p sits below q in the array
    expect(heap.slabinfo()).toBe(snap);
    expect(heap.validate().ok).toBe(true);
    // plant the duplicate by hand (what an undetected double free would leave): validate names it
    const L = heap.L;
    const main = heap.u32(c.addr + heap.u32(heap.hdr + L.H_CPU_OFF) + L.CC_MAIN);
    const n = heap.u32(main + L.SH_COUNT);
    heap.dv.setUint32(main + L.SH_HDR + 4 * n, p, true);
    heap.dv.setUint32(main + L.SH_COUNT, n + 1, true);
    expect(heap.validate().problems).toContainEqual({ kind: "array", addr: p, cache: "n" });
  });

  it("with in-use bits every double free of a parked object is caught and changes nothing", async () => {
    const reports: DebugReport[] = [];
    const heap = await createAllocator({ inUseBits: true, onReport: (r) => reports.push(r) });
    const c = heap.createCache("n", { size: 32 });
    expect(c.flags & CacheFlags.INUSE).toBeTruthy();
    const ps = Array.from({ length: 100 }, () => c.alloc());
    for (const p of ps) c.free(p);
    const snap = heap.slabinfo();
    for (const p of ps) expect(catchErr(() => c.free(p))).toBeInstanceOf(DoubleFreeError);
    expect(heap.slabinfo()).toBe(snap);
    expect(reports).toHaveLength(100);
    expect(heap.validate().ok).toBe(true);
    // and through bulk, prefill, allocNode and another CPU
    const b = c.allocBulk(10);
    c.freeBulk(b);
    expect(catchErr(() => c.freeBulk([b[0]!]))).toBeInstanceOf(DoubleFreeError);
    const h = c.prefill(3);
    const x = h.alloc();
    c.returnPrefilled(h);
    c.free(x);
    expect(catchErr(() => c.free(x))).toBeInstanceOf(DoubleFreeError);
    const y = c.allocNode(0);
    c.free(y);
    expect(catchErr(() => c.free(y))).toBeInstanceOf(DoubleFreeError);
    expect(heap.validate().ok).toBe(true);
    const live = Array.from({ length: 70 }, () => c.alloc());
    expect(new Set(live).size).toBe(70);
    for (const p of live) c.free(p);
    expect(heap.validate().ok).toBe(true);
  });

  it("a per-cache option replaces the heap default", async () => {
    const heap = await createAllocator({ inUseBits: true });
    expect(heap.createCache("a", { size: 16, inUseBits: false }).flags & CacheFlags.INUSE).toBe(0);
    expect(heap.createCache("b", { size: 16 }).flags & CacheFlags.INUSE).toBeTruthy();
  });
});

describe("reports at the ABI (C callers)", () => {
  it("set last_error and its detail, and call env.hook(HOOK_REPORT) once per error", async () => {
    const { heap, cache, reports } = await setup();
    const w = heap.wasm;
    const p = cache.alloc();
    heap.u8[p + SIZE + 1] = 3;
    expect(w.cache_free(cache.addr, p)).toBe(heap.L.E_REDZONE);
    expect(w.last_error()).toBe(heap.L.E_REDZONE);
    expect(w.last_error_addr() >>> 0).toBe(p);
    expect(w.last_error_cache() >>> 0).toBe(cache.addr);
    expect(w.last_error_offset()).toBe(SIZE + 1);
    expect(w.last_error_found()).toBe(3);
    expect(w.last_error_expected()).toBe(0xcc);
    expect(heap.reportCount).toBe(1);
    expect(reports).toHaveLength(1);
    expect(w.cache_quarantined(cache.addr)).toBe(1);
    // a garbage cache handle from C: refused by the cache registry with an error code, no trap, nothing read
    expect(w.cache_free(0xfffff000, p)).toBe(heap.L.E_BAD_CACHE);
    expect(w.cache_free(0xfffff000, 64)).toBe(heap.L.E_BAD_CACHE);
    expect(w.last_error()).toBe(heap.L.E_BAD_CACHE);
    expect(reports).toHaveLength(1);
    expect(heap.hookError).toBeUndefined();
  });

  it("an onReport callback may call into the heap, and an exception it throws surfaces", async () => {
    const heap = await createAllocator();
    const c = heap.createCache("r", { size: 16, debug: true });
    const aux = heap.createCache("aux", { size: 16 });
    heap.onReport = () => aux.free(aux.alloc());
    const p = c.alloc();
    c.free(p);
    expect(catchErr(() => c.free(p))).toBeInstanceOf(DoubleFreeError);
    heap.onReport = () => {
      throw new Error("boom");
    };
    expect(catchErr(() => c.free(p))).toMatchObject({ message: "boom" });
    // a report made inside a successful free (a corrupted free object found before its slab empties)
    const x = c.alloc();
    const y = c.alloc();
    c.free(y);
    heap.u8[y] = 0;
    expect(catchErr(() => c.free(x))).toMatchObject({ message: "boom" });
    expect(heap.hookError).toBeUndefined();
    heap.onReport = undefined;
    expect(heap.validate().ok).toBe(true);
  });
});
