// realloc-model.test.ts — realloc against a simple model (issue 11 item 4, session 10, helper realloc4):
// the C export realloc (index.ts: krealloc's front inlined — kmalloc.ts krealloc, medium.ts mediumPreHolds /
// mediumPreKeeps — then kreallocPre / kreallocSlow, which report a refused pointer themselves) and the TS
// layer's km_realloc (kreallocSlow: no report), driven by a seeded churn of small blocks (the 16-byte
// loans and parked blocks of a small heap) and mid-size blocks grown and shrunk a few bytes at a time
// (realloc2-bal's pattern, all through the pre-chunk region's front), then on into chunks.
// The model: every live block's requested size and a byte pattern of its own. After every operation the
// new block holds its old bytes up to the smaller size, malloc_usable_size covers the request, no two live
// blocks overlap (nothing handed out twice), and every few steps heap_validate() finds nothing wrong.
// Then the hostile side of the front's one-expression keep test (mediumPreKeeps): a freed block asked for
// exactly its own block size (F alone must refuse it), a parked block, a coalesced header, interior and
// misaligned pointers, a forged header with a wrong check word, or the right one with the P flag only or
// with the O flag: the C export answers 0 with malloc_usable_size's code, reports it once through
// env.hook(HOOK_REPORT, code, ptr, 0), calls no mediumResizeIn, and not one byte of the heap changes;
// km_realloc gives the same code and reports nothing.
import { describe, expect, it } from "vitest";
import { countedBytes, type G, type W } from "./counted.js";
import { heapSnapshot } from "./raw-instance.js";

const E_OK = 0, E_NOT_OURS = 2, E_NOT_OBJECT = 3, E_DOUBLE_FREE = 5, HOOK_REPORT = 4;
const COUNTED = ["assembly/medium/mediumResizeIn", "assembly/kmalloc/kreallocSlow"];
const blockOf = (n: number) => Math.max(32, (n + 8 + 15) & ~15);
const keyOf = (b: number, size: number) => ((b ^ 0x6d656421) ^ Math.imul(size, 0x9e3779b1)) >>> 0;

let mod: WebAssembly.Module | undefined;

/** A fresh heap on build/debug.wasm (counters on COUNTED), recording every env.hook report. */
async function heap() {
  mod ??= new WebAssembly.Module(countedBytes(COUNTED) as Uint8Array<ArrayBuffer>);
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
  const reports: [number, number, number][] = [];
  const hook = (kind: number, a: number, b: number, c: number) => { if (kind === HOOK_REPORT) reports.push([a, b >>> 0, c]); return 0; };
  const inst = await WebAssembly.instantiate(mod, { env: { memory, hook } });
  const w = inst.exports as unknown as W, g = inst.exports as unknown as G;
  expect(w.slab_init!(w.data_end!(), 1, 1, 0)).toBe(0);
  expect(w.pin_cpu!(0)).toBe(0);
  const word = (name: string) => new DataView(memory.buffer).getUint32(w.heap_addr!() + (g[name]!.value as number), true);
  const resizes = () => g["n:assembly/medium/mediumResizeIn"]!.value as number;
  return { w, g, memory, reports, word, resizes };
}

/** The heap's bytes as a refused realloc must leave them (raw-instance.ts heapSnapshot). */
function snapshot(memory: WebAssembly.Memory, w: W, g: G): Uint8Array {
  return heapSnapshot(memory, w.heap_addr!(), (n) => g[n]!.value as number);
}

describe("realloc against a model", () => {
  it("a seeded churn of small blocks and mid-size blocks grown and shrunk in steps keeps every byte, no overlap, a valid heap", async () => {
    const { w, memory, word, reports } = await heap();
    let seed = 0x5eed1234;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) % n; };
    type Block = { p: number; n: number; tag: number };
    const live: Block[] = [];
    let tags = 0, fronted = 0;
    const bytes = () => new Uint8Array(memory.buffer);
    const fill = (b: Block, from: number) => { const m = bytes(); for (let i = from; i < b.n; i++) m[b.p + i] = (b.tag * 31 + i) & 0xff; };
    const holds = (b: Block, upTo: number) => {
      const m = bytes();
      for (let i = 0; i < upTo; i++) if (m[b.p + i] !== ((b.tag * 31 + i) & 0xff)) return i;
      return -1;
    };
    const noOverlap = () => {
      const s = [...live].sort((x, y) => x.p - y.p);
      for (let i = 1; i < s.length; i++) expect(s[i - 1]!.p + s[i - 1]!.n, "two live blocks overlap").toBeLessThanOrEqual(s[i]!.p);
    };
    const preLo = () => word("H_PRE_LO"), chunkBase = () => word("H_CHUNK_BASE");
    for (let step = 0; step < 6000; step++) {
      // the first 3 000 steps: a small heap (at most 24 live blocks, 2 of them mid-size: the pre-chunk
      // region's front); then a growing heap of any sizes, into chunks
      const small = step < 3000;
      const r = small && live.length > 24 ? 30 + rnd(70) : rnd(100);
      const mids = live.filter((b) => b.n > 4096).length;
      if (live.length < 4 || r < 30) {
        // mostly 16-byte blocks (a small heap's loans, parked blocks), some mid-size ones
        const n = rnd(8) === 0 && (!small || mids < 2) ? 4097 + rnd(small ? 3000 : 20000) : rnd(3) === 0 ? 1 + rnd(1024) : 16;
        const b = { p: w.malloc!(n), n, tag: ++tags };
        expect(b.p, `malloc ${n}`).not.toBe(0);
        expect(w.malloc_usable_size!(b.p)).toBeGreaterThanOrEqual(n);
        fill(b, 0);
        live.push(b);
      } else if (r < 55) {
        const [b] = live.splice(rnd(live.length), 1);
        expect(holds(b!, b!.n), `block ${b!.tag} before its free`).toBe(-1);
        expect(w.km_free!(b!.p)).toBe(E_OK);
        // refused (a block of a region or page run given back since reads as not ours)
        expect([E_DOUBLE_FREE, E_NOT_OURS], "a second free").toContain(w.km_free!(b!.p));
      } else {
        // realloc: a mid-size block a few bytes up or down (the front's keep, split and grow), or anything
        const midBlocks = live.filter((x) => x.n > 4096);
        const b = midBlocks.length > 0 && rnd(4) !== 0 ? midBlocks[rnd(midBlocks.length)]! : live[rnd(live.length)]!;
        const n = b.n > 4096 && rnd(8) !== 0 ? Math.max(4097, Math.min(32768, b.n + rnd(40) - 12)) :
          small && mids >= 2 ? 1 + rnd(4096) : 1 + rnd(rnd(2) === 0 ? 40000 : 5000);
        const viaC = rnd(4) !== 0;
        if (viaC && b.p - preLo() < chunkBase() - preLo() && n > 4096 && n <= 32768) fronted++;
        const reported = reports.length;
        const q = viaC ? w.realloc!(b.p, n) : w.km_realloc!(b.p, n);
        expect(reports.length, "a good pointer: no report").toBe(reported);
        expect(q, `realloc ${b.n} → ${n}`).not.toBe(0);
        expect(w.last_error!()).toBe(E_OK);
        expect(w.malloc_usable_size!(q)).toBeGreaterThanOrEqual(n);
        const old = b.n;
        b.p = q;
        b.n = n;
        expect(holds(b, Math.min(old, n)), `block ${b.tag}: its bytes after realloc ${old} → ${n}`).toBe(-1);
        if (n > old) fill(b, old);
      }
      if (step % 97 === 0) {
        noOverlap();
        expect(w.heap_validate!(), `step ${step}`).toBe(0);
      }
    }
    noOverlap();
    expect(fronted, "reallocs that went through the front").toBeGreaterThan(100);
    for (const b of live) {
      expect(holds(b, b.n)).toBe(-1);
      expect(w.km_free!(b.p)).toBe(E_OK);
    }
    expect(w.heap_validate!()).toBe(0);
  });

  it("a freed, parked, coalesced, interior, misaligned or forged pointer asked for its own block size is refused with its code, reported once, nothing changed", async () => {
    const { w, g, memory, reports, word, resizes } = await heap();
    const dv = () => new DataView(memory.buffer);
    const preLo = word("H_PRE_LO"), chunkBase = word("H_CHUNK_BASE");
    const inPre = (p: number) => p - preLo >= 0 && p < chunkBase;
    // a small block and a block of class 4096 parked first (F and R: medium.ts park), where no later
    // block is cut: a small block of the pre-chunk region, and a chunkless block of class 4096 (4 112
    // bytes: kmalloc.ts borrow), to be asked for 4 100 bytes, exactly its block size
    const s = w.malloc!(700), t = w.malloc!(4000);
    expect(inPre(s) && inPre(t)).toBe(true);
    expect(w.km_usable!(t)).toBe(4104);
    const a = w.malloc!(5000), b = w.malloc!(4200), c = w.malloc!(4300), e = w.malloc!(4500), f = w.malloc!(5000);
    const x = w.malloc!(4400), y = w.malloc!(4200);
    for (const p of [a, b, c, e, f, x, y]) expect(inPre(p)).toBe(true);
    expect(w.km_free!(x)).toBe(E_OK);                  // x: a free block between two live ones, its own size
    expect(w.km_free!(b)).toBe(E_OK);                  // b: a free block's start (F)
    expect(w.km_free!(c)).toBe(E_OK);                  // c: merged into b's (its header killed: F, size 0)
    // x, b and c are at most PARK_MAX (8 KiB + 16: medium.ts park), so their frees parked them whole; a
    // heap shrink gives every parked block back to the free lists (mediumUnparkAll), where b and c merge
    w.heap_shrink!();
    expect(w.km_free!(s)).toBe(E_OK);
    expect(w.km_free!(t)).toBe(E_OK);
    // forged headers inside a's data (16-aligned): the right check word with P only (a live block: its
    // realloc is served), with O (an own block: not the program's), a wrong check word
    const f1 = a + 1024, f2 = a + 2048, f3 = a + 3072;
    const forge = (p: number, word0: number, size: number, flip = 0) => {
      dv().setUint32(p - 8, word0, true);
      dv().setUint32(p - 4, (keyOf(p - 8, size) ^ flip) >>> 0, true);
    };
    forge(f2, 4128 | 8, 4128);                          // O
    forge(f3, 4128, 4128, 1);                           // wrong check word
    const cases: [string, number, number, number][] = [
      // [what, pointer, code, a size whose block is exactly the header's size (the keep test's sizes)]
      ["freed, asked for its own size", x, E_DOUBLE_FREE, 4400],
      ["freed and merged", b, E_DOUBLE_FREE, 4200],
      ["coalesced", c, E_DOUBLE_FREE, 4300],
      ["parked", s, E_DOUBLE_FREE, 4100],
      ["parked, asked for its own size", t, E_DOUBLE_FREE, 4100],
      ["interior", a + 16, E_NOT_OBJECT, 4100],
      ["misaligned", e + 8, E_NOT_OBJECT, 4500],
      ["misaligned by 4", e + 4, E_NOT_OBJECT, 4500],
      ["forged with O", f2, E_NOT_OURS, 4120],
      ["forged, a wrong check word", f3, E_NOT_OBJECT, 4120],
      ["the control block", preLo + 16, E_NOT_OURS, 4100],
    ];
    for (const [what, p, code, n] of cases) {
      expect(w.km_usable!(p), `usable: ${what}`).toBe(0);
      expect(w.last_error!(), `usable: ${what}`).toBe(code);
      const before = snapshot(memory, w, g);
      const r0 = resizes();
      for (const m of [n, n + 5, n + 16, n - 5, 4097, 32768, 20, 40000]) {
        reports.length = 0;
        expect(w.realloc!(p, m), `C realloc ${m}: ${what}`).toBe(0);
        expect(w.last_error!(), `C realloc ${m}: ${what}`).toBe(code);
        expect(reports, `C realloc ${m}: ${what}: one report`).toEqual([[code, p >>> 0, 0]]);
        reports.length = 0;
        expect(w.km_realloc!(p, m), `km_realloc ${m}: ${what}`).toBe(0);
        expect(w.last_error!(), `km_realloc ${m}: ${what}`).toBe(code);
        expect(reports, `km_realloc ${m}: ${what}: no report`).toEqual([]);
      }
      expect(resizes() - r0, `${what}: no resize`).toBe(0);
      const changed = snapshot(memory, w, g).findIndex((x, i) => x !== before[i]);
      expect(changed, `${what}: the first byte changed`).toBe(-1);
    }
    // the right check word with P only is a live header by every test the heap has (the known limit of
    // forged headers, medium.ts): the front keeps it as it keeps a real block, and writes nothing
    forge(f1, 4128 | 2, 4128);
    const before = snapshot(memory, w, g);
    expect(w.realloc!(f1, 4120)).toBe(f1);
    expect(snapshot(memory, w, g).findIndex((x, i) => x !== before[i])).toBe(-1);
    forge(f1, 0, 0, 1);
    forge(f2, 0, 0, 1);
    forge(f3, 0, 0, 1);
    // the live blocks still keep and grow in place through the front
    const r0 = resizes();
    expect(w.realloc!(a, 4995)).toBe(a);
    expect(resizes() - r0).toBe(0);
    expect(w.realloc!(f, 5100)).toBe(f);              // into x's free block after it
    expect(resizes() - r0).toBe(1);
    expect(w.km_usable!(f)).toBe(blockOf(5100) - 8);
    expect(w.heap_validate!()).toBe(0);
    for (const p of [a, e, f, y]) expect(w.km_free!(p)).toBe(E_OK);
    expect(w.heap_validate!()).toBe(0);
  });
});
