// medium-inline.test.ts — the medium heap's usual malloc and free inlined into one function each
// (medium.ts INLINE_PATHS, set by the merge target: dist/slab-merge.wasm) and kfreeSlow's medium dispatch
// before classify (kmalloc.ts, every build). The inlined paths are a pure restructuring: the merged build
// and build/release.wasm (no INLINE_PATHS: removeFree / linkFree / checkIn / releaseBlock as calls) run the
// same random workload of medium, small and large blocks from the same heap base and must hand out the
// same pointers, give every hostile free (double, interior, inside a free block) the same code, keep
// validate() clean, and end with byte-identical heaps. A counted build (counted.ts) pins the dispatch: a
// medium free calls mediumFreeIn and no classify.
import { describe, expect, it } from "vitest";
import { rawInstance } from "./raw-instance.js";
import { countedHeap, type W } from "./counted.js";
import { rng } from "./rng.js";

const E_OK = 0, E_NOT_OBJECT = 3, E_DOUBLE_FREE = 5;
const HEAP_BASE = 16384;

const instance = (file: string, merged: boolean) => rawInstance(file, merged, HEAP_BASE);

describe("the medium heap's inlined paths (merge target) against the calls (release)", () => {
  for (const seed of [1, 2, 3]) {
    it(`same pointers, codes and heap bytes on a random medium workload (seed ${seed})`, async () => {
      const a = await instance("dist/slab-merge.wasm", true);          // INLINE_PATHS
      const b = await instance("build/release.wasm", false);           // removeFree / linkFree / releaseBlock
      const r = rng(seed);
      const live: number[] = [];
      const freed: number[] = [];
      // mostly medium sizes (4 KiB .. 256 KiB: random-bal's), some small class objects, some page runs
      const size = () => {
        const x = r();
        return x < 0.75 ? 4097 + Math.floor(r() * 120_000) : x < 0.9 ? 1 + Math.floor(r() * 4000) : 200_000 + Math.floor(r() * 200_000);
      };
      const both = (f: (w: W) => number): number => {
        const x = f(a.w), y = f(b.w);
        expect(x).toBe(y);
        return x;
      };
      for (let step = 0; step < 2500; step++) {
        const x = r();
        if (x < 0.52 || live.length === 0) {
          const n = size();
          const p = both((w) => w.malloc!(n));
          expect(p).not.toBe(0);
          both((w) => w.km_usable!(p));
          live.push(p);
        } else {
          const i = Math.floor(r() * live.length);
          const p = live[i]!;
          live[i] = live[live.length - 1]!;
          live.pop();
          if (r() < 0.1) expect(both((w) => w.km_free!(p + 16))).not.toBe(E_OK);   // its inside: refused
          expect(both((w) => w.km_free!(p))).toBe(E_OK);
          freed.push(p);
          if (r() < 0.2) expect(both((w) => w.km_free!(p))).not.toBe(E_OK);       // freed already (its pages maybe given back)
        }
        if (freed.length > 0 && r() < 0.05) {
          // an old freed pointer: reused since (then live: skip it), or a free / absorbed header
          const p = freed[Math.floor(r() * freed.length)]!;
          if (!live.includes(p)) expect(both((w) => w.km_free!(p))).not.toBe(E_OK);
        }
        if (step % 250 === 0) {
          expect(a.w.heap_validate!()).toBe(0);
          expect(b.w.heap_validate!()).toBe(0);
        }
      }
      expect(a.w.heap_validate!()).toBe(0);
      expect(b.w.heap_validate!()).toBe(0);
      // the same heap, byte for byte (the modules' own data below HEAP_BASE differs)
      expect(a.memory.buffer.byteLength).toBe(b.memory.buffer.byteLength);
      const ua = new Uint8Array(a.memory.buffer, HEAP_BASE), ub = new Uint8Array(b.memory.buffer, HEAP_BASE);
      let diff = -1;
      for (let k = 0; k < ua.length; k++) if (ua[k] !== ub[k]) { diff = k + HEAP_BASE; break; }
      expect(diff, "first differing byte of the two heaps").toBe(-1);
    }, 120_000);
  }
});

describe("kfreeSlow's medium dispatch", () => {
  it("a medium block's free goes to mediumFreeIn without classify; anything else still classifies", async () => {
    const { w, count } = await countedHeap(["assembly/kmalloc/classify", "assembly/medium/mediumFreeIn"]);
    const ps: number[] = [];
    for (let i = 0; i < 40; i++) ps.push(w.malloc!(9000 + i * 1000));   // medium blocks
    const big = w.malloc!(400_000);                                        // a page run (above MEDIUM_MAX)
    const before = count();
    for (let i = 0; i < ps.length; i += 2) expect(w.km_free!(ps[i]!)).toBe(E_OK);   // every other one
    let now = count();
    expect(now.mediumFreeIn! - before.mediumFreeIn!).toBe(20);
    expect(now.classify! - before.classify!).toBe(0);
    expect(w.km_free!(ps[4]!)).toBe(E_DOUBLE_FREE);                        // refused by mediumFreeIn's check
    expect(w.km_free!(ps[7]! + 32)).toBe(E_NOT_OBJECT);                    // inside a live block
    expect(count().classify! - now.classify!).toBe(0);
    expect(w.heap_validate!()).toBe(0);
    for (let i = 1; i < ps.length; i += 2) expect(w.km_free!(ps[i]!)).toBe(E_OK);
    expect(count().classify! - now.classify!).toBe(0);
    now = count();
    expect(w.km_free!(big)).toBe(E_OK);                                    // a large block: classify
    expect(count().classify! - now.classify!).toBe(1);
    expect(count().mediumFreeIn! - now.mediumFreeIn!).toBe(0);
    expect(w.heap_validate!()).toBe(0);
  });
});
