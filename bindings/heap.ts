// heap.ts — the facade of one wasm-slab heap: createAllocator() and the Heap class, whose methods
// delegate to the files that own each concept.
//
// Owns: createAllocator() (checks the options, instantiates, initialises the heap, wires the layers
// together) and the Heap's public surface. Nothing else: every method is a short delegation.
// Entry points: createAllocator(), the Heap methods (index.ts re-exports them).
// Calls down into (the bindings' layers, top to bottom; a file imports only files below it):
//   heap.ts      this facade         threads.ts   SharedHeap (shared heaps: loaded on demand)
//   cache.ts     Cache, Prefilled
//   reclaim.ts   Reclaimer: reap timer, shrinkers, memory.discard
//   malloc.ts    C-style malloc & co.     introspection.ts  stats, slabinfo, validate
//   core.ts      Core: exports, memory views, hook dispatch, cache registry, names, reports
//   wasm.ts      loading the module       options.ts        option tables and checks
//   args.ts      argument checks          errors.ts, stats.ts, generated/abi.ts (leaves)
// Invariants: a Heap's Core is made once, before any cache; every pointer the Heap returns is a u32;
// every argument is checked before the Wasm is called (args.ts), so a bad one changes nothing.
import { Abi, ErrorCodes } from "./generated/abi.js";
import { InvalidArgumentError, OutOfMemoryError, type DebugReport, type SlabError } from "./errors.js";
import { indexArg, ptrArg, u32Arg } from "./args.js";
import {
  allocatorOptions,
  cacheOptions,
  withDebugChoices,
  type AllocatorOptions,
  type CacheOptions,
} from "./options.js";
import { instantiateSlab, type SlabExports } from "./wasm.js";
import { Core, type CacheRef } from "./core.js";
import * as introspection from "./introspection.js";
import * as km from "./malloc.js";
import { Reclaimer, type ReapResult, type Shrinker } from "./reclaim.js";
import { Cache, makeCache } from "./cache.js";
import type { HeapStats } from "./stats.js";
import { footprint, type Footprint, type FootprintOptions } from "./footprint.js";

export { Cache, Prefilled } from "./cache.js";
export { CacheFlags, debugFlags } from "./options.js";
export type { AllocatorOptions, CacheOptions, DebugOptions, TuneOptions } from "./options.js";
export type { ValidateReport } from "./introspection.js";

export class Heap {
  /** The linear memory every pointer indexes. */
  readonly memory: WebAssembly.Memory;
  readonly nodes: number;
  readonly cpus: number;
  /** @internal The layers below (core.ts); tests and benches reach the instance through it. */
  readonly core: Core;
  /** @internal */ readonly reclaimer: Reclaimer;

  /** @internal Made by createAllocator. */
  constructor(core: Core) {
    this.core = core;
    this.memory = core.memory;
    this.nodes = core.nodes;
    this.cpus = core.cpus;
    this.reclaimer = new Reclaimer(core);
  }

  // ---- what tests, benches and tools read directly (the core's, under their old names) ------------
  /** @internal */ get wasm(): SlabExports { return this.core.w; }
  /** @internal Every constant of the module (generated/abi.ts). */ get L(): typeof Abi { return Abi; }
  /** @internal */ get hdr(): number { return this.core.hdr; }
  /** @internal */ get dv(): DataView { return this.core.dv; }
  /** @internal */ get hookError(): unknown { return this.core.hookError; }
  /** @internal */ u32(addr: number): number { return this.core.u32(addr); }
  /** @internal */ u64(addr: number): number { return this.core.u64(addr); }
  /** @internal */ stage(): number { return this.core.stage(); }
  /** @internal All caches, the heap's own included. */ walkCaches(): CacheRef[] { return this.core.walkCaches(); }
  /** A byte view of all of memory, valid until the next call that may grow memory. */
  get u8(): Uint8Array { return this.core.u8; }

  /** The onReport callback (may be replaced at any time). */
  get onReport(): ((report: DebugReport) => void) | undefined { return this.core.onReport; }
  set onReport(fn: ((report: DebugReport) => void) | undefined) {
    if (fn !== undefined && typeof fn !== "function") throw new InvalidArgumentError("onReport must be a function");
    this.core.onReport = fn;
    if (fn !== undefined) this.core.armHooks(); // it may run inside any call that finds an error
  }

  // ---- CPUs and nodes ----------------------------------------------------------------------------------

  /** The current (simulated) CPU. */
  get cpu(): number { return this.core.w.current_cpu(); }

  /** Run on `cpu` from now on: its arrays serve alloc and free, and new slabs come from its node. */
  pin(cpu: number): void {
    indexArg("pin", cpu, this.cpus, "CPUs");
    this.core.settle(true); // the magazines were filled on the old CPU (and maybe node)
    this.core.w.pin_cpu(cpu);
  }

  /** The node of a CPU. */
  nodeOfCpu(cpu: number): number { return this.core.w.cpu_node(indexArg("nodeOfCpu", cpu, this.cpus, "CPUs")); }

  /** The node that owns `ptr`, or -1 when ptr is not inside the heap. */
  nodeOf(ptr: number): number { return this.core.w.node_of(ptrArg("nodeOf", ptr)); }

  // ---- caches ------------------------------------------------------------------------------------------

  /** Create an object cache. Unknown options and values out of range are InvalidArgumentErrors. */
  createCache(name: string, options: CacheOptions): Cache {
    const core = this.core;
    const o = cacheOptions(name, options, core.defaultFlags);
    let addr: number;
    core.enter(); // a kmem_cache is an object: making one may run shrinkers under memory pressure
    try {
      addr = core.w.cache_create(o.size, o.align, o.flags, o.arrayCapacity) >>> 0;
    } finally {
      core.leave();
    }
    core.rethrowHook();
    if (addr === 0) {
      const code = core.w.last_error();
      if (code === ErrorCodes.NOMEM) throw new OutOfMemoryError(`cache '${name}'`, core.u32(core.hdr + Abi.H_CACHE_BYTES));
      throw new InvalidArgumentError(`cache '${name}': rejected (code ${code})`);
    }
    const cache = makeCache(this, core, this.reclaimer, name, addr, o.ctor, o.destructor, o.magazine);
    core.register(cache);
    if (o.destructor !== undefined) core.armHooks();
    return cache;
  }

  /** Every live cache the user created, in creation order. */
  caches(): Cache[] { return this.core.entries().filter((c): c is Cache => c instanceof Cache); }

  // ---- debugging ---------------------------------------------------------------------------------------

  /** The caller tag stored in the tracks of the operations that follow (a u32; default 0). */
  setCallerTag(tag: number): void { this.core.w.debug_set_tag(u32Arg("setCallerTag", tag)); }
  get callerTag(): number { return this.core.u32(this.core.hdr + Abi.H_DEBUG + Abi.DB_TAG); }
  /** A host timestamp (u32, e.g. milliseconds since start) stored in the tracks from now on. Nothing
   *  sets it by default, so simulated runs stay deterministic. */
  setTimestamp(stamp: number): void { this.core.w.debug_set_stamp(u32Arg("setTimestamp", stamp)); }
  /** The debug clock: one tick per alloc or free of a debug cache (the time in tracks). */
  get debugClock(): number { return this.core.w.debug_clock() >>> 0; }
  /** Reports made since the heap was created (each was passed to onReport). */
  get reportCount(): number { return this.core.w.debug_reports() >>> 0; }
  /** Bad pointers C code passed to free/realloc since the last call (at most 64, oldest dropped). */
  reports(): SlabError[] { return this.core.reportLog.splice(0); }

  // ---- malloc (malloc.ts): C semantics, typed errors ---------------------------------------------------

  /** malloc(n): n bytes, 16-aligned when n > 8 (8-aligned below); malloc(0) is a unique pointer. */
  malloc(n: number): number { return km.malloc(this.core, n); }
  /** calloc(n, size): zeroed; n × size beyond 32 bits is out of memory. */
  calloc(n: number, size: number): number { return km.calloc(this.core, n, size); }
  /** realloc(p, n): in place while the block still fits, else moved; realloc(0, n) = malloc(n);
   *  realloc(p, 0) frees p and returns 0. A bad p throws InvalidFreeError / DoubleFreeError. */
  realloc(p: number, n: number): number { return km.realloc(this.core, p, n); }
  /** free(p); free(0) does nothing. A bad p throws InvalidFreeError / DoubleFreeError, changing nothing. */
  free(p: number): void { km.free(this.core, p); }
  /** malloc_usable_size(p): bytes the block can hold (≥ what was asked). */
  usableSize(p: number): number { return km.usableSize(this.core, p); }
  /** aligned_alloc(align, n): align a power of two, up to 64 KiB (8 KiB for blocks above 512 KiB). */
  alignedAlloc(align: number, n: number): number { return km.alignedAlloc(this.core, align, n); }
  /** Choose malloc's size classes ('fine' by default, or the kernel's 13); only before the first malloc.
   *  A chosen set is served exactly; the default also lends a class's first blocks from a larger class. */
  setMallocClasses(set: km.MallocClasses): void { km.setMallocClasses(this.core, set); }
  /** The import object for a C module: env.memory, and malloc, free, calloc, realloc, aligned_alloc,
   *  posix_memalign, malloc_usable_size (in "env" and in "wasm_slab", where c/slab_shim.c looks). */
  imports(): { env: Record<string, unknown>; wasm_slab: Record<string, unknown> } { return km.imports(this.core); }
  /** Every byte above the heap base, by category (they sum to `total`); bindings/footprint.ts. */
  footprint(options?: FootprintOptions): Footprint { this.core.settle(false); return footprint(this.core, options); }

  // ---- figures (introspection.ts) ----------------------------------------------------------------------

  /** Memory figures: bytes grown, free pages per node, slab pages, active and total objects. */
  stats(): HeapStats {
    this.core.settle(false);
    const r = this.reclaimer;
    return introspection.heapStats(this.core, { discardSupported: r.discardSupported, counters: r.counters() });
  }
  /** `/proc/slabinfo` version 2.1 text for every cache, the heap's own included. */
  slabinfo(): string { this.core.settle(false); return introspection.slabinfo(this.core); }
  /** Check every chunk, free list, cache, slab and array. Returns a report; with { throw: true }
   *  throws a CorruptionError instead of returning a report that is not ok. */
  validate(opts: { throw?: boolean } = {}): introspection.ValidateReport { this.core.settle(false); return introspection.validate(this.core, opts); }

  // ---- reclaim (reclaim.ts) ----------------------------------------------------------------------------

  /** One reap pass now (SLAB's cache_reap) for `cpu`, default the next CPU round robin: over every
   *  cache, drain one alien array, drain ~1/5 of the CPU's arrays if untouched since its last pass, and
   *  give back ~80% of the empty slabs beyond min_partial on the CPU's node. */
  reap(cpu?: number): ReapResult { this.core.settle(true); return this.reclaimer.reap(cpu); }
  /** Shrink every cache: flush all arrays and barns, free every empty slab, sort partial slabs fullest
   *  first. Returns the pages given back to the page allocator (any cache of the node can reuse them). */
  shrink(): number {
    this.core.settle(true);
    const pages = this.core.w.heap_shrink() >>> 0;
    this.reclaimer.discardFree();
    return pages;
  }
  /** Register a shrinker, called under memory pressure after empty slabs, barns and arrays were
   *  reclaimed and before targeted reclaim. Returns a function that unregisters it. */
  registerShrinker(fn: Shrinker): () => void { return this.reclaimer.register(fn); }
  /** Stop the reap timer. The heap stays usable (heap.reap() still works). */
  close(): void { this.reclaimer.stopTimer(); }
}

/** Create a heap. Unknown options and values out of range are InvalidArgumentErrors (options.ts). */
export async function createAllocator(options: AllocatorOptions = {}): Promise<Heap> {
  const o = allocatorOptions(options);
  const threads = o.shared ? await import("./threads.js") : undefined; // loaded only for shared heaps
  const memory = o.memory ?? (threads ? threads.sharedMemory(o.maxBytes, o.heapBase ?? 0) : new WebAssembly.Memory({ initial: 1 }));
  let core: Core | undefined;
  const hook = (op: number, a: number, b: number, c: number): number => core!.hook(op, a, b, c);
  const shared = threads ? await threads.instantiateShared(memory, hook, o.debugBuild) : undefined;
  const inst = shared ?? (await instantiateSlab(memory, hook, o.debugBuild));
  const w = inst.exports;
  const heapBase = o.heapBase ?? w.data_end() >>> 0;
  const e = w.slab_init(heapBase, o.nodes, o.cpusPerNode, o.maxBytes);
  if (e === ErrorCodes.NOMEM) throw new OutOfMemoryError("the heap header", 0);
  if (e !== 0) throw new InvalidArgumentError(`init rejected (code ${e})`);
  core = new Core(memory, w, o.nodes, o.cpusPerNode, o.onOutOfMemory !== "null");
  const heap = threads ? threads.newSharedHeap(core, shared!.module, o.debugBuild) : new Heap(core);
  if (threads) threads.startShared(heap, o.thread);
  if (!o.alienArrays) w.heap_set_flags2(1);
  core.onReport = o.onReport;
  if (o.onReport !== undefined) core.armHooks();
  const defaults = withDebugChoices(w.debug_defaults() >>> 0, o.debug, o.inUseBits);
  w.debug_set_defaults(defaults);
  core.defaultFlags = defaults;
  if (o.reapIntervalMs !== false) heap.reclaimer.startTimer(o.reapIntervalMs, heap);
  return heap;
}
