// raw-instance.ts — a module of this package instantiated on a fresh memory with its heap at a given base,
// no TS layer (shared helper, not a test file: medium-inline.test.ts, region-top.test.ts). The merged
// module (dist/slab-merge.wasm) sets its heap up at instantiation from env.__heap_base; any other build
// (build/release.wasm) through slab_init, which must accept it. heapSnapshot(): memory's bytes as a refused
// free or realloc must leave them (region-top, realloc-front, realloc-model).
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

/** A copy of every byte of `memory` with the words a refused free or realloc writes zeroed: the last error
 *  and its address and cache (report.ts), and what a C export's report adds (the debug detail and the
 *  reports counter). `k(name)` is the module's exported layout constant `name`; `heap` the heap header. */
export function heapSnapshot(memory: WebAssembly.Memory, heap: number, k: (name: string) => number): Uint8Array {
  const bytes = new Uint8Array(memory.buffer.slice(0));
  const dbg = heap + k("H_DEBUG");
  for (const [at, n] of [[heap + k("H_LAST_ERROR"), 4], [heap + k("H_ERR_ADDR"), 4], [heap + k("H_ERR_CACHE"), 4],
    [dbg + k("DB_ERR_OFFSET"), 4], [dbg + k("DB_ERR_FOUND"), 1], [dbg + k("DB_ERR_EXPECTED"), 1], [dbg + k("DB_REPORTS"), 4]] as const) {
    bytes.fill(0, at, at + n);
  }
  return bytes;
}
