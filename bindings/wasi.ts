// wasi.ts — instanceForWasi(): running a C program linked at instantiation (way (a): it imports the
// heap's memory and malloc & co.) under a WASI host that looks for the memory among the exports.
//
// Owns: the exports view handed to such a host. node:wasi's start() and initialize() read
// `instance.exports.memory` (and throw when it is not a WebAssembly.Memory); a module linked with
// --import-memory exports none, and clang 14's wasm-ld cannot also export an imported memory.
// Entry point: instanceForWasi (re-exported by bindings/index.ts). Called by users and test/package.test.ts.
// Invariants: the instance is not changed; the view's exports are the instance's plus `memory`.
import { InvalidArgumentError } from "./errors.js";

/** A view of `instance` for a WASI host's start()/initialize(): its exports plus `memory` (the heap's
 *  memory, which the module imported). Pass heap.memory:
 *
 *      const { instance } = await WebAssembly.instantiate(bytes, { ...heap.imports(), wasi_snapshot_preview1: wasi.wasiImport });
 *      wasi.start(instanceForWasi(instance, heap.memory));
 */
export function instanceForWasi(instance: WebAssembly.Instance, memory: WebAssembly.Memory): WebAssembly.Instance {
  if (!(memory instanceof WebAssembly.Memory)) throw new InvalidArgumentError("instanceForWasi: memory is not a WebAssembly.Memory");
  const own = instance.exports.memory;
  if (own !== undefined && own !== memory) {
    throw new InvalidArgumentError("instanceForWasi: the module exports a memory of its own (link it with --import-memory)");
  }
  return { exports: Object.freeze({ ...instance.exports, memory }) } as WebAssembly.Instance;
}
