// wasm.ts — loading the embedded Wasm module: compile once per build flavour, instantiate over a memory.
//
// Owns: the compiled-module cache and instantiation with the env imports (memory, hook). The typed
// view of the exports (SlabExports) and every shared constant are generated from the module at build
// time (scripts/gen-abi.mjs → generated/abi.ts); this file only re-exports the type. Entry points:
// compileSlab(), instantiateSlab(). Called by: heap.ts (createAllocator). Calls: generated/release-wasm.ts,
// generated/debug-wasm.ts (both base64, from scripts/embed.mjs).
// The release build is embedded in the entry; the debug build is imported dynamically, so bundles keep it
// in a separate chunk, loaded only for debugBuild: true (rollup.config.mjs).
// Call tree: compileSlab → slabWasmBytes → decodeBase64 (+ import() of the debug chunk).
import { releaseWasmBase64 } from "./generated/release-wasm.js";
import type { SlabExports } from "./generated/abi.js";

export type { SlabExports } from "./generated/abi.js";

/** Host callbacks the module calls through env.hook(op, a, b, c). */
export type HookFn = (op: number, a: number, b: number, c: number) => number;

type Base64Host = {
  atob?: (data: string) => string;
  Buffer?: { from(data: string, encoding: "base64"): ArrayLike<number> };
};

/** Base64 to bytes: atob (browsers, Node ≥ 16), Buffer as a fallback. Uint8Array<ArrayBuffer> so the
 *  bytes are a BufferSource for WebAssembly.compile under TS ≥ 5.7. */
function decodeBase64(data: string): Uint8Array<ArrayBuffer> {
  const host = globalThis as unknown as Base64Host;
  if (typeof host.atob === "function") {
    const bin = host.atob(data);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  if (host.Buffer !== undefined) return Uint8Array.from(host.Buffer.from(data, "base64"));
  throw new Error("wasm-slab: no base64 decoder (atob or Buffer) available");
}

/** @internal The bytes of the release or debug build (the debug build's chunk is loaded on first use). */
export async function slabWasmBytes(debug: boolean): Promise<Uint8Array<ArrayBuffer>> {
  if (!debug) return decodeBase64(releaseWasmBase64);
  const { debugWasmBase64 } = await import("./generated/debug-wasm.js");
  return decodeBase64(debugWasmBase64);
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

export function compileSlab(debug: boolean): Promise<WebAssembly.Module> {
  const key = debug ? "debug" : "release";
  let m = compiled.get(key);
  if (!m) {
    m = slabWasmBytes(debug).then((bytes) => WebAssembly.compile(bytes));
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
