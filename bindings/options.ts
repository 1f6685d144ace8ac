// options.ts — the options of createAllocator(), createCache() and tune(): their types, their defaults,
// and their checks.
//
// Owns: AllocatorOptions, CacheOptions, DebugOptions, TuneOptions (one table each: the accepted keys),
// the public CacheFlags, debugFlags(), and turning user options into checked values
// (allocatorOptions(), cacheOptions(), tuneOptions()). Entry points: those functions.
// Called by: heap.ts (createAllocator, Heap.createCache), cache.ts (Cache.tune).
// Calls: generated/abi.ts (limits, flags), args.ts, errors.ts. Nothing above.
// Invariants:
//   - An option object with a key not in its table is an InvalidArgumentError naming the key and the
//     accepted ones (JS callers get what TS callers get from the types): nothing is silently ignored.
//   - Every value is checked before anything is created; a bad one is an InvalidArgumentError saying
//     which option, what it got and what it accepts.
//   - Limits come from the module (MAX_NODES, MAX_CPUS, MAX_OBJECT_SIZE, MAX_ARRAY_CAP...), never copies.
import { Abi, Flags } from "./generated/abi.js";
import { InvalidArgumentError } from "./errors.js";
import { U32_MAX, show } from "./args.js";
import type { DebugReport } from "./errors.js";

/** createAllocator({ reap }) — periodic reaping. */
export interface ReapOptions {
  /** Milliseconds between two reap passes (each pass reaps one CPU, round robin). Default 2000. */
  intervalMs?: number;
}

export const DEFAULT_REAP_INTERVAL_MS = 2000;

/** A reclaimable cache's destructor: called for an object whose count is 1 (unused but cached) that
 *  reclaim is about to free. It must drop the owner's references (e.g. delete it from an index) and must
 *  not free the object; it may be a JS function or a function exported by a Wasm module. */
export type Destructor = (ptr: number) => unknown;

/** Options of createAllocator(). Every field is optional; the defaults are in the comments. */
export interface AllocatorOptions {
  /** Simulated NUMA nodes (1..8). Default 1. */
  nodes?: number;
  /** CPUs on each node (nodes × cpusPerNode ≤ 64). Default 1. */
  cpusPerNode?: number;
  /** Budget: bytes of chunks the heap may grow to (≥ 1 MiB). Default: all of wasm32 (4 GiB). */
  maxBytes?: number;
  /** Lowest address the heap may write (an embedder's data and stack lie below). Default: the end of
   *  the allocator module's own static data. Must leave room for the header and one chunk below 4 GiB. */
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
  /** A heap in a shared WebAssembly.Memory (maximum from maxBytes) that other threads attach to
   *  (heap.handle(), attachAllocator: bindings/threads.ts). The creating thread claims a CPU. Default
   *  false. */
  shared?: boolean;
  /** Shared heaps: the CPU this thread claims (default: the first free one). */
  cpu?: number;
  /** Shared heaps: may this thread block in Atomics.wait? Default: false on a browser's main thread. */
  canWait?: boolean;
  /** Shared heaps: a lock waiter gives up (the call traps; LockTimeoutError) after about this many ms.
   *  Default 30 000. */
  lockTimeoutMs?: number;
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
  /** alloc()/free() pop and push a magazine JS keeps (a sheaf of this cache, up to its array
   *  capacity), with every check of the Wasm fast path made in JS, and cross into Wasm only when it is
   *  empty or full (bench/PROFILE.md "The JS magazine"). false: every alloc and free is one Wasm call on
   *  the CPU's arrays, as SLUB's sheaves do (the laboratory's exact counters). Default true; a debug,
   *  in-use-bit, constructor or reclaimable cache, and a shared heap's, never has one. */
  magazine?: boolean;
}

/** Options of cache.tune(). */
export interface TuneOptions {
  /** Per-CPU array capacity, 0 .. 4092; 0 turns the arrays off. */
  arrayCapacity?: number;
}

/** Cache flags (assembly/layout.ts F_*, read from the module at build time). */
export const CacheFlags = {
  CTOR: Flags.CTOR,
  RECLAIMABLE: Flags.RECLAIMABLE,
  RED_ZONE: Flags.RED_ZONE,
  POISON: Flags.POISON,
  STORE_USER: Flags.STORE_USER,
  CHECKS: Flags.CHECKS,
  NO_ALIEN: Flags.NO_ALIEN,
  /** Per-object in-use bit (catches double frees of objects parked in per-CPU arrays). */
  INUSE: Flags.INUSE,
} as const;

/** The debug bits (red zone, poison, store user, checks). */
export const DEBUG_FLAGS = Flags.DEBUG_MASK;

// ---- the accepted keys: one table per option object ----------------------------------------------

const ALLOCATOR_KEYS = [
  "nodes", "cpusPerNode", "maxBytes", "heapBase", "memory", "debugBuild", "onOutOfMemory", "alienArrays",
  "debug", "inUseBits", "onReport", "reap", "shared", "cpu", "canWait", "lockTimeoutMs",
] as const satisfies readonly (keyof AllocatorOptions)[];
const CACHE_KEYS = [
  "size", "align", "flags", "ctor", "arrayCapacity", "debug", "inUseBits", "reclaim", "magazine",
] as const satisfies readonly (keyof CacheOptions)[];
const DEBUG_KEYS = ["redZone", "poison", "storeUser", "checks"] as const satisfies readonly (keyof DebugOptions)[];
const REAP_KEYS = ["intervalMs"] as const satisfies readonly (keyof ReapOptions)[];
const RECLAIM_KEYS = ["destructor"] as const;
const TUNE_KEYS = ["arrayCapacity"] as const satisfies readonly (keyof TuneOptions)[];

/** Throw InvalidArgumentError unless `o` is a plain object whose own keys are all in `accepted`. */
export function checkKeys(what: string, o: unknown, accepted: readonly string[]): asserts o is Record<string, unknown> {
  if (typeof o !== "object" || o === null || Array.isArray(o)) {
    throw new InvalidArgumentError(`${what}: expected an options object, got ${show(o)}`);
  }
  for (const k of Object.keys(o)) {
    if (!accepted.includes(k)) {
      throw new InvalidArgumentError(`${what}: unknown option '${k}' (accepted: ${accepted.join(", ")})`);
    }
  }
}

function intIn(what: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${what} ${show(v)} is not an integer in ${min}..${max}`);
  }
  return v;
}

function bool(what: string, v: unknown): boolean | undefined {
  if (v !== undefined && typeof v !== "boolean") throw new InvalidArgumentError(`${what} ${show(v)} is not a boolean`);
  return v;
}

function fn<F>(what: string, v: unknown): F | undefined {
  if (v !== undefined && typeof v !== "function") throw new InvalidArgumentError(`${what} must be a function, got ${show(v)}`);
  return v as F | undefined;
}

/** CacheFlags bits of a debug option. */
export function debugFlags(d: boolean | DebugOptions | undefined): number {
  if (d === undefined || d === false) return 0;
  if (d === true) return DEBUG_FLAGS;
  checkKeys("debug", d, DEBUG_KEYS);
  for (const k of DEBUG_KEYS) bool(`debug.${k}`, d[k]);
  return (
    (d.redZone ? CacheFlags.RED_ZONE : 0) |
    (d.poison ? CacheFlags.POISON : 0) |
    (d.storeUser ? CacheFlags.STORE_USER : 0) |
    (d.checks ? CacheFlags.CHECKS : 0)
  );
}

/** The flags `defaults` with a cache's (or the heap's) own debug / inUseBits choices put in. */
export function withDebugChoices(defaults: number, debug: boolean | DebugOptions | undefined, inUseBits: boolean | undefined): number {
  let f = defaults;
  if (debug !== undefined) f = (f & ~DEBUG_FLAGS) | debugFlags(debug);
  if (bool("inUseBits", inUseBits) !== undefined) f = (f & ~Flags.INUSE) | (inUseBits ? Flags.INUSE : 0);
  return f;
}

/** Room a heap needs above its base, at most: the largest header (every node and CPU), its alignment
 *  and one chunk. A heapBase above 4 GiB minus this would wrap (assembly/arena.ts arenaInit). */
export const HEAP_ROOM =
  Abi.H_BOOT + Abi.C_HDR + Abi.MAX_NODES * Abi.CN_SIZE + Abi.CACHE_LINE + Abi.MAX_CPUS * Abi.CC_SIZE +
  Abi.CACHE_LINE + Abi.CHUNK_BASE_ALIGN + Abi.CHUNK_SIZE;
export const MAX_HEAP_BASE = 2 ** 32 - HEAP_ROOM;

/** createAllocator's options, checked, with defaults. heapBase stays undefined for "the module's". */
export interface CheckedAllocatorOptions {
  nodes: number;
  cpusPerNode: number;
  maxBytes: number;
  heapBase: number | undefined;
  memory: WebAssembly.Memory | undefined;
  debugBuild: boolean;
  onOutOfMemory: "throw" | "null";
  alienArrays: boolean;
  debug: boolean | DebugOptions | undefined;
  inUseBits: boolean | undefined;
  onReport: ((report: DebugReport) => void) | undefined;
  reapIntervalMs: number | false;
  /** Shared heaps (bindings/threads.ts): the thread options are checked there. */
  shared: boolean;
  thread: { cpu?: number; canWait?: boolean; lockTimeoutMs?: number };
}

export function allocatorOptions(options: unknown): CheckedAllocatorOptions {
  const o = options === undefined ? {} : options;
  checkKeys("createAllocator", o, ALLOCATOR_KEYS);
  const nodes = o.nodes === undefined ? 1 : intIn("nodes", o.nodes, 1, Abi.MAX_NODES);
  const cpusPerNode = o.cpusPerNode === undefined ? 1 : intIn("cpusPerNode", o.cpusPerNode, 1, Abi.MAX_CPUS);
  if (nodes * cpusPerNode > Abi.MAX_CPUS) {
    throw new InvalidArgumentError(`cpusPerNode ${cpusPerNode}: nodes × cpusPerNode must be in 1..${Abi.MAX_CPUS}`);
  }
  let maxBytes = 0;
  if (o.maxBytes !== undefined) {
    maxBytes = o.maxBytes as number;
    if (typeof maxBytes !== "number" || !Number.isFinite(maxBytes) || maxBytes < 0) {
      throw new InvalidArgumentError(`maxBytes ${show(o.maxBytes)} is not a byte count`);
    }
    if (maxBytes < Abi.CHUNK_SIZE) throw new InvalidArgumentError(`maxBytes ${maxBytes} is below one chunk (1 MiB)`);
  }
  const heapBase = o.heapBase === undefined ? undefined : intIn("heapBase", o.heapBase, 0, MAX_HEAP_BASE);
  if (o.memory !== undefined && !(o.memory instanceof WebAssembly.Memory)) {
    throw new InvalidArgumentError(`memory ${show(o.memory)} is not a WebAssembly.Memory`);
  }
  const onOutOfMemory = o.onOutOfMemory ?? "throw";
  if (onOutOfMemory !== "throw" && onOutOfMemory !== "null") {
    throw new InvalidArgumentError(`onOutOfMemory ${show(onOutOfMemory)}: use 'throw' or 'null'`);
  }
  let reapIntervalMs: number | false = DEFAULT_REAP_INTERVAL_MS;
  if (o.reap === false) reapIntervalMs = false;
  else if (o.reap !== undefined) {
    checkKeys("reap", o.reap, REAP_KEYS);
    const ms = o.reap.intervalMs;
    if (ms !== undefined && (typeof ms !== "number" || !Number.isFinite(ms) || ms < 1 || ms > 2 ** 31 - 1)) {
      throw new InvalidArgumentError(`reap.intervalMs ${show(ms)} is not in 1..2^31-1`);
    }
    if (ms !== undefined) reapIntervalMs = ms;
  }
  const debug = o.debug as boolean | DebugOptions | undefined;
  if (debug !== undefined && typeof debug !== "boolean") debugFlags(debug); // checks its keys and values
  return {
    nodes,
    cpusPerNode,
    maxBytes,
    heapBase,
    memory: o.memory as WebAssembly.Memory | undefined,
    debugBuild: bool("debugBuild", o.debugBuild) ?? false,
    onOutOfMemory,
    alienArrays: bool("alienArrays", o.alienArrays) ?? true,
    debug,
    inUseBits: bool("inUseBits", o.inUseBits),
    onReport: fn("onReport", o.onReport),
    reapIntervalMs,
    shared: bool("shared", o.shared) ?? false,
    thread: { cpu: o.cpu as number | undefined, canWait: o.canWait as boolean | undefined, lockTimeoutMs: o.lockTimeoutMs as number | undefined },
  };
}

/** createCache's options, checked: the arguments of cache_create and the callbacks. */
export interface CheckedCacheOptions {
  size: number;
  align: number;
  flags: number;
  /** DEFAULT_CAP: by object size. */
  arrayCapacity: number;
  ctor: ((ptr: number) => void) | undefined;
  destructor: Destructor | undefined;
  /** The JS magazine may be used (CacheOptions.magazine). */
  magazine: boolean;
}

/** Check a cache's name and options; `defaultFlags` are the heap's debug defaults. */
export function cacheOptions(name: unknown, options: unknown, defaultFlags: number): CheckedCacheOptions {
  if (typeof name !== "string" || name.length === 0) throw new InvalidArgumentError("a cache needs a name");
  const what = `cache '${name}'`;
  checkKeys(`createCache('${name}')`, options, CACHE_KEYS);
  const o = options as Partial<CacheOptions>;
  const size = o.size;
  if (typeof size !== "number" || !Number.isInteger(size) || size < 1 || size > Abi.MAX_OBJECT_SIZE) {
    throw new InvalidArgumentError(`${what}: size ${show(size)} is not in 1..${Abi.MAX_OBJECT_SIZE}`);
  }
  const align = o.align ?? 8;
  if (typeof align !== "number" || !Number.isInteger(align) || align < 1 || align > Abi.PAGE_SIZE || (align & (align - 1)) !== 0) {
    throw new InvalidArgumentError(`${what}: align ${show(align)} is not a power of two ≤ ${Abi.PAGE_SIZE}`);
  }
  let flags = o.flags ?? 0;
  if (typeof flags !== "number" || !Number.isInteger(flags) || flags < 0 || flags > U32_MAX || (flags & ~Abi.F_USER_MASK) !== 0) {
    throw new InvalidArgumentError(`${what}: unknown flags ${typeof flags === "number" ? `0x${flags.toString(16)}` : show(flags)}`);
  }
  if (o.debug !== undefined || o.inUseBits !== undefined) {
    // Exact flags: the cache's own choices replace the heap-wide defaults.
    flags |= withDebugChoices(defaultFlags, o.debug, o.inUseBits) | Flags.EXACT;
  }
  const arrayCapacity = o.arrayCapacity === undefined ? Abi.DEFAULT_CAP : intIn(`${what}: arrayCapacity`, o.arrayCapacity, 0, Abi.MAX_ARRAY_CAP);
  const ctor = fn<(ptr: number) => void>(`${what}: ctor`, o.ctor);
  if (ctor) flags |= Flags.CTOR;
  let destructor: Destructor | undefined;
  if (o.reclaim !== undefined) {
    checkKeys(`${what}: reclaim`, o.reclaim, RECLAIM_KEYS);
    destructor = fn<Destructor>(`${what}: reclaim.destructor`, o.reclaim.destructor);
  }
  if (o.reclaim !== undefined || (flags & Flags.RECLAIMABLE) !== 0) {
    if (typeof destructor !== "function") throw new InvalidArgumentError(`${what}: a reclaimable cache needs reclaim.destructor (a function)`);
    if (size < 4) throw new InvalidArgumentError(`${what}: a reclaimable object holds a u32 count: size ≥ 4`);
    flags |= Flags.RECLAIMABLE;
  }
  const magazine = o.magazine ?? true;
  if (typeof magazine !== "boolean") throw new InvalidArgumentError(`${what}: magazine ${show(magazine)} is not a boolean`);
  return { size, align, flags: flags >>> 0, arrayCapacity, ctor, destructor, magazine };
}

/** tune()'s options, checked. */
export function tuneOptions(opts: unknown): TuneOptions {
  checkKeys("tune", opts, TUNE_KEYS);
  const o = opts as TuneOptions;
  if (o.arrayCapacity !== undefined) intIn("tune: arrayCapacity", o.arrayCapacity, 0, Abi.MAX_ARRAY_CAP);
  return { arrayCapacity: o.arrayCapacity };
}
