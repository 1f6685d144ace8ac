// heap.ts — the TS face of one wasm-slab heap: topology, pinning, caches, stats, slabinfo, validate.
//
// Owns: the Wasm instance, the memory, views over it (re-taken whenever memory has grown: a grow
// detaches the old ArrayBuffer), the registry of Cache objects by cache id (for host hooks and names),
// and option defaults. Entry point: createAllocator() (index.ts re-exports it). Reclaim (reap timer,
// shrinkers, destructors, memory.discard) is driven from bindings/reclaim.ts through heap.reclaimer.
import {
  CacheBusyError,
  CacheDestroyedError,
  CorruptionError,
  ErrorCode,
  InvalidArgumentError,
  OutOfMemoryError,
  SlabError,
  freeError,
  reportError,
  reportKind,
  type DebugReport,
  type LiveObject,
  type Track,
  type Tracks,
  type ValidateProblem,
} from "./errors.js";
import { STAT_NAMES, zeroCounters, type CacheStats, type Counters, type HeapStats } from "./stats.js";
import { instantiateSlab, type SlabExports } from "./wasm.js";
import {
  DEFAULT_REAP_INTERVAL_MS,
  Reclaimer,
  discardBounds,
  type Destructor,
  type ReapOptions,
  type ReapResult,
  type Shrinker,
} from "./reclaim.js";
import * as km from "./malloc.js";
import { footprint, type Footprint, type FootprintOptions } from "./footprint.js";

/** Options of createAllocator(). Every field is optional; the defaults are in the comments. */
export interface AllocatorOptions {
  /** Simulated NUMA nodes (1..8). Default 1. */
  nodes?: number;
  /** CPUs on each node (nodes × cpusPerNode ≤ 64). Default 1. */
  cpusPerNode?: number;
  /** Budget: bytes of chunks the heap may grow to. Default: all of wasm32 (4 GiB). */
  maxBytes?: number;
  /** Lowest address the heap may write (an embedder's data and stack lie below). Default: the end of
   *  the allocator module's own static data. */
  heapBase?: number;
  /** Memory to use. Default: a new WebAssembly.Memory. */
  memory?: WebAssembly.Memory;
  /** Use the debug build of the Wasm (assertions on). Default false. */
  debugBuild?: boolean;
  /** What alloc does when memory runs out: 'throw' an OutOfMemoryError (default) or return 'null' (0). */
  onOutOfMemory?: "throw" | "null";
  /** Alien arrays for frees of another node's objects. Default true. false: each such free takes the
   *  remote node's lock (to measure the difference). */
  alienArrays?: boolean;
  /** Debugging for every cache created afterwards (the heap's kmalloc caches included): true turns on
   *  red zones, poisoning, tracking and checks; an object picks some. Default: none. A cache's own
   *  `debug` / `inUseBits` options replace these defaults for that cache. */
  debug?: boolean | DebugOptions;
  /** Per-object in-use bits (double frees of objects parked in per-CPU arrays are caught) for every
   *  cache created afterwards. Default false (see README: the measured fast-path cost). */
  inUseBits?: boolean;
  /** Called for every error the allocator detects (red zone, poison, double or invalid free, failed
   *  check), before the operation returns; the TS call then throws the matching error too. It may call
   *  into the heap. An exception it throws is rethrown by the operation. */
  onReport?: (report: DebugReport) => void;
  /** Periodic reaping on an unref'd timer: one CPU per pass, round robin. Default { intervalMs: 2000 };
   *  false disables it (heap.reap() still runs a pass). Stop it with heap.close(). */
  reap?: ReapOptions | false;
}

/** Debug features of a cache (assembly/debug.ts; slot layout drawn in assembly/layout.ts). Debug caches
 *  take the slow path, without per-CPU arrays. */
export interface DebugOptions {
  /** Guard bytes before and after each object, checked on free, on alloc and by validate. */
  redZone?: boolean;
  /** Free objects filled with 0x6b (last byte 0xa5), checked on alloc: a write after free is reported.
   *  Ignored for caches with a constructor or reclaimable caches (their free objects keep their bytes). */
  poison?: boolean;
  /** An alloc and a free track per object: caller tag, CPU, node, logical time, host timestamp. */
  storeUser?: boolean;
  /** Consistency checks of the object's slab on every alloc and free. */
  checks?: boolean;
}

/** Cache flags (assembly/layout.ts F_*). */
export const CacheFlags = {
  CTOR: 1 << 0,
  RECLAIMABLE: 1 << 1,
  RED_ZONE: 1 << 2,
  POISON: 1 << 3,
  STORE_USER: 1 << 4,
  CHECKS: 1 << 5,
  NO_ALIEN: 1 << 7,
  /** Per-object in-use bit (catches double frees of objects parked in per-CPU arrays). */
  INUSE: 1 << 8,
} as const;

const DEBUG_FLAGS = CacheFlags.RED_ZONE | CacheFlags.POISON | CacheFlags.STORE_USER | CacheFlags.CHECKS;
const F_EXACT = 1 << 9;

/** CacheFlags bits of a debug option. */
export function debugFlags(d: boolean | DebugOptions | undefined): number {
  if (d === undefined || d === false) return 0;
  if (d === true) return DEBUG_FLAGS;
  if (typeof d !== "object" || d === null) throw new InvalidArgumentError(`debug: expected a boolean or an object`);
  return (
    (d.redZone ? CacheFlags.RED_ZONE : 0) |
    (d.poison ? CacheFlags.POISON : 0) |
    (d.storeUser ? CacheFlags.STORE_USER : 0) |
    (d.checks ? CacheFlags.CHECKS : 0)
  );
}

export interface CacheOptions {
  /** Object size in bytes (1 .. 32768). */
  size: number;
  /** Alignment, a power of two ≤ 4096. Default 8. */
  align?: number;
  /** CacheFlags bits. Default 0. */
  flags?: number;
  /** Called once for each object when its slab is made; a constructed object keeps its state across
   *  free and alloc (free objects are never written). */
  ctor?: (ptr: number) => void;
  /** Per-CPU array capacity; 0 turns arrays off. Default by object size: ≥4096 B: 8, ≥1024: 12,
   *  ≥256: 26, else 60 (bench/capacity.mjs). Debug caches have none. */
  arrayCapacity?: number;
  /** Debugging for this cache (replaces the heap's `debug` default). */
  debug?: boolean | DebugOptions;
  /** Per-object in-use bits for this cache (replaces the heap's `inUseBits` default). */
  inUseBits?: boolean;
  /** Makes the cache reclaimable (targeted reclaim, cache.reclaim(pages)). The first u32 of every
   *  object is then a reference count: 0 free, 1 unused but cached, > 1 in use; new objects start at 0,
   *  and cache.free() sets it to 0. The destructor runs for an object (count 1) that reclaim frees: it
   *  must drop the owner's references and not free the object. */
  reclaim?: { destructor: Destructor };
}

const HOOK_CTOR = 1;
const HOOK_DTOR = 2;
const HOOK_SHRINK = 3;
const HOOK_REPORT = 4;
const DEFAULT_CAP = 0xffffffff;

export class Heap {
  /** The linear memory every pointer indexes. */
  readonly memory: WebAssembly.Memory;
  readonly nodes: number;
  readonly cpus: number;
  /** @internal */ readonly wasm: SlabExports;
  /** @internal */ readonly L: Record<string, number>;
  /** @internal */ readonly hdr: number;
  /** @internal */ readonly oomThrows: boolean;
  /** @internal */ hookError: unknown = undefined;
  /** The onReport callback (may be replaced at any time). */
  onReport: ((report: DebugReport) => void) | undefined = undefined;
  /** @internal */ defaultFlags = 0;
  /** @internal */ readonly reclaimer: Reclaimer;
  /** @internal Reported errors, as typed errors (heap.reports(); bindings/malloc.ts). */ reportLog: SlabError[] = [];
  #byId = new Map<number, Cache>();
  #internalNames = new Map<number, string>();
  #stage = 0;
  #u8: Uint8Array;
  #dv: DataView;

  /** @internal */
  constructor(memory: WebAssembly.Memory, wasm: SlabExports, L: Record<string, number>, opts: Required<Pick<AllocatorOptions, "nodes" | "cpusPerNode" | "onOutOfMemory">>) {
    this.memory = memory;
    this.wasm = wasm;
    this.L = L;
    this.nodes = opts.nodes;
    this.cpus = opts.nodes * opts.cpusPerNode;
    this.hdr = wasm.heap_addr();
    this.oomThrows = opts.onOutOfMemory !== "null";
    this.reclaimer = new Reclaimer(this);
    this.#u8 = new Uint8Array(memory.buffer);
    this.#dv = new DataView(memory.buffer);
  }

  /** A byte view of all of memory, valid until the next call that may grow memory. */
  get u8(): Uint8Array {
    if (this.#u8.buffer !== this.memory.buffer) this.#refresh();
    return this.#u8;
  }

  /** @internal */ get dv(): DataView {
    if (this.#dv.buffer !== this.memory.buffer) this.#refresh();
    return this.#dv;
  }

  #refresh(): void {
    this.#u8 = new Uint8Array(this.memory.buffer);
    this.#dv = new DataView(this.memory.buffer);
  }

  /** @internal */ u32(addr: number): number {
    return this.dv.getUint32(addr, true);
  }

  /** @internal */ u64(addr: number): number {
    const dv = this.dv;
    return dv.getUint32(addr, true) + dv.getUint32(addr + 4, true) * 2 ** 32;
  }

  /** The current (simulated) CPU. */
  get cpu(): number {
    return this.wasm.current_cpu();
  }

  /** Run on `cpu` from now on: its arrays serve alloc and free, and new slabs come from its node. */
  pin(cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.cpus) {
      throw new InvalidArgumentError(`pin(${cpu}): CPUs are 0..${this.cpus - 1}`);
    }
    this.wasm.pin_cpu(cpu);
  }

  /** The node of a CPU. */
  nodeOfCpu(cpu: number): number {
    return this.wasm.cpu_node(cpu);
  }

  /** The node that owns `ptr`, or -1 when ptr is not inside the heap. */
  nodeOf(ptr: number): number {
    return this.wasm.node_of(ptr >>> 0);
  }

  /** Create an object cache. */
  createCache(name: string, options: CacheOptions): Cache {
    if (typeof name !== "string" || name.length === 0) throw new InvalidArgumentError("a cache needs a name");
    const { size, align = 8, ctor, arrayCapacity } = options;
    let flags = options.flags ?? 0;
    if (options.debug !== undefined || options.inUseBits !== undefined) {
      // Exact flags: the cache's own choices replace the heap-wide defaults.
      let base = this.defaultFlags;
      if (options.debug !== undefined) base = (base & ~DEBUG_FLAGS) | debugFlags(options.debug);
      if (options.inUseBits !== undefined) base = (base & ~CacheFlags.INUSE) | (options.inUseBits ? CacheFlags.INUSE : 0);
      flags |= base | F_EXACT;
    }
    if (!Number.isInteger(size) || size < 1 || size > this.L.MAX_OBJECT_SIZE!) {
      throw new InvalidArgumentError(`cache '${name}': size ${size} is not in 1..${this.L.MAX_OBJECT_SIZE}`);
    }
    if (!Number.isInteger(align) || align < 1 || align > 4096 || (align & (align - 1)) !== 0) {
      throw new InvalidArgumentError(`cache '${name}': align ${align} is not a power of two ≤ 4096`);
    }
    if (!Number.isInteger(flags) || (flags & ~this.L.F_USER_MASK!) !== 0) {
      throw new InvalidArgumentError(`cache '${name}': unknown flags 0x${flags.toString(16)}`);
    }
    if (arrayCapacity !== undefined && (!Number.isInteger(arrayCapacity) || arrayCapacity < 0 || arrayCapacity > this.L.MAX_ARRAY_CAP!)) {
      throw new InvalidArgumentError(`cache '${name}': arrayCapacity ${arrayCapacity} is not in 0..${this.L.MAX_ARRAY_CAP}`);
    }
    if (ctor !== undefined && typeof ctor !== "function") throw new InvalidArgumentError(`cache '${name}': ctor must be a function`);
    if (ctor) flags |= CacheFlags.CTOR;
    const destructor = options.reclaim?.destructor;
    if (options.reclaim !== undefined || (flags & CacheFlags.RECLAIMABLE) !== 0) {
      if (typeof destructor !== "function") throw new InvalidArgumentError(`cache '${name}': a reclaimable cache needs reclaim.destructor (a function)`);
      if (size < 4) throw new InvalidArgumentError(`cache '${name}': a reclaimable object holds a u32 count: size ≥ 4`);
      flags |= CacheFlags.RECLAIMABLE;
    }
    const addr = this.wasm.cache_create(size, align, flags, arrayCapacity ?? DEFAULT_CAP);
    if (addr === 0) {
      const code = this.wasm.last_error();
      if (code === ErrorCode.NOMEM) throw new OutOfMemoryError(`cache '${name}'`, this.u32(this.hdr + this.L.H_CACHE_BYTES!));
      throw new InvalidArgumentError(`cache '${name}': rejected (code ${code})`);
    }
    const cache = new Cache(this, name, addr, ctor);
    cache.destructor = destructor;
    this.#byId.set(cache.id, cache);
    if (destructor !== undefined) this.armHooks();
    return cache;
  }

  /** @internal Shrinkers or destructors exist: any allocation may run them (pressure reclaim), so every
   *  cache takes the careful path that rethrows their exceptions. */
  hooksArmed = false;
  /** @internal */ armHooks(): void {
    if (this.hooksArmed) return;
    this.hooksArmed = true;
    for (const c of this.#byId.values()) c.beCareful();
  }

  /** @internal */ forget(cache: Cache): void {
    this.#byId.delete(cache.id);
  }

  /** @internal The env.hook import: constructors, reports, destructors (targeted reclaim) and shrinkers
   *  (memory pressure). */
  hook(op: number, a: number, b: number, c: number): number {
    try {
      if (op === HOOK_CTOR) {
        this.#byId.get(a)?.ctor?.(b);
        return 0;
      }
      if (op === HOOK_REPORT) {
        const r = this.report(a, b, c);
        km.logReport(this, r);
        this.onReport?.(r);
        return 0;
      }
      if (op === HOOK_DTOR) {
        const d = this.#byId.get(a)?.destructor;
        if (d === undefined) return 1; // no destructor: the object is not freed
        d(b);
        return 0;
      }
      if (op === HOOK_SHRINK) return this.reclaimer.shrink(a, b);
    } catch (e) {
      // Never let a JS exception unwind through the allocator mid-operation: keep the first one and
      // rethrow it when the Wasm call has finished (see Cache.alloc).
      if (this.hookError === undefined) this.hookError = e;
      if (op === HOOK_DTOR) return 1; // the destructor failed: reclaim keeps the object and stops
    }
    return 0;
  }

  /** @internal Throw a hook's pending exception, if any. */
  rethrowHook(): void {
    if (this.hookError !== undefined) {
      const e = this.hookError;
      this.hookError = undefined;
      throw e;
    }
  }

  /** @internal The report of error `code` about `ptr` in the cache at `cacheAddr`, with the detail the
   *  Wasm left in the heap header (valid during the report hook and right after the failed call). */
  report(code: number, ptr: number, cacheAddr: number): DebugReport {
    const w = this.wasm;
    ptr >>>= 0; // i32 at the boundary
    cacheAddr >>>= 0;
    return {
      code,
      kind: reportKind(code),
      cache: cacheAddr === 0 ? km.MALLOC_NAME : this.cacheName(cacheAddr),
      ptr,
      offset: w.last_error_offset(),
      found: w.last_error_found(),
      expected: w.last_error_expected(),
      tracks: reportKind(code) === "invalid-free" ? undefined : this.tracksAt(cacheAddr, ptr),
    };
  }

  /** @internal The report of the last failed call (from the error detail in the heap header). */
  lastReport(code: number): DebugReport {
    return this.report(code, this.wasm.last_error_addr(), this.wasm.last_error_cache());
  }

  /** @internal Name of the cache at `addr`. */
  cacheName(addr: number): string {
    // (a C caller's handle may be garbage: check the bounds before the Wasm reads it)
    if (addr + this.L.C_HDR! > this.memory.buffer.byteLength || !this.wasm.cache_valid(addr)) return `cache@0x${addr.toString(16)}`;
    const user = this.#byId.get(this.u32(addr + this.L.C_ID!));
    if (user && user.addr === addr) return user.name;
    return this.walkCaches().find((c) => c.addr === addr)?.name ?? `cache@0x${addr.toString(16)}`;
  }

  /** @internal The tracks of object `ptr` of the cache at `cacheAddr`, if that cache stores them. */
  tracksAt(cacheAddr: number, ptr: number): Tracks | undefined {
    if (cacheAddr + this.L.C_HDR! > this.memory.buffer.byteLength) return undefined;
    const a = this.wasm.debug_track(cacheAddr, ptr >>> 0, 0) >>> 0;
    if (a === 0 || a + 2 * this.L.TRACK_SIZE! > this.memory.buffer.byteLength) return undefined;
    const L = this.L;
    const one = (t: number): Track | undefined => {
      const dv = this.dv;
      if (dv.getUint8(t + L.T_SET!) === 0) return undefined;
      return {
        tag: dv.getUint32(t + L.T_TAG!, true),
        cpu: dv.getUint16(t + L.T_CPU!, true),
        node: dv.getUint8(t + L.T_NODE!),
        clock: dv.getUint32(t + L.T_CLOCK!, true),
        stamp: dv.getUint32(t + L.T_STAMP!, true),
      };
    };
    const alloc = one(a);
    const free = one(a + L.TRACK_SIZE!);
    if (!alloc && !free) return {};
    return { alloc, free };
  }

  /** The caller tag stored in the tracks of the operations that follow (a u32; default 0). */
  setCallerTag(tag: number): void {
    if (!Number.isInteger(tag) || tag < 0 || tag >= 2 ** 32) throw new InvalidArgumentError(`setCallerTag(${tag}): not a u32`);
    this.wasm.debug_set_tag(tag);
  }

  get callerTag(): number {
    return this.u32(this.hdr + this.L.H_DEBUG! + this.L.DB_TAG!);
  }

  /** A host timestamp (u32, e.g. milliseconds since start) stored in the tracks from now on. Nothing
   *  sets it by default, so simulated runs stay deterministic. */
  setTimestamp(stamp: number): void {
    this.wasm.debug_set_stamp(stamp >>> 0);
  }

  /** The debug clock: one tick per alloc or free of a debug cache (the time in tracks). */
  get debugClock(): number {
    return this.wasm.debug_clock();
  }

  /** Reports made since the heap was created (each was passed to onReport). */
  get reportCount(): number {
    return this.wasm.debug_reports();
  }

  /** Every live cache the user created, in creation order. */
  caches(): Cache[] {
    return [...this.#byId.values()];
  }

  /** @internal All caches, the heap's own included, by walking the Wasm list. */
  walkCaches(): { addr: number; name: string; cache?: Cache }[] {
    const out: { addr: number; name: string; cache?: Cache }[] = [];
    const L = this.L;
    const sheafBase = this.hdr + L.H_SHEAF_CACHES!;
    const sheafNames = new Map<number, string>();
    for (let k = 0; k < L.SHEAF_CLASSES!; k++) {
      const a = this.u32(sheafBase + 4 * k);
      if (a) sheafNames.set(a, `sheaf-${1 << (L.SHEAF_MIN_SHIFT! + k)}`);
    }
    for (let c = this.wasm.cache_head(); c !== 0; c = this.u32(c + L.C_NEXT!)) {
      const id = this.u32(c + L.C_ID!);
      const user = this.#byId.get(id);
      const name = user?.name ?? (c === this.hdr + L.H_BOOT! ? "kmem_cache" : (sheafNames.get(c) ?? this.internalName(c)));
      out.push({ addr: c, name, cache: user });
    }
    return out;
  }

  /** @internal Name of a heap-owned cache: kmalloc-N for malloc's size classes. */
  internalName(addr: number): string {
    if (addr === this.u32(this.hdr + this.L.H_DEBUG! + this.L.DB_QUAR_CACHE!)) return "quarantine"; // debug.ts
    const size = this.u32(addr + this.L.C_SIZE!);
    if (this.u32(addr + this.L.C_FLAGS!) & this.L.F_KMALLOC!) return `kmalloc-${size}`;
    return this.#internalNames.get(addr) ?? `internal-${size}`;
  }

  // ---- malloc (bindings/malloc.ts): C semantics, typed errors ----

  /** malloc(n): n bytes, 16-aligned when n > 8 (8-aligned below); malloc(0) is a unique pointer. */
  malloc(n: number): number { return km.malloc(this, n); }
  /** calloc(n, size): zeroed; n × size beyond 32 bits is out of memory. */
  calloc(n: number, size: number): number { return km.calloc(this, n, size); }
  /** realloc(p, n): in place while the block still fits, else moved; realloc(0, n) = malloc(n);
   *  realloc(p, 0) frees p and returns 0. A bad p throws InvalidFreeError / DoubleFreeError. */
  realloc(p: number, n: number): number { return km.realloc(this, p, n); }
  /** free(p); free(0) does nothing. A bad p throws InvalidFreeError / DoubleFreeError, changing nothing. */
  free(p: number): void { km.free(this, p); }
  /** malloc_usable_size(p): bytes the block can hold (≥ what was asked). */
  usableSize(p: number): number { return km.usableSize(this, p); }
  /** aligned_alloc(align, n): align a power of two, up to 64 KiB (8 KiB for blocks above 512 KiB). */
  alignedAlloc(align: number, n: number): number { return km.alignedAlloc(this, align, n); }
  /** Choose malloc's size classes ('fine' by default, or the kernel's 13); only before the first malloc. */
  setMallocClasses(set: km.MallocClasses): void { km.setMallocClasses(this, set); }
  /** The import object for a C module: env.memory, and malloc, free, calloc, realloc, aligned_alloc,
   *  posix_memalign, malloc_usable_size (in "env" and in "wasm_slab", where c/slab_shim.c looks). */
  imports(): { env: Record<string, unknown>; wasm_slab: Record<string, unknown> } { return km.imports(this); }
  /** Every byte above the heap base, by category (they sum to `total`); bindings/footprint.ts. */
  footprint(options?: FootprintOptions): Footprint { return footprint(this, options); }
  /** Bad pointers C code passed to free/realloc since the last call (at most 64, oldest dropped). */
  reports(): SlabError[] { return this.reportLog.splice(0); }

  /** @internal */ nameInternal(addr: number, name: string): void {
    this.#internalNames.set(addr, name);
  }

  /** @internal A staging buffer of STAGE_BYTES in linear memory for bulk calls. */
  stage(): number {
    if (this.#stage === 0) {
      const p = this.wasm.stage_alloc();
      if (p === 0) throw new OutOfMemoryError("the bulk staging buffer", this.L.STAGE_BYTES!);
      this.#stage = p;
      this.nameInternal(this.lastCache(), "bulk-stage"); // stage_alloc just created that cache
    }
    return this.#stage;
  }

  /** @internal The most recently created cache (the tail of the Wasm list). */
  lastCache(): number {
    let last = 0;
    for (let c = this.wasm.cache_head(); c !== 0; c = this.u32(c + this.L.C_NEXT!)) last = c;
    return last;
  }

  /** Memory figures: bytes grown, free pages per node, slab pages, active and total objects. */
  stats(): HeapStats {
    const L = this.L;
    const chunks = this.u32(this.hdr + L.H_NCHUNKS!);
    const chunkBase = this.u32(this.hdr + L.H_CHUNK_BASE!);
    const freePages: number[] = [];
    const slabPages: number[] = [];
    const largePages: number[] = [];
    for (let n = 0; n < this.nodes; n++) {
      const node = this.hdr + L.H_NODES! + n * L.NODE_SIZE!;
      freePages.push(this.u32(node + L.N_FREE_PAGES!));
      slabPages.push(this.u32(node + L.N_SLAB_PAGES!));
      largePages.push(this.u32(node + L.N_LARGE_PAGES!));
    }
    let active = 0;
    let total = 0;
    for (const c of this.walkCaches()) {
      active += this.wasm.cache_live(c.addr);
      total += this.totalObjects(c.addr);
    }
    let freeChunks = 0;
    for (let n = 0; n < this.nodes; n++) freeChunks += this.u32(this.hdr + L.H_NODES! + n * L.NODE_SIZE! + L.N_NR_FREE_CHUNKS!);
    const freeBytes = freePages.reduce((a, b) => a + b, 0) * L.PAGE_SIZE!;
    // The top chunk's free pages may not be committed yet (blocks are committed as they are handed out);
    // only the top chunk can be partly committed, and a discard of it covered only its committed part.
    const heapEnd = chunkBase + chunks * L.CHUNK_SIZE!;
    const uncommitted = Math.max(0, heapEnd - this.memory.buffer.byteLength);
    const top = chunkBase + (chunks - 1) * L.CHUNK_SIZE!;
    const topDiscarded = chunks > 0 && this.u8[top + L.CH_STATE!] === L.CS_FREE && this.u8[top + L.CH_DISCARDED!] !== 0;
    const { tail } = discardBounds(chunkBase, L.DISCARD_SKIP!); // a discard ends `tail` bytes before a chunk's end
    const discardedBytes = this.wasm.discarded_chunks() * (L.CHUNK_SIZE! - L.DISCARD_SKIP!) - (topDiscarded ? Math.max(0, uncommitted - tail) : 0);
    return {
      bytesGrown: chunks * L.CHUNK_SIZE!,
      committedBytes: Math.min(heapEnd, this.memory.buffer.byteLength) - this.hdr,
      headerBytes: chunkBase - this.hdr,
      chunks,
      freePages,
      slabPages,
      largePages,
      activeObjects: active,
      totalObjects: total,
      freeChunkBytes: freeChunks * L.CHUNK_SIZE!,
      discardedBytes,
      freeCommittedBytes: freeBytes - discardedBytes - uncommitted,
      discardSupported: this.reclaimer.discardSupported,
      reclaim: this.reclaimer.counters(),
    };
  }

  /** One reap pass now (SLAB's cache_reap) for `cpu`, default the next CPU round robin: over every
   *  cache, drain one alien array, drain ~1/5 of the CPU's arrays if untouched since its last pass, and
   *  give back ~80% of the empty slabs beyond min_partial on the CPU's node. */
  reap(cpu?: number): ReapResult {
    return this.reclaimer.reap(cpu);
  }

  /** Shrink every cache: flush all arrays and barns, free every empty slab, sort partial slabs fullest
   *  first. Returns the pages given back to the page allocator (any cache of the node can reuse them). */
  shrink(): number {
    const pages = this.wasm.heap_shrink();
    this.reclaimer.discardFree();
    return pages;
  }

  /** Register a shrinker, called under memory pressure after empty slabs, barns and arrays were
   *  reclaimed and before targeted reclaim. Returns a function that unregisters it. */
  registerShrinker(fn: Shrinker): () => void {
    return this.reclaimer.register(fn);
  }

  /** Stop the reap timer. The heap stays usable (heap.reap() still works). */
  close(): void {
    this.reclaimer.stopTimer();
  }

  /** @internal */ totalObjects(addr: number): number {
    let t = 0;
    for (let n = 0; n < this.nodes; n++) t += this.u32(addr + this.L.C_HDR! + n * this.L.CN_SIZE! + this.L.CN_TOTAL_OBJECTS!);
    return t;
  }

  /** @internal */ counters(addr: number): { sum: Counters; perCpu: Counters[] } {
    const L = this.L;
    const cpuOff = this.u32(this.hdr + L.H_CPU_OFF!);
    const sum = zeroCounters();
    const perCpu: Counters[] = [];
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      const base = addr + cpuOff + cpu * L.CC_SIZE! + L.CC_STATS!;
      const c = zeroCounters();
      STAT_NAMES.forEach((name, i) => {
        const v = this.u64(base + 8 * i);
        c[name] = v;
        sum[name] += v;
      });
      perCpu.push(c);
    }
    return { sum, perCpu };
  }

  /** `/proc/slabinfo` version 2.1 text for every cache, the heap's own included. */
  slabinfo(): string {
    const L = this.L;
    const lines = [
      "slabinfo - version: 2.1",
      "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>",
    ];
    for (const c of this.walkCaches()) {
      const a = c.addr;
      const objs = this.u32(a + L.C_OBJECTS!);
      const total = this.totalObjects(a);
      const active = this.wasm.cache_live(a);
      let slabs = 0;
      let activeSlabs = 0;
      for (let n = 0; n < this.nodes; n++) {
        const cn = a + L.C_HDR! + n * L.CN_SIZE!;
        const p = this.u32(cn + L.CN_NR_PARTIAL!);
        const f = this.u32(cn + L.CN_NR_FULL!);
        const e = this.u32(cn + L.CN_NR_EMPTY!);
        slabs += p + f + e;
        activeSlabs += p + f;
      }
      const cap = this.u32(a + L.C_ARRAY_CAP!);
      const batch = this.u32(a + L.C_BATCH!);
      lines.push(
        `${c.name.padEnd(17)} ${String(active).padStart(6)} ${String(total).padStart(6)} ${String(this.u32(a + L.C_SIZE!)).padStart(6)} ${String(objs).padStart(4)} ${String(1 << this.u32(a + L.C_ORDER!)).padStart(4)} : tunables ${String(cap).padStart(4)} ${String(batch).padStart(4)} ${String(0).padStart(4)} : slabdata ${String(activeSlabs).padStart(6)} ${String(slabs).padStart(6)} ${String(0).padStart(6)}`,
      );
    }
    return lines.join("\n") + "\n";
  }

  /** Check every chunk, free list, cache, slab and array. Returns a report; with { throw: true }
   *  throws a CorruptionError instead of returning a report that is not ok. */
  validate(opts: { throw?: boolean } = {}): ValidateReport {
    const total = this.wasm.heap_validate();
    const L = this.L;
    const problems: ValidateProblem[] = [];
    const kinds: Record<number, string> = {
      100: "page-cover", 101: "free-list", 102: "free-count", 103: "slab-list",
      104: "slab-count", 105: "tail", 106: "array", 107: "barn",
      108: "red-zone", 109: "poison", 110: "quarantine", 111: "in-use",
    };
    const names = new Map(this.walkCaches().map((c) => [c.addr, c.name]));
    for (let i = 0; i < Math.min(total, L.REPORT_MAX!); i++) {
      const e = this.hdr + L.H_REPORT! + i * L.REPORT_ENTRY!;
      const code = this.dv.getInt32(e, true);
      const cacheAddr = this.u32(e + 8);
      problems.push({ kind: kinds[code] ?? `code-${code}`, addr: this.u32(e + 4), cache: cacheAddr ? names.get(cacheAddr) : undefined });
    }
    const report: ValidateReport = { ok: total === 0, problemCount: total, problems };
    if (!report.ok && opts.throw) throw new CorruptionError(problems, total);
    return report;
  }
}

export interface ValidateReport {
  ok: boolean;
  problemCount: number;
  /** The first problems (at most 64). */
  problems: ValidateProblem[];
}

/** An object cache: fixed-size objects from slabs, through per-CPU arrays. */
export class Cache {
  readonly heap: Heap;
  readonly name: string;
  /** The kmem_cache's address in linear memory (its handle at the Wasm ABI). */
  readonly addr: number;
  readonly id: number;
  /** @internal */ readonly ctor?: (ptr: number) => void;
  /** @internal The destructor of a reclaimable cache. */ destructor?: Destructor;
  #dead = false;
  /** Destroyed, or has a constructor (whose exceptions are rethrown after the Wasm call): take the
   *  checked path. Keeps the common alloc/free to one test and one Wasm call. */
  #careful: boolean;
  readonly #w: SlabExports;

  /** @internal */
  constructor(heap: Heap, name: string, addr: number, ctor?: (ptr: number) => void) {
    this.heap = heap;
    this.name = name;
    this.addr = addr;
    this.id = heap.u32(addr + heap.L.C_ID!);
    this.ctor = ctor;
    // debug caches too: a report made during a successful free (a corrupted free object found before its
    // slab empties) may have run an onReport that threw
    // ... and every cache of a heap with shrinkers or destructors: they may run inside any allocation
    // (memory pressure), and their exceptions are rethrown by it.
    this.#careful = ctor !== undefined || (heap.u32(addr + heap.L.C_FLAGS!) & DEBUG_FLAGS) !== 0 || heap.hooksArmed;
    this.#w = heap.wasm;
  }

  get destroyed(): boolean {
    return this.#dead;
  }

  /** @internal Take the checked path from now on (heap.armHooks). */
  beCareful(): void {
    this.#careful = true;
  }

  /** Bytes the user asked for. */
  get size(): number {
    return this.heap.u32(this.addr + this.heap.L.C_SIZE!);
  }

  /** Distance between objects in a slab. */
  get stride(): number {
    return this.heap.u32(this.addr + this.heap.L.C_STRIDE!);
  }

  get align(): number {
    return this.heap.u32(this.addr + this.heap.L.C_ALIGN!);
  }

  get order(): number {
    return this.heap.u32(this.addr + this.heap.L.C_ORDER!);
  }

  get objectsPerSlab(): number {
    return this.heap.u32(this.addr + this.heap.L.C_OBJECTS!);
  }

  get arrayCapacity(): number {
    return this.heap.u32(this.addr + this.heap.L.C_ARRAY_CAP!);
  }

  /** Created with the reclaim option (CacheFlags.RECLAIMABLE): objects carry a reference count. */
  get reclaimable(): boolean {
    return this.destructor !== undefined;
  }

  #check(): void {
    if (this.#dead) throw new CacheDestroyedError(this.name);
  }

  #oom(): number {
    const h = this.heap;
    h.rethrowHook();
    const code = h.wasm.last_error();
    if (code !== ErrorCode.NOMEM && code !== ErrorCode.OK) throw reportError(h.lastReport(code)); // debug cache
    if (h.oomThrows) throw new OutOfMemoryError(`an object of cache '${this.name}'`, this.size);
    return 0;
  }

  /** Allocate one object on the current CPU. Returns its address (or 0 with onOutOfMemory 'null'). */
  alloc(): number {
    if (this.#careful) return this.#allocCareful();
    const p = this.#w.cache_alloc(this.addr);
    return p === 0 ? this.#oom() : p;
  }

  // alloc for a destroyed cache or one whose constructor may throw.
  #allocCareful(): number {
    this.#check();
    const p = this.heap.wasm.cache_alloc(this.addr);
    if (this.heap.hookError !== undefined) this.#hookFailed(p);
    return p === 0 ? this.#oom() : p;
  }

  /** Allocate one object from `node`'s memory (falling back to other nodes when it has none). */
  allocNode(node: number): number {
    this.#check();
    if (!Number.isInteger(node) || node < 0 || node >= this.heap.nodes) {
      throw new InvalidArgumentError(`allocNode(${node}): nodes are 0..${this.heap.nodes - 1}`);
    }
    const p = this.heap.wasm.cache_alloc_node(this.addr, node);
    if (this.heap.hookError !== undefined) this.#hookFailed(p);
    return p === 0 ? this.#oom() : p;
  }

  #hookFailed(p: number): never {
    if (p !== 0) this.heap.wasm.cache_free(this.addr, p);
    this.heap.rethrowHook();
    throw new SlabError("wasm-slab: a constructor failed", ErrorCode.INVALID);
  }

  /** Free an object of this cache. Throws InvalidFreeError / DoubleFreeError and changes nothing when
   *  `ptr` is not an allocated object of this cache. */
  free(ptr: number): void {
    if (this.#careful) return this.#freeCareful(ptr);
    const e = this.#w.cache_free(this.addr, ptr >>> 0);
    if (e !== 0) this.#freeFailed(e);
  }

  // free for a destroyed cache, one whose hooks may throw, or a reclaimable one (the count word is set to
  // 0 before the free: the reclaim protocol).
  #freeCareful(ptr: number): void {
    this.#check();
    const e = this.destructor === undefined
      ? this.#w.cache_free(this.addr, ptr >>> 0)
      : this.#w.reclaim_free(this.addr, ptr >>> 0);
    if (e !== 0) this.#freeFailed(e);
    this.heap.rethrowHook();
  }

  #freeFailed(e: number): never {
    const h = this.heap;
    const r = h.lastReport(e);
    h.rethrowHook();
    throw reportError(r);
  }

  /** The effective cache flags (CacheFlags bits), after heap defaults and conflicts are applied. */
  get flags(): number {
    return this.heap.u32(this.addr + this.heap.L.C_FLAGS!);
  }

  /** Objects quarantined: found corrupted, kept out of circulation for good (not live). */
  get quarantined(): number {
    this.#check();
    return this.heap.wasm.cache_quarantined(this.addr);
  }

  /** The alloc/free tracks of one of this cache's objects (undefined without storeUser). */
  tracks(ptr: number): Tracks | undefined {
    this.#check();
    return this.heap.tracksAt(this.addr, ptr);
  }

  /** Allocate n objects, all or nothing (throws OutOfMemoryError, having taken none). Objects move in
   *  batches: from the CPU's array, then straight from the slabs. */
  allocBulk(n: number): Uint32Array {
    this.#check();
    if (!Number.isInteger(n) || n < 0 || n > 2 ** 28) throw new InvalidArgumentError(`allocBulk(${n})`);
    const h = this.heap;
    const stage = h.stage();
    const per = h.L.STAGE_BYTES! >>> 2;
    const out = new Uint32Array(n);
    let done = 0;
    while (done < n) {
      const k = Math.min(per, n - done);
      const got = h.wasm.cache_alloc_bulk(this.addr, stage, k);
      if (got !== 0) {
        out.set(new Uint32Array(h.memory.buffer, stage, k), done);
        done += k;
      }
      if (got === 0 || h.hookError !== undefined) {
        const code = h.wasm.last_error();
        const report = got === 0 && code !== ErrorCode.NOMEM && code !== ErrorCode.OK ? h.lastReport(code) : undefined;
        if (done > 0) this.freeBulk(out.subarray(0, done)); // all or nothing
        h.rethrowHook();
        if (report) throw reportError(report); // a debug cache found a corrupted object (quarantined)
        throw new OutOfMemoryError(`${n} objects of cache '${this.name}'`, n * this.size);
      }
    }
    return out;
  }

  /** Free many objects. Every pointer is checked first; if one is bad (or appears twice) the error
   *  names it and nothing is freed. */
  freeBulk(ptrs: Uint32Array | readonly number[]): void {
    this.#check();
    const h = this.heap;
    const stage = h.stage();
    const per = h.L.STAGE_BYTES! >>> 2;
    const all = ptrs instanceof Uint32Array ? ptrs : Uint32Array.from(ptrs);
    if (all.length > per) {
      // Check everything before freeing anything: each chunk is checked by the Wasm, and a duplicate
      // across chunks is caught here.
      if (new Set(all).size !== all.length) {
        const seen = new Set<number>();
        const dup = all.find((p) => (seen.has(p) ? true : (seen.add(p), false)))!;
        throw freeError(ErrorCode.DOUBLE_FREE, dup, this.name);
      }
    }
    for (let done = 0; done < all.length; done += per) {
      const chunk = all.subarray(done, Math.min(all.length, done + per));
      new Uint32Array(h.memory.buffer, stage, chunk.length).set(chunk);
      const e = h.wasm.cache_free_bulk(this.addr, stage, chunk.length);
      if (e !== 0) {
        // Reported by the Wasm (detail in the header). In a debug cache, an object found corrupted while
        // freeing is quarantined and the rest of its chunk is freed.
        const r = h.lastReport(e);
        h.rethrowHook();
        if (r.ptr === chunk[h.wasm.bulk_bad_index()]) throw reportError(r);
        throw freeError(e, chunk[h.wasm.bulk_bad_index()]!, this.name);
      }
      if (this.destructor !== undefined) {
        // Reclaim protocol: a free object's count is 0. Set after the checked free (nothing else ran
        // since: single-threaded), so a rejected batch still changes nothing.
        const dv = h.dv;
        for (const p of chunk) dv.setUint32(p, 0, true);
      }
    }
  }

  /** A handle holding at least n objects: handle.alloc() cannot fail until n objects were taken. */
  prefill(n: number): Prefilled {
    this.#check();
    if (!Number.isInteger(n) || n < 1 || n > this.heap.L.MAX_ARRAY_CAP!) {
      throw new InvalidArgumentError(`prefill(${n}): n must be in 1..${this.heap.L.MAX_ARRAY_CAP}`);
    }
    const s = this.heap.wasm.cache_prefill(this.addr, n);
    if (this.heap.hookError !== undefined) {
      if (s !== 0) this.heap.wasm.cache_return_prefilled(this.addr, s);
      this.heap.rethrowHook();
    }
    if (s === 0) {
      throw new OutOfMemoryError(`a prefill of ${n} objects of cache '${this.name}'`, n * this.size);
    }
    return new Prefilled(this, s, n);
  }

  /** Give a prefill handle back: what is left goes to the CPU's spare array where possible. */
  returnPrefilled(handle: Prefilled): void {
    this.#check();
    if (handle.cache !== this) throw new InvalidArgumentError(`returnPrefilled: the handle belongs to cache '${handle.cache.name}'`);
    this.heap.wasm.cache_return_prefilled(this.addr, handle.release());
  }

  /** Flush this cache's arrays and barns, free every empty slab, sort partial slabs fullest first.
   *  Returns the pages given back to the page allocator. */
  shrink(): number {
    this.#check();
    const r = this.heap.wasm.cache_shrink(this.addr);
    if (r < 0) throw new SlabError(`wasm-slab: shrink '${this.name}' failed (code ${-r})`, -r);
    this.heap.reclaimer.discardFree();
    return r;
  }

  /** Targeted reclaim (reclaimable caches): walk full slabs from the oldest end, then partial slabs; a
   *  slab whose allocated objects all have count 1 is emptied (the destructor runs for each, the pages
   *  go back); a mixed slab gives up a few unused objects, so busy objects gather in fewer slabs. Stops
   *  once `pages` pages were freed (default: walk everything). Returns the pages freed. A destructor
   *  that throws stops the walk; its exception is rethrown here. */
  reclaim(pages: number = Infinity): number {
    this.#check();
    if (this.destructor === undefined) throw new InvalidArgumentError(`reclaim: cache '${this.name}' is not reclaimable`);
    if (!(pages >= 1) || (pages !== Infinity && !Number.isInteger(pages))) {
      throw new InvalidArgumentError(`reclaim(${pages}): pages is a positive integer (or Infinity)`);
    }
    const h = this.heap;
    const r = h.wasm.cache_reclaim(this.addr, pages >= 0xffffffff ? 0xffffffff : pages);
    h.rethrowHook();
    if (r < 0) throw new SlabError(`wasm-slab: reclaim '${this.name}' failed (code ${-r})`, -r);
    h.reclaimer.discardFree();
    return r;
  }

  /** Objects handed out and not yet freed. */
  get live(): number {
    this.#check();
    return this.heap.wasm.cache_live(this.addr);
  }

  /** Change tunables at run time: arrayCapacity (0 turns the arrays off). */
  tune(opts: { arrayCapacity?: number }): void {
    this.#check();
    if (opts.arrayCapacity !== undefined) {
      const cap = opts.arrayCapacity;
      if (!Number.isInteger(cap) || cap < 0 || cap > this.heap.L.MAX_ARRAY_CAP!) {
        throw new InvalidArgumentError(`tune: arrayCapacity ${cap} is not in 0..${this.heap.L.MAX_ARRAY_CAP}`);
      }
      if (this.heap.wasm.cache_tune(this.addr, cap) !== 0) throw new InvalidArgumentError(`tune: rejected for '${this.name}'`);
    }
  }

  /** Counters summed and per CPU, and object figures. */
  stats(): CacheStats {
    this.#check();
    const h = this.heap;
    const L = h.L;
    const { sum, perCpu } = h.counters(this.addr);
    let slabs = 0;
    for (let n = 0; n < h.nodes; n++) {
      const cn = this.addr + L.C_HDR! + n * L.CN_SIZE!;
      slabs += h.u32(cn + L.CN_NR_PARTIAL!) + h.u32(cn + L.CN_NR_FULL!) + h.u32(cn + L.CN_NR_EMPTY!);
    }
    return {
      name: this.name,
      counters: sum,
      perCpu,
      activeObjects: h.wasm.cache_live(this.addr),
      parkedObjects: h.wasm.cache_parked(this.addr),
      totalObjects: h.totalObjects(this.addr),
      slabs,
      objectSize: this.size,
      objectsPerSlab: this.objectsPerSlab,
      pagesPerSlab: 1 << this.order,
      arrayCapacity: this.arrayCapacity,
    };
  }

  /** Destroy the cache. Throws CacheBusyError, freeing nothing, while objects are live. */
  destroy(): void {
    this.#check();
    const e = this.heap.wasm.cache_destroy(this.addr);
    if (e === ErrorCode.BUSY) {
      const h = this.heap;
      const objects: LiveObject[] = [];
      for (let k = 0; k < h.L.LIVE_REPORT_MAX!; k++) {
        const p = h.wasm.cache_live_at(this.addr, k);
        if (p === 0) break;
        objects.push({ ptr: p, tracks: h.tracksAt(this.addr, p) });
      }
      throw new CacheBusyError(this.name, h.wasm.cache_live(this.addr), objects);
    }
    if (e !== 0) throw new SlabError(`wasm-slab: destroy '${this.name}' failed (code ${e})`, e);
    this.#dead = true;
    this.#careful = true;
    this.heap.forget(this);
  }
}

/** A prefilled handle (cache.prefill(n)). */
export class Prefilled {
  readonly cache: Cache;
  /** Objects the handle was asked to guarantee. */
  readonly size: number;
  #sheaf: number;

  /** @internal */
  constructor(cache: Cache, sheaf: number, size: number) {
    this.cache = cache;
    this.#sheaf = sheaf;
    this.size = size;
  }

  /** Objects still in the handle. */
  get remaining(): number {
    return this.#sheaf === 0 ? 0 : this.cache.heap.wasm.prefilled_count(this.#sheaf);
  }

  /** One object from the handle. Cannot fail for the first `size` calls; throws once it is empty. */
  alloc(): number {
    if (this.#sheaf === 0) throw new InvalidArgumentError("this prefill handle was returned");
    const p = this.cache.heap.wasm.prefilled_alloc(this.#sheaf);
    if (p === 0) throw new OutOfMemoryError(`prefill handle of '${this.cache.name}' is empty`, this.cache.size);
    return p;
  }

  /** @internal */ release(): number {
    if (this.#sheaf === 0) throw new InvalidArgumentError("this prefill handle was already returned");
    const s = this.#sheaf;
    this.#sheaf = 0;
    return s;
  }
}

/** Create a heap. */
export async function createAllocator(options: AllocatorOptions = {}): Promise<Heap> {
  const nodes = options.nodes ?? 1;
  const cpusPerNode = options.cpusPerNode ?? 1;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 8) throw new InvalidArgumentError(`nodes ${nodes} is not in 1..8`);
  if (!Number.isInteger(cpusPerNode) || cpusPerNode < 1 || nodes * cpusPerNode > 64) {
    throw new InvalidArgumentError(`cpusPerNode ${cpusPerNode}: nodes × cpusPerNode must be in 1..64`);
  }
  const maxBytes = options.maxBytes ?? 0;
  if (typeof maxBytes !== "number" || !(maxBytes >= 0) || !Number.isFinite(maxBytes)) {
    throw new InvalidArgumentError(`maxBytes ${maxBytes} is not a byte count`);
  }
  if (options.maxBytes !== undefined && maxBytes < 1 << 20) {
    throw new InvalidArgumentError(`maxBytes ${maxBytes} is below one chunk (1 MiB)`);
  }
  const reap = options.reap ?? {};
  if (reap !== false) {
    if (typeof reap !== "object" || reap === null) throw new InvalidArgumentError("reap is { intervalMs } or false");
    const ms = reap.intervalMs;
    if (ms !== undefined && (typeof ms !== "number" || !Number.isFinite(ms) || ms < 1 || ms > 2 ** 31 - 1)) {
      throw new InvalidArgumentError(`reap.intervalMs ${ms} is not in 1..2^31-1`);
    }
  }
  const onOutOfMemory = options.onOutOfMemory ?? "throw";
  if (onOutOfMemory !== "throw" && onOutOfMemory !== "null") throw new InvalidArgumentError(`onOutOfMemory '${onOutOfMemory}'`);
  const memory = options.memory ?? new WebAssembly.Memory({ initial: 1 });
  let heap: Heap | undefined;
  const inst = await instantiateSlab(memory, (op, a, b, c) => heap!.hook(op, a, b, c), options.debugBuild ?? false);
  const heapBase = options.heapBase ?? inst.exports.data_end();
  if (!Number.isInteger(heapBase) || heapBase < 0 || heapBase >= 2 ** 32) throw new InvalidArgumentError(`heapBase ${heapBase}`);
  const e = inst.exports.slab_init(heapBase, nodes, cpusPerNode, maxBytes);
  if (e === ErrorCode.NOMEM) throw new OutOfMemoryError("the heap header", 0);
  if (e !== 0) throw new InvalidArgumentError(`init rejected (code ${e})`);
  heap = new Heap(memory, inst.exports, inst.layout, { nodes, cpusPerNode, onOutOfMemory });
  if (options.alienArrays === false) inst.exports.heap_set_flags2(1);
  if (options.onReport !== undefined && typeof options.onReport !== "function") throw new InvalidArgumentError("onReport must be a function");
  heap.onReport = options.onReport;
  let defaults = inst.exports.debug_defaults();
  if (options.debug !== undefined) defaults = (defaults & ~DEBUG_FLAGS) | debugFlags(options.debug);
  if (options.inUseBits !== undefined) defaults = (defaults & ~CacheFlags.INUSE) | (options.inUseBits ? CacheFlags.INUSE : 0);
  inst.exports.debug_set_defaults(defaults);
  heap.defaultFlags = defaults;
  if (reap !== false) heap.reclaimer.startTimer(reap.intervalMs ?? DEFAULT_REAP_INTERVAL_MS);
  return heap;
}
