// cold-class.test.ts — cold classes (assembly/kmalloc.ts lend): in the default class set, a class up to
// KM_COLD_MAX starts with no cache; its requests get medium blocks of the class's size (medium.ts) while
// its live loans stay under KM_COLD_BYTES of blocks and KM_COLD_WASTE bytes past the class size, and
// until it has lent KM_COLD_ALLOCS blocks; then it creates its cache for good. Checked here: where the
// blocks come from and when the cache takes over, what a lent block's usable size and rounding are, a
// model-based random workload over every size (contents, no overlap, validate(), footprint() summing
// exactly), hostile frees refused without changing anything, out of memory failing cleanly, and a
// chosen class set keeping its slabs.
import { describe, expect, it } from "vitest";
import { createAllocator, type Heap } from "../bindings/index.js";
import { rng } from "./rng.js";
import { expectSound } from "./sound.js";

interface Block { size: number; tag: number }

/** The fine classes (kmalloc.ts KM_SET_FINE): 8, 16..128 by 16, then 8 per doubling up to 8 KiB. */
function fineClasses(): number[] {
  const c = [8];
  for (let s = 16; s <= 128; s += 16) c.push(s);
  for (let b = 128; b < 8192; b *= 2) for (let q = 9; q <= 16; q++) c.push((b * q) >> 3);
  return c;
}
const CLASSES = fineClasses();
const classOf = (n: number) => CLASSES.find((c) => c >= Math.max(n, 1))!;
/** Bytes of the medium block a lent object of class c takes (header included, 16-byte steps, ≥ 32). */
const blockOf = (c: number) => Math.max(32, (c + 8 + 15) & ~15);

function pageKind(heap: Heap, p: number): number {
  const L = heap.L;
  const chunkBase = heap.core.u32(heap.core.hdr + L.H_CHUNK_BASE!);
  const pre = heap.core.u32(heap.core.hdr + L.H_PRE_LO!);       // the pre-chunk medium region (no chunk)
  if (pre !== 0 && p >= pre && p < chunkBase) return L.K_MEDIUM!;
  const ch = chunkBase + Math.floor((p - chunkBase) / L.CHUNK_SIZE!) * L.CHUNK_SIZE!;
  const d = ch + Math.floor((p - ch) / L.PAGE_SIZE!) * L.DESC_SIZE!;
  return heap.u8[d + L.D_KIND!]!;
}
function isMedium(heap: Heap, p: number): boolean {
  const k = pageKind(heap, p);
  return k === heap.L.K_MEDIUM || k === heap.L.K_MEDIUM_TAIL;
}
function isSlab(heap: Heap, p: number): boolean {
  return pageKind(heap, p) === heap.L.K_SLAB;
}
/** Live loans of the class of `size` bytes: its block size's count and the one 16 bytes up (a loan
 *  with a remainder) — layout.ts KM_COLD_LIVE. */
function coldLive(heap: Heap, size: number): number {
  const L = heap.L;
  const at = heap.core.hdr + L.H_KMALLOC! + L.KM_COLD_LIVE! + (blockOf(classOf(size)) >> 4);
  return heap.u8[at]! + heap.u8[at + 1]!;
}
/** How many blocks a class lends in a row with none freed: its budgets' first refusal. */
function loansInARow(heap: Heap, c: number): number {
  const L = heap.L;
  const block = blockOf(c);
  return Math.min(Math.ceil(L.KM_COLD_BYTES! / block), Math.ceil(L.KM_COLD_WASTE! / (block - c)), L.KM_COLD_ALLOCS!);
}
/** Grow chunk 0 (a kept medium block larger than the pre-chunk region): lend past KM_COLD_ALLOCS and
 *  the mid classes' region blocks (kmalloc.ts lend / borrow) apply only while the heap has no chunk. */
function outgrowRegion(heap: Heap): number {
  const p = heap.malloc(70_000);
  expect(heap.core.u32(heap.core.hdr + heap.L.H_NCHUNKS!)).toBeGreaterThan(0);
  return p;
}
function slabLine(heap: Heap, c: number): string[] | undefined {
  return heap.slabinfo().split("\n").find((l) => l.startsWith(`kmalloc-${c} `))?.trim().split(/\s+/);
}

function checkHeap(heap: Heap, live: Map<number, Block>): void {
  const spans = [...live.keys()].map((p) => [p, p + heap.usableSize(p)] as const).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
  const u8 = heap.u8;
  for (const [p, b] of live) {
    for (const at of [p, p + b.size - 1, p + (b.size >> 1)]) expect(u8[at], `byte ${at - p} of the block at ${p}`).toBe(b.tag);
  }
  expectSound(heap);
}

describe("cold classes lend medium blocks", () => {
  it("a class's first blocks are medium blocks of its size; past its budget its cache takes over for good", async () => {
    const heap = await createAllocator({ reap: false });
    const n = 100;
    const c = classOf(n);                                   // kmalloc-112
    const budget = loansInARow(heap, c);
    expect(budget).toBeGreaterThan(1);
    const lent: number[] = [];
    for (let i = 0; i < budget; i++) {
      const p = heap.malloc(n);
      expect(isMedium(heap, p), `loan ${i}`).toBe(true);
      expect(heap.usableSize(p)).toBeOneOf([c + 8, c + 24]); // the class size past an 8-byte header
      expect(p % 16).toBe(0);
      heap.u8.fill(i + 1, p, p + n);
      lent.push(p);
    }
    expect(coldLive(heap, n)).toBe(budget);
    expect(slabLine(heap, c)).toBeUndefined();              // no cache yet
    const own = heap.malloc(n);                             // the budget is spent: the class's own cache
    expect(isSlab(heap, own)).toBe(true);
    expect(heap.usableSize(own)).toBe(c);
    expect(slabLine(heap, c)).toBeDefined();
    for (let i = 0; i < budget; i++) expect(heap.u8[lent[i]! + n - 1]).toBe(i + 1);
    // loans go back as medium blocks; the class keeps its cache
    for (const p of lent) expect(heap.free(p)).toBeUndefined();
    expect(coldLive(heap, n)).toBe(0);
    const again = heap.malloc(n);
    expect(isSlab(heap, again)).toBe(true);
    heap.free(again);
    heap.free(own);
    expect(heap.validate().ok).toBe(true);
  });

  it("a class that frees what it borrows keeps lending up to KM_COLD_ALLOCS blocks, then gets its cache", async () => {
    const heap = await createAllocator({ reap: false });
    outgrowRegion(heap);                                       // (with no chunk, the region serves them)
    const L = heap.L;
    for (let i = 0; i < L.KM_COLD_ALLOCS!; i++) {
      const p = heap.malloc(300);
      expect(isMedium(heap, p), `loan ${i}`).toBe(true);
      heap.free(p);
    }
    const p = heap.malloc(300);
    expect(isSlab(heap, p)).toBe(true);
    expect(heap.usableSize(p)).toBe(classOf(300));
    heap.free(p);
    expect(heap.validate().ok).toBe(true);
  });

  it("classes above KM_COLD_MAX and page-sized ones never lend; class 8 lends MB_MIN blocks by its own count", async () => {
    const heap = await createAllocator({ reap: false });
    outgrowRegion(heap);                                       // (with no chunk, the region serves them)
    const L = heap.L;
    const above = CLASSES.find((c) => c > L.KM_COLD_MAX!)!;
    const p = heap.malloc(above);
    expect(isSlab(heap, p)).toBe(true);                     // its own class or its power-of-two lender's
    expect([above, 2 ** Math.ceil(Math.log2(above))]).toContain(heap.usableSize(p));
    const q = heap.malloc(4096);
    expect(isSlab(heap, q)).toBe(true);
    // class 8: a 32-byte block (usable 24), counted with class 16's live loans
    const e = heap.malloc(5);
    expect(isMedium(heap, e)).toBe(true);
    expect(heap.usableSize(e)).toBeOneOf([24, 40]);
    expect(coldLive(heap, 16)).toBe(1);
    heap.free(e);
    expect(coldLive(heap, 16)).toBe(0);
    for (const x of [p, q]) heap.free(x);
    expect(heap.validate().ok).toBe(true);
  });

  it("a lent block's rounding: its class's plus 8 (or 24) bytes (≤ 12.5% + 24 B from 128 B, < 40 B below)", async () => {
    const heap = await createAllocator({ reap: false });
    const L = heap.L;
    for (let n = 1; n <= L.KM_COLD_MAX!; n++) {
      const p = heap.malloc(n);
      expect(isMedium(heap, p), `malloc(${n})`).toBe(true);  // freed at once: every size is lent
      const u = heap.usableSize(p);
      heap.free(p);
      expect(u).toBeOneOf([Math.max(classOf(n), 16) + 8, Math.max(classOf(n), 16) + 24]);
      if (n < 128) expect(u - n, `malloc(${n}) → ${u}`).toBeLessThan(40);
      else expect(u - n, `malloc(${n}) → ${u}`).toBeLessThanOrEqual(n / 8 + 24);
    }
    expect(heap.validate().ok).toBe(true);
  });

  it("realloc of a lent block: in place while it fits its class, else it moves with its bytes", async () => {
    const heap = await createAllocator({ reap: false });
    const p = heap.malloc(200);                             // kmalloc-208: usable 216
    expect(isMedium(heap, p)).toBe(true);
    heap.u8.fill(9, p, p + 200);
    expect(heap.realloc(p, 216)).toBe(p);
    expect(heap.realloc(p, 120)).toBe(p);                   // more than half: stays
    const q = heap.realloc(p, 600);                         // grows: a class ≥ 25% larger
    expect(q).not.toBe(p);
    expect(heap.usableSize(q)).toBeGreaterThanOrEqual(600);
    expect(heap.u8[q]).toBe(9);
    expect(heap.u8[q + 119]).toBe(9);
    expect(coldLive(heap, 200)).toBe(0);                    // the old loan went back
    const big = heap.realloc(q, 20_000);                    // to a medium size
    expect(isMedium(heap, big)).toBe(true);
    expect(heap.u8[big + 119]).toBe(9);
    const small = heap.realloc(big, 40);                    // back to a small class
    expect(heap.u8[small + 39]).toBe(9);
    heap.free(small);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("cold classes against a model", () => {
  for (const seed of [11, 12, 13]) {
    it(`malloc / realloc / free over every size keep contents and every invariant (seed ${seed})`, async () => {
      const r = rng(seed);
      const heap = await createAllocator({ reap: false });
      const live = new Map<number, Block>();
      // mostly small sizes, so classes go from cold to warm along the way; some medium and page-run sizes
      const size = () => {
        const x = r();
        return x < 0.6 ? 1 + Math.floor(r() * 1100) : x < 0.85 ? 1 + Math.floor(r() * 8192) : x < 0.97 ? 8193 + Math.floor(r() * 60_000) : 1 + Math.floor(r() * 400_000);
      };
      let tag = 1;
      for (let step = 0; step < 2500; step++) {
        const x = r();
        const ptrs = [...live.keys()];
        if (x < 0.5 || ptrs.length === 0) {
          const b = { size: size(), tag: (tag++ % 250) + 1 };
          const p = heap.malloc(b.size);
          expect(p).not.toBe(0);
          expect(p % (b.size <= 8 ? 8 : 16)).toBe(0);
          const u = heap.usableSize(p);
          expect(u).toBeGreaterThanOrEqual(b.size);
          if (b.size <= 1024 && isMedium(heap, p)) expect(u - Math.max(classOf(b.size), 16)).toBeOneOf([8, 24]);
          heap.u8.fill(b.tag, p, p + b.size);
          live.set(p, b);
        } else if (x < 0.7) {
          const p = ptrs[Math.floor(r() * ptrs.length)]!;
          const b = live.get(p)!;
          const n = r() < 0.5 ? Math.max(1, b.size + Math.floor((r() - 0.5) * 600)) : size();
          const q = heap.realloc(p, n);
          expect(q).not.toBe(0);
          live.delete(p);
          const keep = Math.min(n, b.size);
          expect(heap.u8[q]).toBe(b.tag);
          expect(heap.u8[q + keep - 1]).toBe(b.tag);
          const nb = { size: n, tag: (tag++ % 250) + 1 };
          heap.u8.fill(nb.tag, q, q + n);
          live.set(q, nb);
        } else {
          const p = ptrs[Math.floor(r() * ptrs.length)]!;
          heap.free(p);
          live.delete(p);
        }
        if (step % 100 === 0) checkHeap(heap, live);
      }
      checkHeap(heap, live);
      for (const p of live.keys()) heap.free(p);
      live.clear();
      checkHeap(heap, live);
      // every loan came back: no class counts a live one
      const L = heap.L;
      const t = heap.core.hdr + L.H_KMALLOC!;
      for (let k = 0; k < L.KM_COLD_SIZES!; k++) expect(heap.u8[t + L.KM_COLD_LIVE! + k], `blocks of ${k * 16} B`).toBe(0);
    });
  }
});

describe("hostile frees of lent blocks", () => {
  it("every offset inside a lent block and a double free are refused, changing nothing", async () => {
    const heap = await createAllocator({ reap: false });
    const L = heap.L;
    const a = heap.malloc(500);
    const b = heap.malloc(500);
    const c = heap.malloc(500);
    for (const p of [a, b, c]) expect(isMedium(heap, p)).toBe(true);
    heap.u8.fill(5, b, b + 500);
    const before = heap.footprint();
    const liveBefore = coldLive(heap, 500);
    for (let off = -24; off < heap.usableSize(b) + 8; off++) {
      if (off === 0) continue;
      const e = heap.core.w.km_free(b + off);
      expect(e, `offset ${off}`).not.toBe(0);
      expect([L.E_NOT_OBJECT, L.E_DOUBLE_FREE, L.E_NOT_OURS]).toContain(e);
    }
    expect(heap.footprint()).toEqual(before);
    expect(coldLive(heap, 500)).toBe(liveBefore);
    expect(heap.u8[b + 499]).toBe(5);
    expect(heap.core.w.km_free(b)).toBe(0);
    expect(coldLive(heap, 500)).toBe(liveBefore - 1);
    expect(heap.core.w.km_free(b)).toBe(L.E_DOUBLE_FREE);
    expect(coldLive(heap, 500)).toBe(liveBefore - 1);     // a refused free counts nothing
    expect(() => heap.realloc(b, 100)).toThrow();
    expect(heap.usableSize(a) - classOf(500)).toBeOneOf([8, 24]);
    for (const p of [a, c]) expect(heap.free(p)).toBeUndefined();
    expect(coldLive(heap, 500)).toBe(0);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("cold classes out of memory", () => {
  it("small mallocs past maxBytes fail with E_NOMEM, change nothing, and the heap keeps working", async () => {
    const heap = await createAllocator({ maxBytes: 4 << 20, reap: false });
    const L = heap.L;
    const live: number[] = [];
    const r = rng(5);
    for (;;) {
      const n = r() < 0.9 ? 1 + Math.floor(r() * 1024) : 20_000;
      const p = (heap.core.w.malloc(n) >>> 0);
      if (p === 0) {
        expect(heap.core.w.last_error()).toBe(L.E_NOMEM);
        break;
      }
      heap.u8[p] = live.length & 0xff;
      live.push(p);
      expect(live.length).toBeLessThan(100_000);
    }
    expect(heap.validate().ok).toBe(true);
    const before = heap.footprint();
    expect((heap.core.w.malloc(200_000) >>> 0)).toBe(0);
    expect(heap.footprint()).toEqual(before);
    for (let i = 0; i < live.length; i += 2) heap.free(live[i]!);
    for (const n of [1, 100, 1000, 5000]) {
      const p = heap.malloc(n);
      expect(p).not.toBe(0);
      heap.free(p);
    }
    for (let i = 1; i < live.length; i += 2) expect(heap.u8[live[i]!]).toBe(i & 0xff);
    expect(heap.validate().ok).toBe(true);
  });
});

describe("a chosen class set keeps its slabs", () => {
  it("'fine' and 'kernel' lend nothing; choosing a set after a loan is refused (E_BUSY)", async () => {
    for (const [set, usable] of [["fine", 112], ["kernel", 128]] as const) {
      const heap = await createAllocator({ reap: false });
      heap.setMallocClasses(set);
      const p = heap.malloc(100);
      expect(isSlab(heap, p)).toBe(true);
      expect(heap.usableSize(p)).toBe(usable);
      heap.free(p);
      expect(heap.validate().ok).toBe(true);
    }
    const heap = await createAllocator({ reap: false });
    const p = heap.malloc(100);
    expect(isMedium(heap, p)).toBe(true);
    heap.free(p);
    expect(() => heap.setMallocClasses("kernel")).toThrow();
    expect(isMedium(heap, heap.malloc(100))).toBe(true);    // still the default set
    expect(heap.validate().ok).toBe(true);
  });
});
