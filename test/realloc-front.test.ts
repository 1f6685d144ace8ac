// realloc-front.test.ts — krealloc's front (kmalloc.ts, issue 11 item 4, session 9): realloc of a block of
// the pre-chunk region asked for a medium size up to MEDIUM_REALLOC_MAX is answered by the code inlined
// into the C export realloc (km_realloc, the TS layer's, calls kreallocSlow: the same answers, no front).
// A block that keeps its block makes no call at all; one that must grow (not a loan) goes straight to
// mediumResizeIn (no kreallocSlow or reallocMedium, no second header check), and its usual grow — into
// the free block after it, whose rest stays first on its free list — is done inside mediumResizeIn
// without relink.
// Pinned down with exact call counts on build/debug.wasm (counted.ts). Then the hostile side of the front's
// own header test (medium.ts mediumPreHolds + mediumPreHeader): a freed, coalesced, interior, misaligned or
// forged pointer, the control block, the region's edges, a pointer into a chunk's region, a class object
// and a pointer outside the heap all get the same typed code as malloc_usable_size's path (classify +
// checkIn), for sizes inside and outside the front's range, and not one byte of the heap changes.
import { describe, expect, it } from "vitest";
import { countedBytes, countedHeap, type G, type W } from "./counted.js";
import { heapSnapshot } from "./raw-instance.js";

const E_OK = 0, E_NOT_OURS = 2, E_NOT_OBJECT = 3, E_DOUBLE_FREE = 5;
const COUNTED = [
  "assembly/kmalloc/kreallocSlow", "assembly/kmalloc/reallocMedium", "assembly/medium/mediumResizeIn",
  "assembly/medium/relink", "assembly/medium/checkIn", "assembly/kmalloc/classify",
];
// The front's sizes: (MEDIUM_LOW, MEDIUM_REALLOC_MAX]; a few outside it too.
const SIZES = [4097, 5000, 8000, 20000, 32768, 1, 100, 4096, 32769, 40000, 300000];

const blockOf = (n: number) => Math.max(32, (n + 8 + 15) & ~15);
// medium.ts keyOf: the check word of a header at b for a block of `size` bytes
const keyOf = (b: number, size: number) => ((b ^ 0x6d656421) ^ Math.imul(size, 0x9e3779b1)) >>> 0;

async function heap() {
  const { w, g, memory, count } = await countedHeap(COUNTED);
  const dv = () => new DataView(memory.buffer);
  const word = (off: number) => dv().getUint32(w.heap_addr!() + off, true);
  const preLo = () => word(g.H_PRE_LO!.value as number);
  const chunkBase = () => word(g.H_CHUNK_BASE!.value as number);
  const nchunks = () => word(g.H_NCHUNKS!.value as number);
  return { w, g, memory, count, dv, preLo, chunkBase, nchunks };
}

function delta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(b).map((k) => [k, b[k]! - a[k]!]));
}

/** The heap's bytes as a refused realloc must leave them (raw-instance.ts heapSnapshot). */
function snapshot(memory: WebAssembly.Memory, w: W, g: G): Uint8Array {
  return heapSnapshot(memory, w.heap_addr!(), (n) => g[n]!.value as number);
}

describe("krealloc's front (pre-chunk region)", () => {
  it("a step that keeps its block calls nothing; a grow step calls mediumResizeIn once, never relink", async () => {
    const { w, count, preLo, chunkBase, nchunks } = await heap();
    const p = w.malloc!(4092);
    expect(p - preLo()).toBeLessThan(chunkBase() - preLo());
    const keepers: number[] = [], growers: number[] = [];
    for (let n = 4097; n <= 4097 + 5 * 90; n += 5) (blockOf(n) > blockOf(n - 5) ? growers : keepers).push(n);
    expect(keepers.length).toBeGreaterThan(40);
    expect(growers.length).toBeGreaterThan(20);
    for (let n = 4097; n <= 4097 + 5 * 90; n += 5) {
      const before = count();
      expect(w.realloc!(p, n)).toBe(p);
      expect(w.last_error!()).toBe(E_OK);
      const d = delta(before, count());
      if (blockOf(n) > blockOf(n - 5)) {
        // before (main a2800cf): kreallocSlow did not exist (krealloc was the function), relink 1
        expect(d, `grow to ${n}`).toEqual({ kreallocSlow: 0, reallocMedium: 0, mediumResizeIn: 1, relink: 0, checkIn: 0, classify: 0 });
      } else {
        expect(d, `keep at ${n}`).toEqual({ kreallocSlow: 0, reallocMedium: 0, mediumResizeIn: 0, relink: 0, checkIn: 0, classify: 0 });
      }
    }
    // the TS layer's km_realloc: the same answer through kreallocSlow (its header read there: no checkIn)
    const before = count();
    expect(w.km_realloc!(p, 4097 + 5 * 90 + 1)).toBe(p);
    expect(delta(before, count())).toEqual({ kreallocSlow: 1, reallocMedium: 0, mediumResizeIn: 0, relink: 0, checkIn: 0, classify: 0 });
    expect(w.km_usable!(p)).toBe(blockOf(4097 + 5 * 90) - 8);
    expect(w.heap_validate!()).toBe(0);
    expect(nchunks()).toBe(0);
    // shrinking by a free block's worth: a split (mediumResizeIn from the front too)
    const b2 = count();
    expect(w.realloc!(p, 4100)).toBe(p);
    expect(delta(b2, count())).toEqual({ kreallocSlow: 0, reallocMedium: 0, mediumResizeIn: 1, relink: 0, checkIn: 0, classify: 0 });
    expect(w.km_usable!(p)).toBe(blockOf(4100) - 8);
    expect(w.heap_validate!()).toBe(0);
    expect(w.km_free!(p)).toBe(E_OK);
    expect(w.heap_validate!()).toBe(0);
  });

  it("outside the front's sizes, or a loan, it takes kreallocSlow / reallocMedium as before", async () => {
    const { w, count } = await heap();
    const p = w.malloc!(5000);
    let before = count();
    expect(w.realloc!(p, 4000)).not.toBe(0);         // below MEDIUM_LOW: moves (kreallocSlow)
    expect(delta(before, count()).kreallocSlow).toBe(1);
    const loan = w.malloc!(700);                        // a cold class: a lent medium block (reallocMedium)
    before = count();
    const q = w.realloc!(loan, 5000);                // a loan does not grow in place: it moves
    expect(q).not.toBe(0);
    expect(q).not.toBe(loan);
    const d = delta(before, count());
    expect(d.reallocMedium).toBe(1);
    expect(d.mediumResizeIn).toBe(0);
    expect(w.heap_validate!()).toBe(0);
  });

  it("a hostile pointer gets malloc_usable_size's code from realloc, for every size, and the heap is unchanged", async () => {
    const { w, g, memory, dv, preLo, chunkBase, nchunks } = await heap();
    const a = w.malloc!(5000), b = w.malloc!(6000), c = w.malloc!(7000), e = w.malloc!(9000);
    expect(nchunks()).toBe(0);
    expect(w.km_free!(b)).toBe(E_OK);                  // b: freed, a free block's start
    expect(w.km_free!(c)).toBe(E_OK);                  // c: merged into b's free block (its header killed)
    // forged headers inside a's data (16-aligned starts): a wrong check word; the right check word with a
    // size past the region's end; the right check word with a size below a block's minimum
    const f1 = a + 1024, f2 = a + 2048, f3 = a + 3072;
    dv().setUint32(f1 - 8, 64, true);
    dv().setUint32(f1 - 4, keyOf(f1 - 8, 64) ^ 1, true);
    const past = chunkBase() - (f2 - 8) + 16;
    dv().setUint32(f2 - 8, past, true);
    dv().setUint32(f2 - 4, keyOf(f2 - 8, past), true);
    dv().setUint32(f3 - 8, 16, true);
    dv().setUint32(f3 - 4, keyOf(f3 - 8, 16), true);
    const cases: [string, number, number][] = [
      ["freed", b, E_DOUBLE_FREE],
      ["coalesced", c, E_DOUBLE_FREE],
      ["interior", a + 16, E_NOT_OBJECT],
      ["misaligned", a + 8, E_NOT_OBJECT],
      ["misaligned by 1", e + 1, E_NOT_OBJECT],
      ["forged: wrong check word", f1, E_NOT_OBJECT],
      ["forged: past the region", f2, E_NOT_OBJECT],
      ["forged: too small", f3, E_NOT_OBJECT],
      ["the control block", preLo() + 16, E_NOT_OURS],
      ["the region's first bytes", preLo(), E_NOT_OBJECT],
      ["the region's first bytes + 8", preLo() + 8, E_NOT_OBJECT],
      ["the last block start the range allows", chunkBase() - 32, E_NOT_OBJECT],
      ["past the last block start", chunkBase() - 16, E_NOT_OBJECT],
    ];
    // a chunk's medium region, a class object, outside the heap: the front lets them pass to kreallocSlow
    const big = w.malloc!(40000);
    expect(nchunks()).toBe(1);
    const small = w.malloc!(16);
    cases.push(["inside a chunk region's block", big + 32, E_NOT_OBJECT]);
    expect(w.km_usable!(small + 16)).toBe(0);
    cases.push(["inside a 16-byte block", small + 16, w.last_error!()]);
    cases.push(["the heap header", w.heap_addr!(), E_NOT_OURS]);
    cases.push(["past memory", 0xfffffff0, E_NOT_OURS]);
    for (const [what, p, code] of cases) {
      expect(w.km_usable!(p), `usable: ${what}`).toBe(0);
      expect(w.last_error!(), `usable: ${what}`).toBe(code);
      const before = snapshot(memory, w, g);
      for (const n of SIZES) {
        expect(w.realloc!(p, n), `C realloc ${n}: ${what}`).toBe(0);   // the front's answer
        expect(w.last_error!(), `C realloc ${n}: ${what}`).toBe(code);
        expect(w.km_realloc!(p, n), `km_realloc ${n}: ${what}`).toBe(0); // kreallocSlow's
        expect(w.last_error!(), `km_realloc ${n}: ${what}`).toBe(code);
      }
      const after = snapshot(memory, w, g);
      const changed = after.findIndex((x, i) => x !== before[i]);
      expect(changed, `${what}: the first byte changed`).toBe(-1);
    }
    expect(w.heap_validate!()).toBe(0);
    // the live blocks are as they were, and still grow in place through the front
    expect(w.km_usable!(a)).toBe(blockOf(5000) - 8);
    expect(w.realloc!(e, 9100)).toBe(e);
    expect(w.km_free!(a)).toBe(E_OK);
    expect(w.km_free!(e)).toBe(E_OK);
    expect(w.km_free!(big)).toBe(E_OK);
    expect(w.heap_validate!()).toBe(0);
  });

  it("with no pre-chunk region (a heap base that leaves no room for one): every pointer takes kreallocSlow, none traps", async () => {
    // (the front's range test alone would wrap there: PRE_LO = chunkBase)
    const mod = new WebAssembly.Module(countedBytes(COUNTED) as Uint8Array<ArrayBuffer>);
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
    const inst = await WebAssembly.instantiate(mod, { env: { memory, hook: () => 0 } });
    const w = inst.exports as unknown as W, g = inst.exports as unknown as G;
    expect(w.slab_init!(0xa000, 1, 1, 0)).toBe(0);       // header and slots reach chunkBase (64 KiB)
    expect(w.pin_cpu!(0)).toBe(0);
    const word = (off: string) => new DataView(memory.buffer).getUint32(w.heap_addr!() + (g[off]!.value as number), true);
    expect(word("H_PRE_LO")).toBe(0);                   // no pre-chunk region
    const kreallocSlow = () => g["n:assembly/kmalloc/kreallocSlow"]!.value as number;
    const p = w.malloc!(5000);                           // a medium block of chunk 0's region
    expect(p).toBeGreaterThan(word("H_CHUNK_BASE"));
    let before = kreallocSlow();
    for (let n = 5005; n <= 5200; n += 5) expect(w.realloc!(p, n)).toBe(p);
    expect(kreallocSlow() - before).toBe(40);             // every step: kreallocSlow (classify, its header)
    expect(w.heap_validate!()).toBe(0);
    const f = p + 1024;                                   // a forged header: a wrong check word
    new DataView(memory.buffer).setUint32(f - 8, 4112, true);
    new DataView(memory.buffer).setUint32(f - 4, keyOf(f - 8, 4112) ^ 0x80000000, true);
    const cases: [string, number][] = [["past memory", 0xfffffff0], ["the last bytes of memory", memory.buffer.byteLength - 16],
      ["the heap header", w.heap_addr!()], ["below the heap", 0x100], ["interior", p + 16], ["forged", f]];
    for (const [what, q] of cases) {
      expect(w.km_usable!(q), what).toBe(0);
      const code = w.last_error!();
      expect(code, what).not.toBe(E_OK);
      before = kreallocSlow();
      for (const n of SIZES) {
        expect(w.realloc!(q, n), `${what} ${n}`).toBe(0);
        expect(w.last_error!(), `${what} ${n}`).toBe(code);
      }
      expect(kreallocSlow() - before, what).toBe(SIZES.length);
    }
    expect(w.km_free!(p)).toBe(E_OK);
    expect(w.heap_validate!()).toBe(0);
  });
});
