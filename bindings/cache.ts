// cache.ts — an object cache from JS: alloc/free (the fast path first), bulk, prefill, shrink, targeted
// reclaim, tune, stats, destroy; and the prefill handle.
//
// Owns: Cache (one kmem_cache of the Wasm, by address, and its JS magazine), PlainCache (its subclass
// for a cache made without a magazine) and Prefilled (a sheaf handed to the caller).
// Entry points: makeCache (Heap.createCache in heap.ts, adopt in threads.ts) makes a Cache or a
// PlainCache; users call their methods.
// Calls: core.ts (exports, hook errors, reports, staging buffer), reclaim.ts (discardFree after shrink and reclaim), introspection.ts (stats), options.ts
// (tune), args.ts, errors.ts, generated/abi.ts. `heap` is only a back-reference for users (a type import
// of heap.ts: no call goes up).
// Invariants:
//   - The fast path is alloc()/free() on the cache's magazine: a sheaf of this cache that JS pops
//     and pushes through its own Int32Array / Uint8Array views, with no Wasm call. alloc: one test (a
//     count above 0), the entry, the free key cleared. free: a u32, the chunk-table byte is the magazine's
//     node, the page descriptor names this cache, an object start (the Wasm's rotr(off × inv, shift)),
//     the key not there, room — then the key written and the entry pushed. JS keeps the handle's count
//     word equal to #n at every step, so the Wasm sees the magazine exact at any time (assembly/prefill.ts:
//     the cache's C_MAG; its objects are parked, a second free of one from any caller is a double free).
//     Anything else misses into #allocMiss / #freeMiss: a careful cache's checked path, a stale view
//     (length 0 after a grow: re-taken, then served), an empty magazine (one cache_mag call: counted
//     pops and pushes, then a refill to half its capacity from the CPU's main array and the slabs; the
//     alloc that missed counts alloc_slowpath), a full one or a refused check (the Wasm's cache_free: its
//     slow path, or its typed error with nothing changed — JS has no error logic of its own).
//   - Counters: JS counts pops and pushes (#allocs / #frees) and hands them to the Wasm at its next
//     cache_mag call; settle() makes that call before any figure is read (Cache.stats, core.settle for
//     the heap's stats, slabinfo, footprint, validate) and gives the magazine back before the heap is
//     changed under it (Heap.pin — a raw pin_cpu does not: the magazine keeps serving its node until it
//     is empty —, shrink, reap, tune, destroy, beCareful).
//   - No magazine (one Wasm call each, cache_alloc / cache_free, whose fast path pops or pushes the
//     CPU's main sheaf with every check) for a cache created with magazine: false (the laboratory's
//     exact per-CPU arrays), a careful cache (destroyed, callbacks whose exceptions must be rethrown, the
//     refcount protocol, debug), in-use bits, objects not 4-aligned, arrays off, and a shared heap
//     (another Worker's Cache would not see this one's count word in time). In the single-threaded
//     build the export checks a handle once and then compares it with the last one it accepted
//     (assembly/index.ts lastUserCache). A cache made so is a PlainCache (makeCache decides; a subclass,
//     so `instanceof Cache` holds, though its prototype and constructor are PlainCache's): its alloc /
//     free test #careful and make the Wasm call themselves (one JS frame: through #allocMiss / #freeMiss
//     the pair took 4.2–4.8× two empty calls, then 3.4–3.5×; bench/PROFILE.md, session 13), and Cache's
//     own alloc/free carry only the magazine's hit and the miss call — one class for both made every call
//     site's inlined magazine loop carry the Wasm-call branch once any no-magazine cache had run (session
//     14, helper jsgap2). A Cache that loses its magazine later (tune to arrays off, beCareful, destroy)
//     stays a Cache: an empty magazine of capacity 0, so alloc and free miss, and #allocMiss / #freeMiss
//     make the same calls (the checked ones once careful).
//   - Measured (bench/PROFILE.md "The Cache class against its copy, session 14" and "Two kinds of Cache";
//     bench/js-floor.mjs --processes 9, quiet processes): the pair through the magazine 1.93× two empty
//     Wasm calls (2.80× before session 14's Smi field declarations, u32 result and const constants, 2.05×
//     before the PlainCache split), the raw cache_alloc/cache_free pair 2.49×, the same hit path copied
//     into a plain class 1.57×, magazine: false 2.90× (3.06× before the split). Earlier ("The JS
//     magazine"): the magazine ~2.7× where the two Wasm calls took ~3.3×; the JS mirror of the CPU's
//     main sheaf that preceded both (fastpath.ts, session 7) took 3.9× (each checked typed-array access
//     costs V8 a bounds and a detach test; the magazine makes the fewest: its count, cap and counters
//     are JS fields).
//   - A bad argument (a pointer or count that is not an integer in range) is an InvalidArgumentError
//     and changes nothing; pointers returned are u32 (`>>> 0` on the i32 the Wasm returns).
//   - A bulk call checks every pointer before it frees any.
// Call tree: makeCache → new Cache | new PlainCache;  alloc → (hit) | #allocMiss → #allocCareful →
//   #hookFailed, #oom | #sync | cache_mag (refill) → #take | cache_alloc → #oom;  free → (hit) | #freeMiss
//   → #freeCareful → ptrArg, cache_free | reclaim_free → #freeFailed | #sync | cache_free → #freeFailed;
//   PlainCache alloc → cache_alloc → #oom | #allocCareful;  PlainCache free → cache_free → #freeFailed |
//   #freeCareful;  settle → cache_mag (count / return);  allocBulk/freeBulk → core.takeStage
//   (each call its own buffer), cache_alloc_bulk (one copy out, into a new array or the caller's) / freeBulk →
//   (a plain array checked, then one .set into the staging area; a Uint32Array: #freeBulkChecked, one
//   .set per chunk) → #freeStaged → cache_free_bulk;
//   prefill → cache_prefill → new Prefilled. Careful paths count their Wasm call (core.enter/leave).
import { Abi as L, ErrorCodes, Flags } from "./generated/abi.js";
import {
  CacheBusyError,
  CacheDestroyedError,
  InvalidArgumentError,
  NoCpuError,
  OutOfMemoryError,
  SlabError,
  freeError,
  reportError,
  type LiveObject,
  type Tracks,
} from "./errors.js";
import { badPtr, countArg, indexArg, isU32, ptrArg, show } from "./args.js";
import { tuneOptions, type Destructor, type TuneOptions } from "./options.js";
import { counters, slabCounts, totalObjects } from "./introspection.js";
import type { CacheStats } from "./stats.js";
import type { CacheEntry, Core } from "./core.js";
import type { Reclaimer } from "./reclaim.js";
import type { SlabExports } from "./wasm.js";
import type { Heap } from "./heap.js";

// The magazine's constants, taken out of the generated Abi once (a hash lookup per use otherwise), as
// `const`s: once alloc/free are inlined into a caller, TurboFan folds an initialized module-level const
// to its value, where a `var` is a context load and a Smi check per use (FREE_KEY, outside the Smi range,
// a HeapNumber load and a conversion). Session 8 found the reverse (a hole check per use); session 14's
// measurement (Node 20, helper jsgap) reverses it, inlined or not: bench/PROFILE.md.
const { CHUNK_SHIFT, PAGE_SHIFT } = L;
const CHUNK_MASK = L.CHUNK_SIZE - 1;
const DESC_W_SHIFT = L.DESC_SHIFT - 2;
const FREE_KEY = L.FREE_KEY | 0;
// assembly/index.ts cache_mag's ops.
var MAG_REFILL = 0;
var MAG_RETURN = 1;
var MAG_COUNT = 2;

/** Most objects one allocBulk call may ask for. */
export const MAX_BULK = 2 ** 28;

/** @internal Make the Cache of kmem_cache `addr` (Heap.createCache, adopt): a Cache where it has a
 *  magazine, else a PlainCache (a subclass: `instanceof Cache`), whose alloc/free make the Wasm call. */
export function makeCache(
  heap: Heap, core: Core, reclaimer: Reclaimer, name: string, addr: number,
  ctor?: (ptr: number) => void, destructor?: Destructor, magazine = true,
): Cache {
  const flags = core.u32(addr + L.C_FLAGS);
  // Careful from the start (destroy and beCareful make others careful later): callbacks, a reclaimable
  // or a debug cache (a report made during a successful free — a corrupted free object found before its
  // slab empties — may have run an onReport that threw), and every cache of a heap with shrinkers or
  // destructors (they may run inside any allocation, memory pressure, and are rethrown by it).
  const careful = ctor !== undefined || destructor !== undefined || (flags & Flags.DEBUG_MASK) !== 0 || core.hooksArmed;
  // A magazine only where the JS checks are the Wasm's: a free-key cache (no in-use bits, no debug), its
  // key at the object's start (not reclaimable: careful anyway), every object 4-aligned (the key is one
  // Int32Array element), arrays on, and a heap this thread alone uses (a shared heap's Cache makes its
  // Wasm calls: another Worker's magazine would not see this one's count word in time).
  const mag =
    magazine &&
    !careful &&
    !core.shared &&
    (flags & L.F_FREEKEY) !== 0 &&
    ((core.u32(addr + L.C_STRIDE) | core.u32(addr + L.C_OBJ_OFFSET)) & 3) === 0 &&
    core.u32(addr + L.C_ARRAY_CAP) >= 2;
  return new (mag ? Cache : PlainCache)(heap, core, reclaimer, name, addr, ctor, destructor, careful, mag);
}

// Cache's subclass for caches made without a magazine: declared in Cache's body (a static block), for its
// private names.
let PlainCache: typeof Cache;

/** An object cache: fixed-size objects from slabs, through per-CPU arrays. */
export class Cache implements CacheEntry {
  // Every field the hot path reads as a number is declared with `= 0` (the booleans with `= false`), then
  // set in the constructor: a field declared bare is defined as undefined first (ES2022 class fields),
  // and V8 then generalizes it to a tagged, mutable field when the constructor stores a number — each
  // load in the inlined alloc/free then pays a Smi check. Declared with a number it stays a Smi field
  // (a Double one once a cache's #inv leaves the Smi range). bench/PROFILE.md, session 14 (helper jsgap).
  /** The heap this cache belongs to. */
  readonly heap: Heap;
  readonly name: string;
  /** The kmem_cache's address in linear memory (its handle at the Wasm ABI). */
  readonly addr: number = 0;
  readonly id: number = 0;
  /** @internal */ readonly ctor?: (ptr: number) => void;
  /** @internal The destructor of a reclaimable cache. */ destructor?: Destructor;
  #dead = false;
  /** Prefill handles given out and not yet returned: destroy() refuses while any is out. */
  readonly #handles = new Set<Prefilled>();
  /** Destroyed, or has callbacks whose exceptions are rethrown after the Wasm call, or is reclaimable:
   *  take the checked path. Keeps the common alloc/free to one test and one Wasm call. */
  #careful = false;
  readonly #w: SlabExports;
  readonly #core: Core;
  readonly #reclaimer: Reclaimer;
  // The magazine (see alloc/free and assembly/prefill.ts): #mag says this cache may have one; #h is the
  // handle (0: none), #cW / #eW the word indices of its count and first entry, #n its count (JS keeps
  // the count word equal to it), #cap its capacity (0 while there is none: every free misses), #node
  // the node it was filled on; #allocs / #frees the pops and pushes not yet counted in the Wasm.
  #mag = false;
  #h = 0;
  #cW = 0;
  #eW = 0;
  #n = 0;
  #cap = 0;
  #node = 0;
  #allocs = 0;
  #frees = 0;
  #v32 = new Int32Array(0);
  #v8 = new Uint8Array(0);
  // The geometry the free checks read (fixed for the cache's life) and the heap's chunk table.
  readonly #chunkBase: number = 0;
  readonly #table: number = 0;
  readonly #slabMask: number = 0;
  readonly #objOffset: number = 0;
  readonly #objects: number = 0;
  readonly #inv: number = 0;
  readonly #shift: number = 0;

  /** @internal Made by makeCache (Heap.createCache, adopt; registered with the core there). */
  constructor(heap: Heap, core: Core, reclaimer: Reclaimer, name: string, addr: number, ctor: ((ptr: number) => void) | undefined, destructor: Destructor | undefined, careful: boolean, mag: boolean) {
    this.heap = heap;
    this.#core = core;
    this.#reclaimer = reclaimer;
    this.name = name;
    this.addr = addr;
    this.id = core.u32(addr + L.C_ID);
    this.ctor = ctor;
    this.destructor = destructor;
    this.#careful = careful;
    this.#w = core.w;
    this.#chunkBase = core.u32(core.hdr + L.H_CHUNK_BASE);
    this.#table = core.hdr + L.H_CHUNK_TABLE;
    this.#slabMask = core.u32(addr + L.C_SLAB_MASK);
    this.#objOffset = core.u32(addr + L.C_OBJ_OFFSET);
    this.#objects = core.u32(addr + L.C_OBJECTS);
    this.#inv = core.u32(addr + L.C_DIV_INV) | 0;
    this.#shift = core.u32(addr + L.C_DIV_SHIFT);
    this.#mag = mag;
  }

  // ---- the fast path: the magazine -------------------------------------------------------------------

  /** Allocate one object on the current CPU. Returns its address (or 0 with onOutOfMemory 'null'). */
  alloc(): number {
    const n = this.#n;
    if (n !== 0) {
      const v = this.#v32;
      const p = v[this.#eW + n - 1]!; // a stale view (length 0) reads undefined: at is 0, and it misses
      const at = p >>> 2;
      if (at < v.length) {
        v[at] = 0; // harden.ts hardenHandOut: the free key cleared
        v[this.#cW] = n - 1;
        this.#n = n - 1;
        this.#allocs++;
        return p >>> 0;
      }
    }
    return this.#allocMiss();
  }

  /** Free an object of this cache. Throws InvalidFreeError / DoubleFreeError and changes nothing when
   *  `ptr` is not an allocated object of this cache (InvalidArgumentError when it is not a pointer). */
  free(ptr: number): void {
    const n = this.#n;
    if (typeof ptr === "number" && n < this.#cap) {
      const p = ptr | 0;
      const v = this.#v32;
      const inHeap = (p - this.#chunkBase) | 0; // below chunk 0 it wraps to a "no chunk" slot, as in the Wasm
      const inChunk = inHeap & CHUNK_MASK;
      const d = ((p - inChunk) >>> 2) + ((inChunk >>> PAGE_SHIFT) << DESC_W_SHIFT); // arena.ts pageOf, in words
      const k = Math.imul((p & this.#slabMask) - this.#objOffset, this.#inv); // slab.ts objectStartIndex:
      const i = ((k >>> this.#shift) | (k << -this.#shift)) >>> 0; //           rotr(off × inv, shift)
      const at = p >>> 2;
      const key = p ^ FREE_KEY;
      if (
        p >>> 0 === ptr && // a u32 (else the careful path's InvalidArgumentError)
        this.#v8[this.#table + (inHeap >>> CHUNK_SHIFT)] === this.#node && // a slab chunk of the magazine's node
        v[d] === this.addr && // the page names this cache (D_CACHE is word 0)
        i < this.#objects && // an object start
        at < v.length &&
        v[at] !== key // in a user's hands (the key there: the Wasm's cold confirm decides)
      ) {
        v[at] = key; // harden.ts hardenRelease: the key written
        v[this.#eW + n] = p;
        v[this.#cW] = n + 1;
        this.#n = n + 1;
        this.#frees++;
        return;
      }
    }
    this.#freeMiss(ptr);
  }

  // A cache made without a magazine (makeCache: magazine: false, careful, arrays off, objects not
  // 4-aligned, a shared heap) is a PlainCache, whose alloc/free make the Wasm call themselves: each call
  // site then sees one kind of cache's code and feedback (one class's alloc carrying both made the
  // magazine's inlined loop carry the Wasm-call branch: bench/PROFILE.md, session 14, helper jsgap2).
  // Declared here, in Cache's body, for its private names; a cache that loses its magazine later (tune
  // to arrays off, beCareful) stays a Cache and misses into #allocMiss / #freeMiss.
  static {
    PlainCache = class PlainCache extends Cache {
      override alloc(): number {
        if (this.#careful) return this.#allocCareful();
        const p = this.#w.cache_alloc(this.addr);
        return p !== 0 ? p >>> 0 : this.#oom(); // (>>> 0: an address at 2 GiB or above reads negative)
      }

      override free(ptr: number): void {
        if (this.#careful || !isU32(ptr)) return this.#freeCareful(ptr); // (not a u32: InvalidArgumentError)
        const e = this.#w.cache_free(this.addr, ptr);
        if (e !== 0) this.#freeFailed(e);
      }
    };
  }

  // An alloc the magazine did not serve: a careful cache, one without a magazine, a stale view, or an
  // empty magazine (refilled: one Wasm call).
  #allocMiss(): number {
    if (this.#careful) return this.#allocCareful();
    if (this.#mag) {
      if (this.#v32.length === 0) {
        this.#sync(); // a grow detached the view (or none was taken yet)
        if (this.#n !== 0 && this.#v32.length !== 0) return this.alloc(); // a fresh view serves it
      }
      const h = this.#w.cache_mag(this.addr, this.#h, this.#allocs, this.#frees, MAG_REFILL) >>> 0;
      this.#frees = 0;
      if (h !== 0) {
        this.#take(h);
        this.#allocs = -1; // the pop below is this alloc, which the refill counted as alloc_slowpath
        return this.alloc();
      }
      this.#allocs = 0;
      // nothing could be taken for the magazine: the plain call (its slow path) decides (an object, or
      // out of memory and its error)
    }
    const p = this.#w.cache_alloc(this.addr);
    return p !== 0 ? p >>> 0 : this.#oom();
  }

  // A free the magazine did not take: a careful cache or a bad argument (the careful path), or one the
  // Wasm makes with every check — a full magazine, a remote free, a refused check (its typed error,
  // nothing changed), a found key (the cold confirm: a double free, or the user's value).
  #freeMiss(ptr: number): void {
    if (this.#careful || !isU32(ptr)) return this.#freeCareful(ptr); // (not a u32: InvalidArgumentError)
    if (this.#v32.length === 0 && this.#mag) {
      this.#sync(); // a grow detached the view
      if (this.#n < this.#cap && this.#v32.length !== 0) return this.free(ptr);
    }
    const e = this.#w.cache_free(this.addr, ptr);
    if (e !== 0) this.#freeFailed(e);
  }

  // Magazine h (just refilled) is this cache's from now on: its words and figures read once.
  #take(h: number): void {
    if (this.#v32.length === 0) this.#sync(); // the refill may have grown memory
    const v = this.#v32;
    this.#h = h;
    this.#cW = (h + L.SH_COUNT) >>> 2;
    this.#eW = (h + L.SH_HDR) >>> 2;
    this.#n = v[this.#cW]!;
    this.#cap = v[(h + L.SH_CAP) >>> 2]!;
    this.#node = this.#w.cpu_node(this.#w.current_cpu());
  }

  // New views of the memory. Called when the old ones read length 0: a grow detaches a (non-shared)
  // buffer, and a magazine is only kept for a heap whose memory is not shared.
  #sync(): void {
    const b = this.#core.memory.buffer;
    this.#v32 = new Int32Array(b, 0, b.byteLength / 4); // (whole 64 KiB pages: an integer; 4 GiB >>> 2 would be 0)
    this.#v8 = new Uint8Array(b);
  }

  /** @internal Give the magazine back (giveBack) and count its pops and pushes in the Wasm: the heap's
   *  figures are exact after this, and its objects are the CPU's again. core.settle calls it for every
   *  cache before the heap is read or changed as a whole. */
  settle(giveBack: boolean): void {
    if (this.#h === 0 && this.#allocs === 0 && this.#frees === 0) return;
    this.#w.cache_mag(this.addr, this.#h, this.#allocs, this.#frees, giveBack ? MAG_RETURN : MAG_COUNT);
    this.#allocs = this.#frees = 0;
    // no magazine now (given back): every free misses (cap 0), every alloc (n 0)
    if (giveBack) this.#h = this.#n = this.#cap = 0;
  }

  // ---- the careful paths -----------------------------------------------------------------------------

  get destroyed(): boolean {
    return this.#dead;
  }

  /** @internal Take the checked path from now on (core.armHooks). */
  beCareful(): void {
    this.settle(true);
    this.#careful = true;
    this.#mag = false;
  }

  #check(): void {
    if (this.#dead) throw new CacheDestroyedError(this.name);
  }

  #oom(): number {
    const core = this.#core;
    core.rethrowHook();
    const code = core.w.last_error();
    if (code === ErrorCodes.NO_CPU) throw new NoCpuError(`alloc from cache '${this.name}'`); // shared heap
    if (code !== ErrorCodes.NOMEM && code !== ErrorCodes.OK) throw reportError(core.lastReport(code)); // debug cache
    if (core.oomThrows) throw new OutOfMemoryError(`an object of cache '${this.name}'`, this.size);
    return 0;
  }

  // alloc for a destroyed cache or one whose callbacks may throw.
  #allocCareful(): number {
    this.#check();
    const core = this.#core;
    let p: number;
    core.enter();
    try {
      p = this.#w.cache_alloc(this.addr) >>> 0;
    } finally {
      core.leave();
    }
    if (core.hookError !== undefined) this.#hookFailed(p);
    return p === 0 ? this.#oom() : p;
  }

  /** Allocate one object from `node`'s memory (falling back to other nodes when it has none). */
  allocNode(node: number): number {
    this.#check();
    const core = this.#core;
    indexArg("allocNode", node, core.nodes, "nodes");
    let p: number;
    core.enter();
    try {
      p = this.#w.cache_alloc_node(this.addr, node) >>> 0;
    } finally {
      core.leave();
    }
    if (core.hookError !== undefined) this.#hookFailed(p);
    return p === 0 ? this.#oom() : p;
  }

  #hookFailed(p: number): never {
    const core = this.#core;
    if (p !== 0) {
      core.enter();
      try {
        this.#w.cache_free(this.addr, p);
      } finally {
        core.leave();
      }
    }
    core.rethrowHook();
    throw new SlabError("wasm-slab: a constructor failed", ErrorCodes.INVALID);
  }

  // free for a destroyed cache, one whose hooks may throw, a reclaimable one (the count word is set to
  // 0 before the free: the reclaim protocol), or an argument that is not a pointer.
  #freeCareful(ptr: number): void {
    this.#check();
    ptrArg("free", ptr);
    const core = this.#core;
    let e: number;
    core.enter();
    try {
      e = this.destructor === undefined ? this.#w.cache_free(this.addr, ptr) : this.#w.reclaim_free(this.addr, ptr);
    } finally {
      core.leave();
    }
    if (e !== 0) this.#freeFailed(e);
    core.rethrowHook();
  }

  #freeFailed(e: number): never {
    const core = this.#core;
    const r = core.lastReport(e);
    core.rethrowHook();
    throw reportError(r);
  }

  // ---- properties ------------------------------------------------------------------------------------

  /** Bytes the user asked for. */
  get size(): number {
    return this.#core.u32(this.addr + L.C_SIZE);
  }

  /** Distance between objects in a slab. */
  get stride(): number {
    return this.#core.u32(this.addr + L.C_STRIDE);
  }

  get align(): number {
    return this.#core.u32(this.addr + L.C_ALIGN);
  }

  get order(): number {
    return this.#core.u32(this.addr + L.C_ORDER);
  }

  get objectsPerSlab(): number {
    return this.#core.u32(this.addr + L.C_OBJECTS);
  }

  get arrayCapacity(): number {
    return this.#core.u32(this.addr + L.C_ARRAY_CAP);
  }

  /** Created with the reclaim option (CacheFlags.RECLAIMABLE): objects carry a reference count. */
  get reclaimable(): boolean {
    return this.destructor !== undefined;
  }

  /** The effective cache flags (CacheFlags bits), after heap defaults and conflicts are applied. */
  get flags(): number {
    return this.#core.u32(this.addr + L.C_FLAGS);
  }

  /** Objects quarantined: found corrupted, kept out of circulation for good (not live). */
  get quarantined(): number {
    this.#check();
    return this.#w.cache_quarantined(this.addr) >>> 0;
  }

  /** The alloc/free tracks of one of this cache's objects (undefined without storeUser). */
  tracks(ptr: number): Tracks | undefined {
    this.#check();
    return this.#core.tracksAt(this.addr, ptrArg("tracks", ptr));
  }

  /** Objects handed out and not yet freed. */
  get live(): number {
    this.#check();
    return this.#w.cache_live(this.addr) >>> 0; // (the magazine's objects count as parked: C_MAG)
  }

  // ---- bulk ------------------------------------------------------------------------------------------

  /** Allocate n objects, all or nothing (throws OutOfMemoryError, having taken none). Objects move in
   *  runs: from the CPU's arrays and the node's barn, then straight from the slabs.
   *  @param into a Uint32Array of at least n elements to fill instead of a new array (returned when its
   *  length is n, else its first n elements as a subarray): a caller that allocates in bulk again and
   *  again saves the new array's allocation, which costs more than the bulk call itself
   *  (bench/PROFILE.md "Bulk"); not a view of the heap's memory. After a failure its first n elements
   *  are unspecified. */
  allocBulk(n: number, into?: Uint32Array): Uint32Array {
    this.#check();
    countArg("allocBulk", n, MAX_BULK);
    const core = this.#core;
    if (into !== undefined && (!(into instanceof Uint32Array) || into.length < n || into.buffer === core.memory.buffer)) {
      // (a view of the heap's own memory could be detached by a growth during the call)
      throw new InvalidArgumentError(`allocBulk(${n}, into): into must be a Uint32Array of ≥ n elements, not in heap memory`);
    }
    const stage = core.takeStage(); // this call's own: a callback may re-enter a bulk call meanwhile
    const per = L.STAGE_BYTES >>> 2;
    const out = into === undefined ? new Uint32Array(n) : into.length === n ? into : into.subarray(0, n);
    let done = 0;
    try {
      while (done < n) {
        const k = Math.min(per, n - done);
        let got: number;
        core.enter();
        try {
          got = this.#w.cache_alloc_bulk(this.addr, stage, k);
        } finally {
          core.leave();
        }
        if (got !== 0) {
          out.set(new Uint32Array(core.memory.buffer, stage, k), done); // one copy out (after the call: memory may grow)
          done += k;
        }
        if (got === 0 || core.hookError !== undefined) {
          const code = this.#w.last_error();
          if (got === 0 && code === ErrorCodes.NO_CPU) throw new NoCpuError(`allocBulk of cache '${this.name}'`); // shared heap
          const report = got === 0 && code !== ErrorCodes.NOMEM && code !== ErrorCodes.OK ? core.lastReport(code) : undefined;
          if (done > 0) this.#freeBulkChecked(out.subarray(0, done)); // all or nothing
          core.rethrowHook();
          if (report) throw reportError(report); // a debug cache found a corrupted object (quarantined)
          throw new OutOfMemoryError(`${n} objects of cache '${this.name}'`, n * this.size);
        }
      }
    } finally {
      core.giveStage(stage);
    }
    return out;
  }

  /** Free many objects. Every pointer is checked first; if one is bad (or appears twice) the error
   *  names it and nothing is freed. An element that is not a pointer is an InvalidArgumentError. */
  freeBulk(ptrs: Uint32Array | readonly number[]): void {
    this.#check();
    if (ptrs instanceof Uint32Array) {
      this.#freeBulkChecked(ptrs);
      return;
    }
    if (!Array.isArray(ptrs)) {
      throw new InvalidArgumentError(`freeBulk: ${show(ptrs)} is not a Uint32Array or an array of pointers`);
    }
    const n = ptrs.length;
    // Every element checked before anything is taken (a refused call changes nothing, not even by
    // making a first staging buffer).
    for (let i = 0; i < n; i++) if (!isU32(ptrs[i])) throw badPtr(`freeBulk: element ${i}`, ptrs[i]);
    if (n > L.STAGE_BYTES >>> 2) {
      this.#freeBulkChecked(Uint32Array.from(ptrs));
      return;
    }
    // One staging buffer's worth: the array goes straight into the staging area (one native copy).
    const core = this.#core;
    const stage = core.takeStage();
    try {
      new Uint32Array(core.memory.buffer, stage, n).set(ptrs);
      this.#freeStaged(stage, n, ptrs, 0);
    } finally {
      core.giveStage(stage);
    }
  }

  // freeBulk of pointers already known to be u32s.
  #freeBulkChecked(all: Uint32Array): void {
    const core = this.#core;
    const per = L.STAGE_BYTES >>> 2;
    if (all.length > per) {
      // Check everything before freeing anything: each chunk is checked by the Wasm, and a duplicate
      // across chunks is caught here.
      if (new Set(all).size !== all.length) {
        const seen = new Set<number>();
        const dup = all.find((p) => (seen.has(p) ? true : (seen.add(p), false)))!;
        throw freeError(ErrorCodes.DOUBLE_FREE, dup, this.name);
      }
    }
    const stage = core.takeStage(); // this call's own: a callback may re-enter a bulk call meanwhile
    try {
      for (let done = 0; done < all.length; done += per) {
        const k = Math.min(per, all.length - done);
        new Uint32Array(core.memory.buffer, stage, k).set(all.subarray(done, done + k)); // one copy in
        this.#freeStaged(stage, k, all, done);
      }
    } finally {
      core.giveStage(stage);
    }
  }

  // Free the k pointers staged at `stage`, which are orig[from .. from + k) (the Wasm may reorder the
  // staging area; errors and the reclaim protocol read the caller's own list).
  #freeStaged(stage: number, k: number, orig: ArrayLike<number>, from: number): void {
    const core = this.#core;
    let e: number;
    core.enter();
    try {
      e = this.#w.cache_free_bulk(this.addr, stage, k);
    } finally {
      core.leave();
    }
    if (e !== 0) {
      // Reported by the Wasm (detail in the header). In a debug cache, an object found corrupted while
      // freeing is quarantined and the rest of its chunk is freed.
      const r = core.lastReport(e);
      core.rethrowHook();
      const bad = orig[from + this.#w.bulk_bad_index()]!;
      if (r.ptr === bad) throw reportError(r);
      throw freeError(e, bad, this.name);
    }
    if (this.destructor !== undefined) {
      // Reclaim protocol: a free object's count is 0. Set after the checked free (nothing else ran
      // since: single-threaded), so a rejected batch still changes nothing.
      const dv = core.dv;
      for (let i = from; i < from + k; i++) dv.setUint32(orig[i]!, 0, true);
    }
    core.rethrowHook();
  }

  // ---- prefill ---------------------------------------------------------------------------------------

  /** A handle holding at least n objects: handle.alloc() cannot fail until n objects were taken. */
  prefill(n: number): Prefilled {
    this.#check();
    countArg("prefill", n, L.MAX_ARRAY_CAP, 1);
    const core = this.#core;
    let s: number;
    core.enter();
    try {
      s = this.#w.cache_prefill(this.addr, n) >>> 0;
    } finally {
      core.leave();
    }
    if (core.hookError !== undefined) {
      if (s !== 0) this.#w.cache_return_prefilled(this.addr, s);
      core.rethrowHook();
    }
    if (s === 0) {
      if (this.#w.last_error() === ErrorCodes.NO_CPU) throw new NoCpuError(`prefill of cache '${this.name}'`); // shared heap
      throw new OutOfMemoryError(`a prefill of ${n} objects of cache '${this.name}'`, n * this.size);
    }
    const h = new Prefilled(this, core.w, s, n);
    this.#handles.add(h);
    return h;
  }

  /** Give a prefill handle back: what is left goes to the CPU's spare array where possible. */
  returnPrefilled(handle: Prefilled): void {
    this.#check();
    if (!(handle instanceof Prefilled)) throw new InvalidArgumentError(`returnPrefilled: ${show(handle)} is not a prefill handle`);
    if (handle.cache !== this) throw new InvalidArgumentError(`returnPrefilled: the handle belongs to cache '${handle.cache.name}'`);
    this.#w.cache_return_prefilled(this.addr, handle.release());
    this.#handles.delete(handle);
  }

  // ---- reclaim, tuning, figures, destroy -------------------------------------------------------------

  /** Flush this cache's arrays and barns, free every empty slab, sort partial slabs fullest first.
   *  Returns the pages given back to the page allocator. */
  shrink(): number {
    this.#check();
    this.settle(true);
    const r = this.#w.cache_shrink(this.addr);
    if (r < 0) throw new SlabError(`wasm-slab: shrink '${this.name}' failed (code ${-r})`, -r);
    this.#reclaimer.discardFree();
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
    if (typeof pages !== "number" || !(pages >= 1) || (pages !== Infinity && !Number.isInteger(pages))) {
      throw new InvalidArgumentError(`reclaim(${show(pages)}): pages is a positive integer (or Infinity)`);
    }
    const core = this.#core;
    let r: number;
    core.enter();
    try {
      r = this.#w.cache_reclaim(this.addr, pages >= L.RECLAIM_ALL ? L.RECLAIM_ALL : pages);
    } finally {
      core.leave();
    }
    core.rethrowHook();
    if (r < 0) throw new SlabError(`wasm-slab: reclaim '${this.name}' failed (code ${-r})`, -r);
    this.#reclaimer.discardFree();
    return r;
  }

  /** Change tunables at run time: arrayCapacity (0 turns the arrays off). Unknown keys are refused. */
  tune(opts: TuneOptions): void {
    this.#check();
    const { arrayCapacity } = tuneOptions(opts);
    if (arrayCapacity === undefined) return;
    this.settle(true);
    if (this.#w.cache_tune(this.addr, arrayCapacity) !== 0) {
      throw new InvalidArgumentError(`tune: rejected for '${this.name}'`);
    }
    if (arrayCapacity < 2) this.#mag = false; // (no arrays: no magazine either, for good)
  }

  /** Counters summed and per CPU, and object figures. */
  stats(): CacheStats {
    this.#check();
    this.settle(false); // the magazine's pops and pushes counted
    const core = this.#core;
    const { sum, perCpu } = counters(core, this.addr);
    return {
      name: this.name,
      counters: sum,
      perCpu,
      activeObjects: this.#w.cache_live(this.addr) >>> 0,
      parkedObjects: this.#w.cache_parked(this.addr) >>> 0,
      totalObjects: totalObjects(core, this.addr),
      slabs: slabCounts(core, this.addr).slabs,
      objectSize: this.size,
      objectsPerSlab: this.objectsPerSlab,
      pagesPerSlab: 1 << this.order,
      arrayCapacity: this.arrayCapacity,
    };
  }

  /** Destroy the cache. Throws CacheBusyError, freeing nothing, while objects are live or a prefill
   *  handle is out (return it first). */
  destroy(): void {
    this.#check();
    this.settle(true);
    const core = this.#core;
    const e = this.#handles.size !== 0 ? ErrorCodes.BUSY : this.#w.cache_destroy(this.addr);
    if (e === ErrorCodes.BUSY) {
      const objects: LiveObject[] = [];
      for (let k = 0; k < L.LIVE_REPORT_MAX; k++) {
        const p = this.#w.cache_live_at(this.addr, k) >>> 0;
        if (p === 0) break;
        objects.push({ ptr: p, tracks: core.tracksAt(this.addr, p) });
      }
      throw new CacheBusyError(this.name, this.#w.cache_live(this.addr) >>> 0, objects, this.#handles.size);
    }
    if (e !== 0) throw new SlabError(`wasm-slab: destroy '${this.name}' failed (code ${e})`, e);
    this.#dead = true;
    this.#careful = true;
    core.forget(this);
  }
}

/** A prefilled handle (cache.prefill(n)). */
export class Prefilled {
  readonly cache: Cache;
  /** Objects the handle was asked to guarantee. */
  readonly size: number;
  readonly #w: SlabExports;
  #sheaf: number;

  /** @internal */
  constructor(cache: Cache, w: SlabExports, sheaf: number, size: number) {
    this.cache = cache;
    this.#w = w;
    this.#sheaf = sheaf;
    this.size = size;
  }

  /** Objects still in the handle. */
  get remaining(): number {
    return this.#sheaf === 0 ? 0 : this.#w.prefilled_count(this.#sheaf) >>> 0;
  }

  /** One object from the handle. Cannot fail for the first `size` calls; throws once it is empty. */
  alloc(): number {
    if (this.#sheaf === 0) throw new InvalidArgumentError("this prefill handle was returned");
    const p = this.#w.prefilled_alloc(this.#sheaf) >>> 0;
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
