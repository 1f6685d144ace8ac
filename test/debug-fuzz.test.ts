// debug-fuzz.test.ts — random corruptions injected into a debug cache among random clean operations
// (issue 4, item 7). Every injection must be reported — once, with the right kind, object and offset —
// and there must be no report at all over ≥ 100k clean operations (no false positive). The model: the
// live objects with their payload seeds, and the objects this test freed that are still free objects of
// the cache (their slab may have gone back to the page allocator: then they are forgotten).
import { describe, expect, it } from "vitest";
import {
  DoubleFreeError,
  InvalidFreeError,
  PoisonError,
  RedZoneError,
  createAllocator,
  type DebugReport,
} from "../bindings/index.js";
import { rng } from "./rng.js";


async function run(seed: number, size: number, cleanTarget: number) {
  const rand = rng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const reports: DebugReport[] = [];
  const heap = await createAllocator({ nodes: 1, cpusPerNode: 2, onReport: (r) => reports.push(r) });
  const cache = heap.createCache("fuzz", { size, debug: true });
  const other = heap.createCache("other", { size, debug: true });
  const L = heap.L;
  const lead = heap.u32(cache.addr + L.C_DEBUG_OFF!); // left red zone
  const inner = Math.ceil(size / 8) * 8 + L.RZ_WIDTH!; // object + right red zone
  const chunkBase = heap.u32(heap.hdr + L.H_CHUNK_BASE!);
  const live = new Map<number, number>(); // ptr → payload seed
  const freed = new Set<number>();
  const otherLive = [other.alloc(), other.alloc()];
  let clean = 0;
  let expected = 0; // reports so far
  const injected: Record<string, number> = {};

  const fill = (p: number, s: number) => {
    const u8 = heap.u8;
    for (let i = 0; i < size; i++) u8[p + i] = (s + i * 7) & 0xff;
  };
  const intact = (p: number, s: number) => {
    const u8 = heap.u8;
    for (let i = 0; i < size; i++) if (u8[p + i] !== ((s + i * 7) & 0xff)) return false;
    return true;
  };
  const took = (p: number) => {
    expect(live.has(p)).toBe(false);
    freed.delete(p);
    const s = int(256);
    fill(p, s);
    live.set(p, s);
  };
  /** Is p still an object of `cache` (its slab not given back to the page allocator)? */
  const stillOurs = (p: number) => {
    const cs = p - ((p - chunkBase) % L.CHUNK_SIZE!);
    const d = cs + (((p - cs) >>> L.PAGE_SHIFT!) << L.DESC_SHIFT!);
    return heap.u32(d + L.D_CACHE!) === cache.addr;
  };
  const pickLive = () => [...live.keys()][int(live.size)]!;
  const pickFreed = (): number | undefined => {
    for (const p of [...freed]) if (!stillOurs(p)) freed.delete(p);
    return freed.size ? [...freed][int(freed.size)] : undefined;
  };
  const expectReport = (e: unknown, cls: Function, ptr: number, kind: string, offset?: number) => {
    expect(e).toBeInstanceOf(cls);
    expected++;
    expect(reports.length).toBe(expected);
    const r = reports[expected - 1]!;
    expect(r.kind).toBe(kind);
    expect(r.ptr).toBe(ptr);
    if (offset !== undefined) expect(r.offset).toBe(offset);
  };
  const attempt = (f: () => void): unknown => {
    try {
      f();
    } catch (e) {
      return e;
    }
    return undefined;
  };
  const freeClean = (p: number) => {
    expect(intact(p, live.get(p)!)).toBe(true); // the allocator never touched a live object
    cache.free(p);
    live.delete(p);
    freed.add(p);
  };

  while (clean < cleanTarget) {
    const r = rand();
    if (r < 0.002) {
      // ---- inject one corruption, then make the heap find it ---------------------------------------
      const kind = int(5);
      if (kind === 0 && live.size) {
        // a live object's red zone, found by its free
        const p = pickLive();
        const off = rand() < 0.5 ? -1 - int(lead) : size + int(inner - size);
        heap.u8[p + off] = (L.RZ_ACTIVE! + 1 + int(255)) & 0xff;
        expectReport(attempt(() => cache.free(p)), RedZoneError, p, "red-zone", off);
        live.delete(p);
        injected.liveRedZone = (injected.liveRedZone ?? 0) + 1;
      } else if ((kind === 1 || kind === 2) && pickFreed() !== undefined) {
        // a free object's poison or red zone: validate sees it, then the alloc that reaches it
        const p = pickFreed()!;
        const poison = kind === 1;
        const off = poison ? int(size) : rand() < 0.5 ? -1 - int(lead) : size + int(inner - size);
        const good = poison ? (off === size - 1 ? 0xa5 : 0x6b) : L.RZ_INACTIVE!;
        heap.u8[p + off] = (good + 1 + int(255)) & 0xff;
        const v = heap.validate();
        expect(v.problems).toEqual([{ kind: poison ? "poison" : "red-zone", addr: p, cache: "fuzz" }]);
        let e: unknown;
        for (let k = 0; k < 1_000_000 && e === undefined; k++) {
          let q = 0;
          e = attempt(() => (q = cache.alloc()));
          if (e === undefined) took(q);
        }
        expectReport(e, poison ? PoisonError : RedZoneError, p, poison ? "poison" : "red-zone", off);
        freed.delete(p);
        injected[poison ? "freePoison" : "freeRedZone"] = (injected[poison ? "freePoison" : "freeRedZone"] ?? 0) + 1;
      } else if (kind === 3 && pickFreed() !== undefined) {
        const p = pickFreed()!;
        expectReport(attempt(() => cache.free(p)), DoubleFreeError, p, "double-free");
        injected.doubleFree = (injected.doubleFree ?? 0) + 1;
      } else if (kind === 4 && live.size) {
        const p = pickLive();
        const bad = [p + 1 + int(size - 1), otherLive[int(2)]!, 0xfff0_0000 + 8 * int(1000)][int(3)]!;
        expectReport(attempt(() => cache.free(bad)), InvalidFreeError, bad, "invalid-free");
        injected.invalidFree = (injected.invalidFree ?? 0) + 1;
      }
      expect(heap.validate().ok).toBe(true);
      continue;
    }
    // ---- clean operations: none may report ------------------------------------------------------------
    if (r < 0.01) heap.pin(int(2));
    else if (r < 0.02) {
      const n = 1 + int(20);
      const ps = cache.allocBulk(n);
      for (const p of ps) took(p);
      clean += n;
    } else if (r < 0.03 && live.size > 20) {
      const ps = [...live.keys()].slice(0, 1 + int(20));
      for (const p of ps) expect(intact(p, live.get(p)!)).toBe(true);
      cache.freeBulk(ps);
      for (const p of ps) {
        live.delete(p);
        freed.add(p);
      }
      clean += ps.length;
    } else if (live.size < 50 || (live.size < 3000 && rand() < 0.5)) {
      took(cache.alloc());
      clean++;
    } else {
      freeClean(pickLive());
      clean++;
    }
    expect(reports.length).toBe(expected); // no false positive
    if (clean % 20_000 < 1) expect(heap.validate().ok).toBe(true);
  }
  for (const p of [...live.keys()]) freeClean(p);
  expect(reports.length).toBe(expected);
  expect(cache.live).toBe(0);
  cache.destroy(); // quarantined objects go with it
  expect(heap.validate().ok).toBe(true);
  return { clean, injected, total: expected };
}

describe("debug cache fuzz: injected corruptions", () => {
  it("every injection is reported; no false positive over 100k clean operations", async () => {
    const { clean, injected, total } = await run(0x5eed, 40, 100_000);
    console.log(`clean ops ${clean}, injections ${JSON.stringify(injected)}`);
    expect(clean).toBeGreaterThanOrEqual(100_000);
    for (const k of ["liveRedZone", "freePoison", "freeRedZone", "doubleFree", "invalidFree"]) {
      expect(injected[k] ?? 0).toBeGreaterThan(5);
    }
    expect(total).toBe(Object.values(injected).reduce((a, b) => a + b, 0));
  });

  it("odd sizes and another seed", async () => {
    const { clean, total } = await run(12345, 13, 20_000);
    expect(clean).toBeGreaterThanOrEqual(20_000);
    expect(total).toBeGreaterThan(10);
  });
});
