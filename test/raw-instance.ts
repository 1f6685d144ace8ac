// raw-instance.ts — a module of this package instantiated on a fresh memory with its heap at a given base,
// no TS layer (shared helper, not a test file: medium-inline.test.ts, region-top.test.ts). The merged
// module (dist/slab-merge.wasm) sets its heap up at instantiation from env.__heap_base; any other build
// (build/release.wasm) through slab_init, which must accept it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { ROOT } from "./cc.js";

export type W = Record<string, (...a: number[]) => number>;

/** `file` (relative to the package root) on a fresh memory, its heap at `heapBase`; `merged`: set up at
 *  instantiation. Asserts the heap is where it was asked to be. */
export async function rawInstance(file: string, merged: boolean, heapBase: number): Promise<{ w: W; memory: WebAssembly.Memory }> {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
  const env: Record<string, unknown> = { memory, hook: () => 0 };
  if (merged) env.__heap_base = new WebAssembly.Global({ value: "i32", mutable: false }, heapBase);
  const { instance } = await WebAssembly.instantiate(readFileSync(join(ROOT, file)), { env } as WebAssembly.Imports);
  const w = instance.exports as unknown as W;
  if (!merged) {
    expect(w.data_end!()).toBeLessThanOrEqual(heapBase);
    expect(w.slab_init!(heapBase, 1, 1, 0)).toBe(0);
  }
  expect(w.heap_addr!()).toBe(heapBase);
  return { w, memory };
}
