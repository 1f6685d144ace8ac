// region-top.test.ts — medium regions grown and given back through page.ts while a heap ramps up and down
// (random-bal's shape: live bytes from 0 to megabytes of 8–32 KiB blocks and back to 0, replayed), in the
// merged build (medium.ts INLINE_PATHS: dist/slab-merge.wasm) and the release build (the calls):
//   - every block handed out lies in memory, 16-aligned, overlaps no live block (a model of the live set),
//     and keeps the bytes written into it until its free;
//   - validate() is clean at every checkpoint (regions tiled by blocks, tails K_MEDIUM_TAIL naming their
//     first descriptor: medium.ts markTails' one-store write; free runs' descriptors zero: page.ts
//     zeroDescs' stores);
//   - a heap ramped down to nothing has given its regions back (the node's medium pages are the home
//     region's again and every chunk's usable pages are free), and the same ramp again grows the regions
//     back mostly below the high-water mark (memory grows by at most 2%);
//   - hostile frees are refused with their codes and change no byte of the heap: a block's inside, a
//     block freed twice, the first block of a region given back (its pages free now), a pointer past the
//     heap's memory;
//   - a long free tail of a region goes back (trimmed), a short one stays.
import { describe, expect, it } from "vitest";
import { heapSnapshot, rawInstance, type W } from "./raw-instance.js";
import { rng } from "./rng.js";

const E_OK = 0;
const HEAP_BASE = 16384;
const instance = (file: string, merged: boolean) => rawInstance(file, merged, HEAP_BASE);

/** The exported constant `name` (a WebAssembly.Global). */
function k(w: W, name: string): number {
  return (w[name] as unknown as WebAssembly.Global).value as number;
}

/** Every byte of memory as a refused free must leave it (raw-instance.ts heapSnapshot). */
function heapBytes(memory: WebAssembly.Memory, w: W): Uint8Array {
  return heapSnapshot(memory, HEAP_BASE, (name) => k(w, name));
}

/** Node 0's medium pages (its control block's MC_PAGES word; 0 before it has one). */
function mediumPages(w: W, memory: WebAssembly.Memory): number {
  const u32 = new Uint32Array(memory.buffer);
  const c = u32[(HEAP_BASE + k(w, "H_NODES") + k(w, "N_MEDIUM")) >>> 2]!;
  return c === 0 ? 0 : u32[(c + k(w, "MC_PAGES")) >>> 2]!;
}

function sameBytes(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return -2;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

for (const [label, file, merged] of [["merged (INLINE_PATHS)", "dist/slab-merge.wasm", true], ["release (calls)", "build/release.wasm", false]] as const) {
  describe(`medium regions ramped up and down: ${label}`, () => {
    it("ramps of 8–32 KiB blocks: a model of the live set, validate() clean, everything given back, hostile frees refused", async () => {
      const { w, memory } = await instance(file, merged);
      const medPages = (): number => mediumPages(w, memory);
      let r = rng(11);                                   // the workload: the same sequence on each ramp
      const h = rng(12);                                 // the hostile frees' picks
      // the first block makes the medium heap (its home region); its pages are the floor to come back to
      const first = w.malloc!(9000);
      expect(first).not.toBe(0);
      const live = new Map<number, number>();           // pointer → size asked
      const mark = (p: number, n: number, v: number) => {
        const b = new Uint8Array(memory.buffer);
        b[p] = v; b[p + n - 1] = v ^ 0xff; b[p + (n >> 1)] = v ^ 0x5a;
      };
      const marked = (p: number, n: number, v: number) => {
        const b = new Uint8Array(memory.buffer);
        return b[p] === v && b[p + n - 1] === (v ^ 0xff) && b[p + (n >> 1)] === (v ^ 0x5a);
      };
      const tag = (p: number) => (p >>> 4) & 0xff;
      const overlaps = (p: number, n: number): boolean => {
        for (const [q, m] of live) if (p < q + m && q < p + n) return true;
        return false;
      };
      const allocOne = () => {
        const n = 8193 + Math.floor(r() * 24_000);
        const p = w.malloc!(n);
        expect(p).not.toBe(0);
        expect(p % 16).toBe(0);
        expect(p + n).toBeLessThanOrEqual(memory.buffer.byteLength);
        expect(w.malloc_usable_size!(p)).toBeGreaterThanOrEqual(n);
        if (live.size < 400 || r() < 0.05) expect(overlaps(p, n), `block ${p} of ${n} overlaps a live one`).toBe(false);
        mark(p, n, tag(p));
        live.set(p, n);
      };
      const freeOne = () => {
        const keys = [...live.keys()];
        const p = keys[Math.floor(r() * keys.length)]!;
        const n = live.get(p)!;
        expect(marked(p, n, tag(p)), `block ${p} kept its bytes`).toBe(true);
        live.delete(p);
        expect(w.km_free!(p)).toBe(E_OK);
        return p;
      };
      const pagesAtStart = medPages();
      expect(w.node_free_pages!(0)).toBe(0);                // (no chunk yet: the pre-chunk region served it)
      let memAfterFirst = 0;
      const freed: number[] = [];
      for (let ramp = 0; ramp < 3; ramp++) {
        r = rng(11);                                     // a replay: the same sizes and the same frees
        // up: mostly mallocs (random-bal: one free in ~20 operations)
        for (let i = 0; i < 700; i++) {
          if (live.size > 0 && r() < 0.06) freed.push(freeOne());
          else allocOne();
          if (i % 100 === 0) expect(w.heap_validate!()).toBe(0);
        }
        expect(medPages()).toBeGreaterThan(pagesAtStart + 1000);
        if (ramp === 0) memAfterFirst = memory.buffer.byteLength;
        // the same ramp again: the regions grow back mostly below the high-water mark (where they grow is
        // not where they were, so a few Wasm pages more may come: at most 2% here)
        else expect(memory.buffer.byteLength, "memory after the same ramp again").toBeLessThanOrEqual(memAfterFirst * 1.02);
        // hostile frees on the full heap: refused, nothing changed
        const some = [...live.keys()].slice(0, 8);
        for (const p of some) {
          const before = heapBytes(memory, w);
          expect(w.km_free!(p + 16)).not.toBe(E_OK);                   // its inside
          expect(w.km_free!(p + 8)).not.toBe(E_OK);                    // its check word
          expect(w.km_free!(p - 8)).not.toBe(E_OK);                    // its header
          expect(sameBytes(before, heapBytes(memory, w)), "first byte changed by a refused free").toBe(-1);
        }
        // down: mostly frees, in random order, to nothing
        while (live.size > 0) {
          if (r() < 0.06) allocOne();
          else freed.push(freeOne());
          if (live.size % 100 === 0) expect(w.heap_validate!()).toBe(0);
        }
        expect(w.heap_validate!()).toBe(0);
        // every region but the home one went back to page.ts, and the pages with them
        expect(medPages()).toBe(pagesAtStart);
        // (no slab, no large block here: every chunk's usable pages are free again)
        const nchunks = new Uint32Array(memory.buffer)[(HEAP_BASE + k(w, "H_NCHUNKS")) >>> 2]!;
        expect(nchunks).toBeGreaterThan(0);
        expect(w.node_free_pages!(0)).toBe(nchunks * k(w, "USABLE_PAGES"));
        // freed pointers again (their regions given back, trimmed or reused since): refused, nothing changed
        const before = heapBytes(memory, w);
        for (let i = 0; i < 200; i++) {
          const p = freed[Math.floor(h() * freed.length)]!;
          expect(w.km_free!(p), `second free of ${p}`).not.toBe(E_OK);
        }
        expect(w.km_free!(memory.buffer.byteLength + 4096)).not.toBe(E_OK);  // past memory
        expect(sameBytes(before, heapBytes(memory, w)), "first byte changed by a refused free").toBe(-1);
        freed.length = 0;
      }
      expect(w.km_free!(first)).toBe(E_OK);
      expect(w.heap_validate!()).toBe(0);
    }, 180_000);

    it("a region's long free tail goes back to page.ts, a short one stays", async () => {
      const { w, memory } = await instance(file, merged);
      const medPages = (): number => mediumPages(w, memory);
      // 40 blocks of ~20 KiB: the regions grow in place as they fill
      const ps: number[] = [];
      for (let i = 0; i < 40; i++) ps.push(w.malloc!(20_000));
      expect(w.heap_validate!()).toBe(0);
      const full = medPages();
      // the last block's free leaves a 5-page tail: it stays with its region
      expect(w.km_free!(ps[39]!)).toBe(E_OK);
      expect(medPages()).toBe(full);
      // three more from the end: a tail of ≥ 16 pages goes back, down to a page boundary after the last block
      for (let i = 38; i >= 36; i--) expect(w.km_free!(ps[i]!)).toBe(E_OK);
      const trimmed = medPages();
      expect(trimmed).toBeLessThan(full - 15);
      expect(w.heap_validate!()).toBe(0);
      // a block of the same size comes from below the trimmed tail again (grown back in place)
      const again = w.malloc!(20_000);
      expect(again).toBe(ps[36]);
      expect(w.heap_validate!()).toBe(0);
      for (const p of [again, ...ps.slice(0, 36)]) expect(w.km_free!(p)).toBe(E_OK);
      expect(w.km_free!(again)).not.toBe(E_OK);
      expect(w.heap_validate!()).toBe(0);
    });
  });
}
