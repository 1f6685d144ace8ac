// malloc.ts — the C allocation functions on the TS side (heap.malloc, calloc, realloc, free, usableSize,
// alignedAlloc), the import object a C module links against (heap.imports()), and the reports of bad
// pointers that C code passed to free/realloc (cHeapBase is in heap-base.ts, instanceForWasi in wasi.ts).
//
// Owns: argument checks and error mapping for the km_* / C exports of the Wasm (assembly/kmalloc.ts).
// Entry points: the functions below, which Heap's methods call (bindings/heap.ts). cHeapBase(), which
// reads a C module's __heap_base, is in heap-base.ts.
// Semantics are C's: malloc(0) returns a unique pointer; free(0) does nothing; realloc(0, n) is malloc;
// realloc(p, 0) frees p and returns 0; calloc checks n × size for overflow. Where C would return NULL
// for lack of memory, these throw OutOfMemoryError (or return 0 with onOutOfMemory: "null"); a bad
// pointer throws InvalidFreeError / DoubleFreeError, and nothing changes.
import { ErrorCode, InvalidArgumentError, OutOfMemoryError, SlabError, freeError, reportError, type DebugReport } from "./errors.js";
import type { Heap } from "./heap.js";

/** The name errors give for the malloc heap (as a cache name). */
export const MALLOC_NAME = "malloc";

/** Size-class sets for malloc (assembly/kmalloc.ts): the kernel's 13 kmalloc caches, or those plus
 *  finer steps (16 B up to 128, then four per doubling up to 8 KiB). */
export type MallocClasses = "kernel" | "fine";
const CLASS_SETS: Record<MallocClasses, number> = { kernel: 1, fine: 2 };

/** At most this many reports are kept (the oldest are dropped). */
export const MAX_REPORTS = 64;

const U32_MAX = 0xffff_ffff;

function checkSize(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > U32_MAX) throw new InvalidArgumentError(`${what}: ${n} is not a byte count`);
}

function checkPtr(what: string, p: number): number {
  if (!Number.isInteger(p) || p < 0 || p > U32_MAX) throw new InvalidArgumentError(`${what}: ${p} is not a pointer`);
  return p >>> 0;
}

function oom(heap: Heap, what: string, bytes: number): number {
  if (heap.oomThrows) throw new OutOfMemoryError(what, bytes);
  return 0;
}

export function malloc(heap: Heap, n: number): number {
  checkSize("malloc", n);
  const p = heap.wasm.malloc(n);
  return p === 0 ? oom(heap, `malloc(${n})`, n) : p;
}

export function calloc(heap: Heap, n: number, size: number): number {
  checkSize("calloc", n);
  checkSize("calloc", size);
  const p = heap.wasm.calloc(n, size);
  return p === 0 ? oom(heap, `calloc(${n}, ${size})`, n * size) : p;
}

export function free(heap: Heap, p: number): void {
  const e = heap.wasm.km_free(checkPtr("free", p));
  if (e !== 0) throw freeError(e, p, MALLOC_NAME);
}

export function realloc(heap: Heap, p: number, n: number): number {
  checkPtr("realloc", p);
  checkSize("realloc", n);
  const q = heap.wasm.km_realloc(p >>> 0, n);
  if (q !== 0) return q;
  const e = heap.wasm.last_error();
  if (e === ErrorCode.OK) return 0; // realloc(p, 0) freed p
  if (e === ErrorCode.NOMEM) return oom(heap, `realloc(0x${p.toString(16)}, ${n})`, n);
  throw freeError(e, p, MALLOC_NAME);
}

export function usableSize(heap: Heap, p: number): number {
  checkPtr("usableSize", p);
  if (p === 0) return 0;
  const n = heap.wasm.km_usable(p >>> 0);
  if (n === 0) throw freeError(heap.wasm.last_error(), p, MALLOC_NAME);
  return n;
}

export function alignedAlloc(heap: Heap, align: number, n: number): number {
  checkSize("alignedAlloc", n);
  if (!Number.isInteger(align) || align < 1 || align > U32_MAX || (align & (align - 1)) !== 0) {
    throw new InvalidArgumentError(`alignedAlloc: alignment ${align} is not a power of two`);
  }
  const p = heap.wasm.aligned_alloc(align, n);
  if (p !== 0) return p;
  if (heap.wasm.last_error() === ErrorCode.INVALID) {
    throw new InvalidArgumentError(`alignedAlloc: alignment ${align} is not supported for ${n} bytes (up to 64 KiB; 8 KiB above 512 KiB)`);
  }
  return oom(heap, `alignedAlloc(${align}, ${n})`, n);
}

export function setMallocClasses(heap: Heap, set: MallocClasses): void {
  const code = CLASS_SETS[set];
  if (code === undefined) throw new InvalidArgumentError(`malloc classes '${String(set)}': use 'kernel' or 'fine'`);
  const e = heap.wasm.km_set_classes(code);
  if (e === ErrorCode.BUSY) throw new SlabError("wasm-slab: the malloc classes are fixed once malloc has been used", e);
  if (e !== 0) throw new InvalidArgumentError(`malloc classes '${set}' rejected (code ${e})`);
}

/** The import object for a C module that calls malloc & co. (compiled with c/slab_shim.c, which imports
 *  them from "wasm_slab", or with --allow-undefined, which imports them from "env"). The functions are
 *  the allocator's own Wasm exports, so a call from C is a direct Wasm-to-Wasm call. */
export function imports(heap: Heap): { env: Record<string, unknown>; wasm_slab: Record<string, unknown> } {
  const w = heap.wasm;
  const fns = {
    malloc: w.malloc,
    free: w.free,
    calloc: w.calloc,
    realloc: w.realloc,
    aligned_alloc: w.aligned_alloc,
    posix_memalign: w.posix_memalign,
    malloc_usable_size: w.malloc_usable_size,
  };
  return { env: { memory: heap.memory, ...fns }, wasm_slab: { ...fns } };
}

/** Keep a report (any env.hook(HOOK_REPORT): a bad pointer C code passed to free / realloc /
 *  malloc_usable_size, or any error a cache detected) as a typed error for heap.reports(). */
export function logReport(heap: Heap, r: DebugReport): void {
  heap.reportLog.push(reportError(r));
  if (heap.reportLog.length > MAX_REPORTS) heap.reportLog.shift();
}
