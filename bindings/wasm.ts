// wasm.ts — loading the embedded Wasm module: compile once per build flavour, instantiate over a memory.
//
// Owns: the compiled-module cache and instantiation with the env imports (memory, hook). The typed
// view of the exports (SlabExports) and every shared constant are generated from the module at build
// time (scripts/gen-abi.mjs → generated/abi.ts); this file only re-exports the type. Entry points:
// compileSlab(), instantiateSlab(). Called by: heap.ts (createAllocator). Calls: generated/wasm.ts.
// Kept small on purpose: where the bytes come from (embedded, or a lazily loaded chunk) is this file's
// and generated/wasm.ts's business alone.
import { debugWasm, releaseWasm } from "./generated/wasm.js";
import type { SlabExports } from "./generated/abi.js";

export type { SlabExports } from "./generated/abi.js";

/** Host callbacks the module calls through env.hook(op, a, b, c). */
export type HookFn = (op: number, a: number, b: number, c: number) => number;

const compiled = new Map<string, Promise<WebAssembly.Module>>();

export function compileSlab(debug: boolean): Promise<WebAssembly.Module> {
  const key = debug ? "debug" : "release";
  let m = compiled.get(key);
  if (!m) {
    m = WebAssembly.compile(debug ? debugWasm : releaseWasm);
    compiled.set(key, m);
  }
  return m;
}

export interface SlabInstance {
  exports: SlabExports;
}

export async function instantiateSlab(memory: WebAssembly.Memory, hook: HookFn, debug: boolean): Promise<SlabInstance> {
  const module = await compileSlab(debug);
  const instance = await WebAssembly.instantiate(module, { env: { memory, hook } });
  return { exports: instance.exports as unknown as SlabExports };
}
