// malloc.ts — the C allocation functions on the TS side (heap.malloc, calloc, realloc, free, usableSize,
// alignedAlloc), the import object a C module links against (heap.imports()) (cHeapBase and dataEnd are
// in heap-base.ts, instanceForWasi in wasi.ts).
//
// Owns: argument checks and error mapping for the km_* / C exports of the Wasm (assembly/kmalloc.ts).
// Entry points: the functions below, which Heap's methods call (bindings/heap.ts).
// Calls: core.ts (exports, reports), args.ts, errors.ts, generated/abi.ts. Nothing above.
// Semantics are C's: malloc(0) returns a unique pointer; free(0) does nothing; realloc(0, n) is malloc;
// realloc(p, 0) frees p and returns 0; calloc checks n × size for overflow. Where C would return NULL
// for lack of memory, these throw OutOfMemoryError (or return 0 with onOutOfMemory: "null"); a bad
// pointer throws InvalidFreeError / DoubleFreeError, and a pointer or size that is not an integer in
// 0..2^32-1 throws InvalidArgumentError: nothing changes in either case. Returned pointers are u32.
import { ClassSets, ErrorCodes } from "./generated/abi.js";
import { InvalidArgumentError, NoCpuError, OutOfMemoryError, SlabError, freeError } from "./errors.js";
import { isU32, ptrArg, show } from "./args.js";
import { MALLOC_NAME, type Core } from "./core.js";

export { MALLOC_NAME, MAX_REPORTS } from "./core.js";

/** Size-class sets for malloc (assembly/kmalloc.ts): the kernel's 13 kmalloc caches, or those plus
 *  finer steps (16 B up to 128, then eight per doubling up to 8 KiB: at most 12.5% rounding). */
export type MallocClasses = "kernel" | "fine";
const CLASS_SETS: Record<MallocClasses, number> = { kernel: ClassSets.KERNEL, fine: ClassSets.FINE };

function checkSize(what: string, n: unknown): number {
  if (!isU32(n)) throw new InvalidArgumentError(`${what}: ${show(n)} is not a byte count (an integer in 0..4294967295)`);
  return n;
}

// Run a Wasm call for a TS caller: a callback it runs (a shrinker under memory pressure, onReport for a
// bad pointer) throws through this caller, once (core.ts Invariants).
function call<T>(core: Core, f: () => T): T {
  core.enter();
  try {
    return f();
  } finally {
    core.leave();
  }
}

function oom(core: Core, what: string, bytes: number): number {
  if (core.w.last_error() === ErrorCodes.NO_CPU) throw new NoCpuError(what); // a shared heap, CPU released
  if (core.oomThrows) throw new OutOfMemoryError(what, bytes);
  return 0;
}

export function malloc(core: Core, n: number): number {
  checkSize("malloc", n);
  const p = call(core, () => core.w.malloc(n)) >>> 0;
  core.rethrowHook();
  return p === 0 ? oom(core, `malloc(${n})`, n) : p;
}

export function calloc(core: Core, n: number, size: number): number {
  checkSize("calloc", n);
  checkSize("calloc", size);
  const p = call(core, () => core.w.calloc(n, size)) >>> 0;
  core.rethrowHook();
  return p === 0 ? oom(core, `calloc(${n}, ${size})`, n * size) : p;
}

export function free(core: Core, p: number): void {
  ptrArg("free", p);
  const e = call(core, () => core.w.km_free(p));
  core.rethrowHook();
  if (e !== 0) throw freeError(e, p, MALLOC_NAME);
}

export function realloc(core: Core, p: number, n: number): number {
  ptrArg("realloc", p);
  checkSize("realloc", n);
  const q = call(core, () => core.w.km_realloc(p, n)) >>> 0;
  core.rethrowHook();
  if (q !== 0) return q;
  const e = core.w.last_error();
  if (e === ErrorCodes.OK) return 0; // realloc(p, 0) freed p
  if (e === ErrorCodes.NOMEM) return oom(core, `realloc(0x${p.toString(16)}, ${n})`, n);
  throw freeError(e, p, MALLOC_NAME);
}

export function usableSize(core: Core, p: number): number {
  ptrArg("usableSize", p);
  if (p === 0) return 0;
  const n = call(core, () => core.w.km_usable(p)) >>> 0;
  core.rethrowHook();
  if (n === 0) throw freeError(core.w.last_error(), p, MALLOC_NAME);
  return n;
}

export function alignedAlloc(core: Core, align: number, n: number): number {
  checkSize("alignedAlloc", n);
  if (!isU32(align) || align < 1 || (align & (align - 1)) !== 0) {
    throw new InvalidArgumentError(`alignedAlloc: alignment ${show(align)} is not a power of two`);
  }
  const p = call(core, () => core.w.aligned_alloc(align, n)) >>> 0;
  core.rethrowHook();
  if (p !== 0) return p;
  if (core.w.last_error() === ErrorCodes.INVALID) {
    throw new InvalidArgumentError(`alignedAlloc: alignment ${align} is not supported for ${n} bytes (up to 64 KiB; 8 KiB above 512 KiB)`);
  }
  return oom(core, `alignedAlloc(${align}, ${n})`, n);
}

/** Choose the class set before the first malloc. A chosen set is served exactly: unlike the default
 *  (the fine set as the first malloc picks it), it lends no class's first blocks from a larger class
 *  (assembly/kmalloc.ts borrow), so every block's usable size is its class size. */
export function setMallocClasses(core: Core, set: MallocClasses): void {
  const code = Object.hasOwn(CLASS_SETS, set) ? CLASS_SETS[set] : undefined;
  if (code === undefined) throw new InvalidArgumentError(`malloc classes ${show(set)}: use 'kernel' or 'fine'`);
  const e = core.w.km_set_classes(code);
  if (e === ErrorCodes.BUSY) throw new SlabError("wasm-slab: the malloc classes are fixed once malloc has been used", e);
  if (e !== 0) throw new InvalidArgumentError(`malloc classes '${set}' rejected (code ${e})`);
}

/** The import object for a C module that calls malloc & co. (compiled with c/slab_shim.c, which imports
 *  them from "wasm_slab", or with --allow-undefined, which imports them from "env"). The functions are
 *  the allocator's own Wasm exports, so a call from C is a direct Wasm-to-Wasm call. */
export function imports(core: Core): { env: Record<string, unknown>; wasm_slab: Record<string, unknown> } {
  const w = core.w;
  const fns = {
    malloc: w.malloc,
    free: w.free,
    calloc: w.calloc,
    realloc: w.realloc,
    aligned_alloc: w.aligned_alloc,
    posix_memalign: w.posix_memalign,
    malloc_usable_size: w.malloc_usable_size,
    // the error detail of the last failure (the README's "Debugging and double frees": C callers read last_error())
    last_error: w.last_error,
    last_error_addr: w.last_error_addr,
    last_error_cache: w.last_error_cache,
    last_error_offset: w.last_error_offset,
    last_error_found: w.last_error_found,
    last_error_expected: w.last_error_expected,
  };
  return { env: { memory: core.memory, ...fns }, wasm_slab: { ...fns } };
}
