// lendfast.test.ts — the chunkless heap's small loans after issue 11/12's "lendfast" change (medium.ts
// staysFirst / relink; kmalloc.ts classAlloc): a free block that stays first on its own list
// when a small block is cut from its end (takeTail), when the block before it grows into it (mediumResize)
// or when the block after it is freed into it (releaseBlock, only the block before free) is re-sized or
// moved in place, not unlinked and linked again.
// Pinned down with exact call counts: build/debug.wasm (asc names its functions, and keeps removeFree,
// linkFree and checkIn as functions) gets an exported counter per function, incremented on entry
// (binaryen.js, as bench/profile-malloc.mjs counts calls). Around the counts: addresses as before (a loan
// freed and taken again is the same block), validate() clean after every step of a random chunkless
// workload, and double frees / frees of interiors keep their codes and change nothing.
import { describe, expect, it } from "vitest";
import { chunklessChurn, countedHeap, type W } from "./counted.js";

const E_OK = 0, E_NOT_OBJECT = 3, E_DOUBLE_FREE = 5;
const COUNTED = ["assembly/medium/removeFree", "assembly/medium/linkFree", "assembly/medium/checkIn"];

async function heap(): Promise<{ w: W; count: () => Record<string, number>; nchunks: () => number }> {
  const { w, g, memory, count } = await countedHeap(COUNTED);
  // chunks grown so far (the heap header's H_NCHUNKS: layout offsets are exported as globals)
  const nchunks = () => new DataView(memory.buffer).getUint32(w.heap_addr!() + (g.H_NCHUNKS!.value as number), true);
  return { w, count, nchunks };
}

function delta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(b).map((k) => [k, b[k]! - a[k]!]));
}

describe("the chunkless heap's small loans (lendfast)", () => {
  it("a loan cut from the free space's end and freed next to it relinks no list", async () => {
    const { w, count, nchunks } = await heap();
    const top = w.malloc!(16);                         // the region's last block: the loans below it are not
    const first = w.malloc!(16);
    expect(first).not.toBe(0);
    expect(w.km_free!(first)).toBe(E_OK);
    const before = count();
    for (let i = 0; i < 300; i++) {                    // past KM_COLD_ALLOCS: still loans while chunkless
      const p = w.malloc!(16);
      expect(p).toBe(first);                           // the same block each time
      expect(w.km_free!(p)).toBe(E_OK);
    }
    const d = delta(before, count());
    expect(nchunks()).toBe(0);
    expect(d.removeFree).toBe(0);                      // before lendfast: 2 per pair (cut, merge back)
    expect(d.linkFree).toBe(0);                        // before lendfast: 2 per pair
    expect(d.checkIn).toBe(300);                       // each free checks its block once
    // (since parking, medium.ts park: the freed loan is parked and the next malloc takes it off the park
    // list: no free list at all)
    expect(w.heap_validate!()).toBe(0);
    expect(w.km_free!(top)).toBe(E_OK);
    expect(w.km_free!(first)).toBe(E_DOUBLE_FREE);
    expect(w.heap_validate!()).toBe(0);
  });

  it("a loan cut from a merged hole's end leaves the hole on its list", async () => {
    const { w, count, nchunks } = await heap();
    // loans are cut from the end of the free space: later ones lie lower. [free][x][a][b][c]
    const c = w.malloc!(16), b = w.malloc!(1024), a = w.malloc!(16), x = w.malloc!(16);
    expect([x + 32, a + 32, b + 1040]).toEqual([a, b, c]);
    // A freed small block of the region is parked first (medium.ts park: at most 8, the oldest goes back
    // when a ninth comes): b and a parked, six 48-byte loans parked after them, and two more push b, then
    // a, back to the free lists.
    const y = Array.from({ length: 8 }, () => w.malloc!(48));
    expect(w.km_free!(b)).toBe(E_OK);
    expect(w.km_free!(a)).toBe(E_OK);
    for (let i = 0; i < 6; i++) expect(w.km_free!(y[i]!)).toBe(E_OK);
    expect(w.km_free!(y[6]!)).toBe(E_OK);              // b goes back: no free neighbour, its 1040 bytes on their list
    expect(w.km_free!(y[7]!)).toBe(E_OK);              // a goes back: a + b, 1072 bytes, b's list still (1024..1087)
    expect(w.heap_validate!()).toBe(0);
    const before = count();
    const p = w.malloc!(16);                           // the smallest fit: cut from that block's end
    expect(p).toBe(a + 1040);
    const d = delta(before, count());
    expect(d.removeFree).toBe(0);                      // before lendfast: 1
    expect(d.linkFree).toBe(0);                        // before lendfast: 1
    expect(w.heap_validate!()).toBe(0);
    for (const q of [p, c, x]) expect(w.km_free!(q)).toBe(E_OK);
    expect(w.km_free!(a)).toBe(E_DOUBLE_FREE);         // absorbed (dead header)
    expect(w.km_free!(b)).toBe(E_DOUBLE_FREE);
    expect(w.heap_validate!()).toBe(0);
    expect(nchunks()).toBe(0);
  });

  it("a medium block grown in place into the free space after it moves that free block in place", async () => {
    const { w, count, nchunks } = await heap();
    const keep = w.malloc!(16);                        // a loan at the free space's end
    let m = w.malloc!(9977);                           // a medium block at its start (realloc2-bal's)
    const before = count();
    for (let i = 1; i <= 10; i++) {
      const q = w.km_realloc!(m, 9977 + 16 * i);       // 16 bytes more each time: from the free block after it
      expect(q).toBe(m);
      m = q;
    }
    const d = delta(before, count());
    // the free block after it shrinks by 16 bytes a step; its list holds ≥ 512 sizes here, so it changes
    // list at most once in 10 steps (before lendfast: 10 removeFree and 10 linkFree)
    expect(d.removeFree).toBeLessThanOrEqual(1);
    expect(d.linkFree).toBeLessThanOrEqual(1);
    expect(d.checkIn).toBe(0);                         // krealloc reads the header itself (mediumLiveSize)
    expect(w.heap_validate!()).toBe(0);
    expect(w.km_free!(m)).toBe(E_OK);
    expect(w.km_free!(m)).toBe(E_DOUBLE_FREE);
    expect(w.km_free!(keep + 16)).toBe(E_NOT_OBJECT);
    expect(w.km_realloc!(m, 100)).toBe(0);
    expect(w.last_error!()).toBe(E_DOUBLE_FREE);
    expect(w.km_free!(keep)).toBe(E_OK);
    expect(w.heap_validate!()).toBe(0);
    expect(nchunks()).toBe(0);
  });

  it("a random chunkless workload of loans, medium blocks and reallocs keeps validate() clean", async () => {
    const { w, nchunks } = await heap();
    const live = chunklessChurn(w, nchunks, { seed: 12345, steps: 3000, mallocs: 5, frees: 8, bigOneIn: 4, bigMax: 6000, smallMax: 200 },
      () => expect(w.heap_validate!()).toBe(0));
    for (const p of live) expect(w.km_free!(p)).toBe(E_OK);
    expect(w.heap_validate!()).toBe(0);
  });
});
