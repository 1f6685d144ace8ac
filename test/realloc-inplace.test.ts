// realloc-inplace.test.ts — krealloc's medium blocks after issue 11's "realloc in place" change (kmalloc.ts
// krealloc, medium.ts mediumLiveSize): a medium block's header is read once by krealloc itself (no
// checkIn call), a pointer in the pre-chunk region needs no classify, and a block that still holds the new
// size with less than a free block to spare answers at once: no mediumResizeIn, so no region lock and no
// write. Only a step that outgrows the block (or shrinks it by a free block's worth) calls mediumResizeIn.
// Pinned down with exact call counts (counted.ts): build/debug.wasm (asc keeps classify, checkIn and mediumResizeIn as
// functions there) gets an exported counter per function, incremented on entry (binaryen.js, as
// bench/profile-malloc.mjs counts calls). Around the counts: the block stays where it is, validate() is
// clean, and a freed, interior or foreign pointer gets the code malloc_usable_size gives it, with nothing
// changed.
import { describe, expect, it } from "vitest";
import { countedHeap, type W } from "./counted.js";

const E_OK = 0, E_NOT_OURS = 2, E_NOT_OBJECT = 3, E_DOUBLE_FREE = 5;
const COUNTED = ["assembly/kmalloc/classify", "assembly/medium/checkIn", "assembly/medium/mediumResizeIn"];

async function heap() {
  const { w, g, memory, count } = await countedHeap(COUNTED);
  const word = (off: number) => new DataView(memory.buffer).getUint32(w.heap_addr!() + off, true);
  const preLo = () => word(g.H_PRE_LO!.value as number);
  const chunkBase = () => word(g.H_CHUNK_BASE!.value as number);
  const nchunks = () => word(g.H_NCHUNKS!.value as number);
  return { w, count, preLo, chunkBase, nchunks };
}

function delta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(b).map((k) => [k, b[k]! - a[k]!]));
}

// The block size serving a medium request (medium.ts mediumBlockSize: header included, 16-byte multiple).
const blockOf = (n: number) => Math.max(32, (n + 8 + 15) & ~15);

// realloc2-bal's block: grown 5 bytes a step from 4092 bytes, `steps` steps. Returns the calls a step
// that outgrows its block makes (mediumResizeIn), which the in-place steps must not make.
function growSteps(w: W, p: number, from: number, steps: number): number {
  let crossings = 0;
  for (let i = 1; i <= steps; i++) {
    const n = from + 5 * i;
    if (blockOf(n) > blockOf(n - 5)) crossings++;
    expect(w.km_realloc!(p, n)).toBe(p);               // in place every time: the free space follows it
    expect(w.km_usable!(p)).toBeGreaterThanOrEqual(n);
  }
  return crossings;
}

describe("realloc of a medium block in place (krealloc)", () => {
  it("in the pre-chunk region: no classify, no checkIn, mediumResizeIn only when the block must grow", async () => {
    const { w, count, preLo, chunkBase, nchunks } = await heap();
    const p = w.malloc!(4092);
    expect(p - preLo()).toBeLessThan(chunkBase() - preLo()); // in the pre-chunk region
    const before = count();
    const crossings = growSteps(w, p, 4092, 60);
    const d = delta(before, count());
    expect(crossings).toBeGreaterThan(10);
    expect(crossings).toBeLessThan(30);                // (2 steps in 3 stay inside their block)
    expect(d.mediumResizeIn).toBe(crossings);          // before: one per realloc (60)
    expect(d.classify).toBe(60);                       // km_usable's, once per step; realloc's: none (before: 60 more)
    expect(d.checkIn).toBe(60);                        // km_usable's; realloc's header read is its own (before: 60 more)
    // shrinking within the block, or by less than a free block: nothing to do either
    const now = count();
    const top = 4092 + 5 * 60;
    expect(w.km_realloc!(p, top - 3)).toBe(p);
    expect(w.km_realloc!(p, top - 20)).toBe(p);
    expect(delta(now, count()).mediumResizeIn).toBe(0);
    // shrinking by more: a split (mediumResizeIn), then the block is smaller
    expect(w.km_realloc!(p, 4100)).toBe(p);
    expect(delta(now, count()).mediumResizeIn).toBe(1);
    expect(w.km_usable!(p)).toBe(blockOf(4100) - 8);
    expect(w.heap_validate!()).toBe(0);
    expect(nchunks()).toBe(0);
    expect(w.km_free!(p)).toBe(E_OK);
    expect(w.heap_validate!()).toBe(0);
  });

  it("in a region of a chunk: one classify per realloc, no checkIn, mediumResizeIn only when it must grow", async () => {
    const { w, count, chunkBase, nchunks } = await heap();
    // blocks under MEDIUM_REALLOC_MAX (32 KiB: they grow in place) until one lies past the pre-chunk region
    const held: number[] = [];
    let p = 0;
    while (p < chunkBase()) { p = w.malloc!(12000); expect(p).not.toBe(0); held.push(p); }
    expect(nchunks()).toBe(1);
    const before = count();
    const crossings = growSteps(w, p, 12000, 30);
    const d = delta(before, count());
    expect(d.mediumResizeIn).toBe(crossings);          // before: one per realloc (30)
    expect(d.classify).toBe(30 + 30);                  // realloc's and km_usable's
    expect(d.checkIn).toBe(30);                        // km_usable's only (before: realloc's too)
    expect(w.heap_validate!()).toBe(0);
    for (const q of held) expect(w.km_free!(q)).toBe(E_OK);
    expect(w.heap_validate!()).toBe(0);
  });

  it("a freed, interior, control-block or foreign pointer: realloc's code is malloc_usable_size's, nothing changed", async () => {
    const { w, count, preLo, chunkBase } = await heap();
    const a = w.malloc!(5000), b = w.malloc!(6000);
    const c = w.malloc!(40000);                        // more than the pre-chunk region holds: in chunk 0
    expect(w.km_free!(b)).toBe(E_OK);
    const cases: [number, number][] = [
      [b, E_DOUBLE_FREE],                              // freed (pre-chunk region)
      [a + 16, E_NOT_OBJECT],                          // inside a live block
      [a + 8, E_NOT_OBJECT],                           // not 16-aligned
      [preLo() + 16, E_NOT_OURS],                      // the control block (the region's first block)
      [chunkBase() - 16, E_NOT_OBJECT],                // past the region's last block start
      [c + 32, E_NOT_OBJECT],                          // inside a live block of a chunk's region
    ];
    for (const [p, code] of cases) {
      expect(w.km_usable!(p), `usable ${p}`).toBe(0);
      expect(w.last_error!(), `usable ${p}`).toBe(code);
      const before = count();
      for (const n of [5001, 6000, 9000, 100]) {
        expect(w.km_realloc!(p, n), `realloc ${p} ${n}`).toBe(0);
        expect(w.last_error!(), `realloc ${p} ${n}`).toBe(code);
      }
      expect(delta(before, count()).mediumResizeIn).toBe(0);
      expect(w.heap_validate!()).toBe(0);
    }
    expect(w.km_free!(c)).toBe(E_OK);
    expect(w.km_realloc!(c, 40100)).toBe(0);           // freed (a chunk's region)
    expect(w.last_error!()).toBe(E_DOUBLE_FREE);
    expect(w.km_usable!(a)).toBe(blockOf(5000) - 8);   // the live block is as it was
    expect(w.km_free!(a)).toBe(E_OK);
    expect(w.heap_validate!()).toBe(0);
  });
});
