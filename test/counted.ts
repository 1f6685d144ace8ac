// counted.ts — build/debug.wasm with exact call counters (shared helper, not a test file): for the tests
// that pin down which allocator functions an operation calls (lendfast.test.ts, realloc-inplace.test.ts).
//
// chunklessChurn() drives a random chunkless workload of loans, medium blocks and reallocs (both of the
// tests above), with every free given twice (the second must be E_DOUBLE_FREE) and a caller's check per step.
// countedBytes(names) returns build/debug.wasm (asc keeps its functions as written there) with an exported
// mutable i32 global "n:<name>" per named function, incremented on the function's entry (binaryen.js, as
// bench/profile-malloc.mjs counts calls). Every name must be a function of the module (checked).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import binaryen from "binaryen";
import { expect } from "vitest";
import { ROOT } from "./cc.js";

// binaryen.js's Function.setBody (present at run time; its typings put it on Module instances only)
const setBody = (binaryen as unknown as { Function: { setBody(f: number, body: number): void } }).Function.setBody;

/** build/debug.wasm with an exported i32 counter "n:<name>" per function of `names`, bumped on entry. */
export function countedBytes(names: readonly string[]): Uint8Array {
  const m = binaryen.readBinary(readFileSync(join(ROOT, "build", "debug.wasm")));
  m.setFeatures(binaryen.Features.MVP | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt | binaryen.Features.MutableGlobals |
    binaryen.Features.SignExt | binaryen.Features.NontrappingFPToInt);
  const found: string[] = [];
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const f = m.getFunctionByIndex(i);
    const info = binaryen.getFunctionInfo(f);
    if (info.module || !names.includes(info.name)) continue;
    found.push(info.name);
    const g = `n$${i}`;
    m.addGlobal(g, binaryen.i32, true, m.i32.const(0));
    m.addGlobalExport(g, `n:${info.name}`);
    const bump = m.global.set(g, m.i32.add(m.global.get(g, binaryen.i32), m.i32.const(1)));
    setBody(f, m.block(null, [bump, info.body], info.results));
  }
  expect(found.sort(), "the counted functions are in build/debug.wasm").toEqual([...names].sort());
  expect(m.validate()).toBeTruthy();
  const bytes = m.emitBinary();
  m.dispose();
  return bytes;
}

export type W = Record<string, (...a: number[]) => number>;
export type G = Record<string, WebAssembly.Global>;

const compiled = new Map<string, WebAssembly.Module>();

/** A fresh heap (1 node, 1 CPU, pinned to CPU 0) on the counted build of `names`: its exports (w, g),
 * its memory, and count(): each counter by the function's last name part. */
export async function countedHeap(names: readonly string[]) {
  const key = names.join(",");
  let mod = compiled.get(key);
  if (!mod) compiled.set(key, (mod = new WebAssembly.Module(countedBytes(names) as Uint8Array<ArrayBuffer>)));
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
  const instance = await WebAssembly.instantiate(mod, { env: { memory, hook: () => 0 } });
  const w = instance.exports as unknown as W;
  const g = instance.exports as unknown as G;
  expect(w.slab_init!(w.data_end!(), 1, 1, 0)).toBe(0);
  expect(w.pin_cpu!(0)).toBe(0);
  const count = () => Object.fromEntries(names.map((n) => [n.slice(n.lastIndexOf("/") + 1), g[`n:${n}`]!.value as number]));
  return { w, g, memory, count };
}

/** The shape of a chunklessChurn workload: out of 10, `mallocs` are mallocs and `frees` − `mallocs` frees
 *  (the rest reallocs); one malloc in `bigOneIn` asks 1..bigMax bytes, the others 1..smallMax. */
export interface Churn { seed: number; steps: number; mallocs: number; frees: number; bigOneIn: number; bigMax: number; smallMax: number }

/** Run `c` on heap `w` while it grows no chunk (nchunks() = 0); `step` runs after every operation. Returns
 *  the blocks still live. */
export function chunklessChurn(w: W, nchunks: () => number, c: Churn, step: () => void): number[] {
  let seed = c.seed;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) % n; };
  const live: number[] = [];
  for (let i = 0; i < c.steps && nchunks() === 0; i++) {
    const r = rnd(10);
    if (r < c.mallocs || live.length === 0) {
      const size = rnd(c.bigOneIn) === 0 ? 1 + rnd(c.bigMax) : 1 + rnd(c.smallMax);
      const p = w.malloc!(size);
      expect(p).not.toBe(0);
      live.push(p);
    } else if (r < c.frees) {
      const p = live.splice(rnd(live.length), 1)[0]!;
      expect(w.km_free!(p)).toBe(0);
      expect(w.km_free!(p)).toBe(5); // E_DOUBLE_FREE
    } else {
      const j = rnd(live.length);
      const q = w.km_realloc!(live[j]!, 1 + rnd(3000));
      expect(q).not.toBe(0);
      live[j] = q;
    }
    step();
  }
  return live;
}
