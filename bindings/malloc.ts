// malloc.ts — the C allocation functions on the TS side (heap.malloc, calloc, realloc, free, usableSize,
// alignedAlloc), the import object a C module links against (heap.imports()), the reports of bad
// pointers that C code passed to free/realloc, and reading a C module's __heap_base.
//
// Owns: argument checks and error mapping for the km_* / C exports of the Wasm (assembly/kmalloc.ts).
// Entry points: the functions below, which Heap's methods call (bindings/heap.ts), and cHeapBase().
// Semantics are C's: malloc(0) returns a unique pointer; free(0) does nothing; realloc(0, n) is malloc;
// realloc(p, 0) frees p and returns 0; calloc checks n × size for overflow. Where C would return NULL
// for lack of memory, these throw OutOfMemoryError (or return 0 with onOutOfMemory: "null"); a bad
// pointer throws InvalidFreeError / DoubleFreeError, and nothing changes.
import { ErrorCode, InvalidArgumentError, OutOfMemoryError, SlabError, freeError, reportError, type DebugReport } from "./errors.js";
import type { Heap } from "./heap.js";

/** The name errors give for the malloc heap (as a cache name). */
export const MALLOC_NAME = "malloc";

/** Size-class sets for malloc (assembly/kmalloc.ts): the kernel's 13 kmalloc caches, or those plus
 *  finer steps (16 B up to 128, then eight per doubling up to 8 KiB: at most 12.5% rounding). */
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

/** The __heap_base a wasm-ld-linked C module declares (it must export it: --export=__heap_base, or
 *  --export-all): the allocator's heap must start at or above it. Read from the binary, without
 *  instantiating. Throws InvalidArgumentError when the module does not export it as a constant. */
export function cHeapBase(bytes: BufferSource): number {
  const u8 = bytes instanceof Uint8Array ? bytes : ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
  let pos = 8;
  const uleb = (): number => {
    let r = 0;
    let shift = 0;
    for (;;) {
      const b = u8[pos++]!;
      r += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return r;
    }
  };
  const sleb32 = (): number => {
    let r = 0;
    let shift = 0;
    let b: number;
    do {
      b = u8[pos++]!;
      r |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    if (shift < 32 && b & 0x40) r |= -1 << shift;
    return r;
  };
  const name = (): string => {
    const n = uleb();
    const s = new TextDecoder().decode(u8.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  let importedGlobals = 0;
  const globalInits: number[] = [];
  let exportIndex = -1;
  if (u8.length < 8 || u8[0] !== 0 || u8[1] !== 0x61 || u8[2] !== 0x73 || u8[3] !== 0x6d) {
    throw new InvalidArgumentError("cHeapBase: not a Wasm module");
  }
  while (pos < u8.length) {
    const id = u8[pos++]!;
    const size = uleb();
    const end = pos + size;
    if (id === 2) {
      // imports: count the imported globals (they come first in the global index space)
      for (let n = uleb(); n > 0; n--) {
        name();
        name();
        const kind = u8[pos++]!;
        if (kind === 0) uleb();
        else if (kind === 1) { pos++; const f = uleb(); uleb(); if (f & 1) uleb(); }
        else if (kind === 2) { const f = uleb(); uleb(); if (f & 1) uleb(); }
        else if (kind === 3) { pos += 2; importedGlobals++; }
        else if (kind === 4) { pos++; uleb(); }
      }
    } else if (id === 6) {
      for (let n = uleb(); n > 0; n--) {
        pos += 2; // value type, mutability
        const op = u8[pos++]!;
        globalInits.push(op === 0x41 ? sleb32() >>> 0 : NaN);
        while (u8[pos] !== 0x0b) pos++; // skip the rest of the init expression
        pos++;
      }
    } else if (id === 7) {
      for (let n = uleb(); n > 0; n--) {
        const nm = name();
        const kind = u8[pos++]!;
        const idx = uleb();
        if (nm === "__heap_base" && kind === 3) exportIndex = idx;
      }
    }
    pos = end;
  }
  const v = exportIndex >= importedGlobals ? globalInits[exportIndex - importedGlobals] : undefined;
  if (v === undefined || Number.isNaN(v)) {
    throw new InvalidArgumentError("cHeapBase: the module does not export __heap_base as a constant (link with -Wl,--export=__heap_base)");
  }
  return v;
}
