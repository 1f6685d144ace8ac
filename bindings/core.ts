// core.ts — one heap's Wasm instance as the layers above see it: exports, memory views, host hooks,
// the registry of caches, names, tracks and reports.
//
// Owns: the SlabExports of the instance (`w`), the memory and the typed views over it (u8, dv, u32v:
// re-taken in ONE place, #refresh(), whenever memory.buffer changed: a grow detaches the old buffer),
// the heap header address, the topology, the env.hook dispatch and the pending hook exception, the
// registry of user caches by id (CacheEntry: what the hooks need of a cache), the names of the heap's
// own caches, the bulk staging buffer, the report log, and the building of DebugReports.
// Entry points: new Core() (heap.ts createAllocator), Core.hook (the instance's env.hook), and the
// methods below. Called by: malloc.ts, introspection.ts, reclaim.ts, cache.ts, heap.ts. Calls down
// into: wasm.ts (types), errors.ts, args.ts, generated/abi.ts. Never calls up: the layers above reach
// core through registrations (register() of a CacheEntry, `shrinker` set by the Reclaimer,
// `onReport` set by the Heap), never by core importing them.
// Invariants:
//   - hookError holds the first exception a callback threw during the current Wasm call made for a TS
//     caller (tsCalls > 0); that caller rethrows it (rethrowHook) once the Wasm has returned: a JS
//     exception never unwinds through the allocator, and is thrown once. A callback that throws during
//     a call nobody in TS made (C code calling malloc/free through heap.imports()) has no one to throw
//     to: its exception goes to the report log (heap.reports()), never left pending for an unrelated
//     later call.
//   - Every TS path that may run a callback counts itself in tsCalls around its Wasm call (enter /
//     leave); the plain fast paths run only while no callback can (no ctor, no destructor, no shrinker,
//     no onReport: see armHooks), so they need not.
//   - Each bulk call takes its own staging buffer (takeStage / giveStage): a callback that re-enters a
//     bulk call during one never shares its buffer.
//   - Pointers read from the Wasm are u32 (`>>> 0` on every i32 result that is an address).
//   - A view returned by u8/dv/u32v is valid until the next call that may grow memory, and reaches every
//     block handed out so far, in any thread (a shared memory's lagging buffer is brought up to date with
//     memory.grow(0): #stale).
// Call tree: hook → (HOOK_CTOR) entry.ctor | (HOOK_DTOR) entry.destructor | (HOOK_SHRINK) shrinker |
//   (HOOK_REPORT) report → cacheName, tracksAt; logReport; onReport.
import { Abi as L, ErrorCodes, HookOps } from "./generated/abi.js";
import { NoCpuError, OutOfMemoryError, SlabError, reportError, reportKind, type DebugReport, type Track, type Tracks } from "./errors.js";
import type { SlabExports } from "./wasm.js";

/** The name errors give for the malloc heap (as a cache name). */
export const MALLOC_NAME = "malloc";

/** At most this many reports are kept by the report log (the oldest are dropped). */
export const MAX_REPORTS = 64;

/** What the core needs of a user cache: its identity and its callbacks. cache.ts's Cache is one. */
export interface CacheEntry {
  readonly id: number;
  readonly addr: number;
  readonly name: string;
  readonly ctor?: (ptr: number) => void;
  readonly destructor?: (ptr: number) => unknown;
  /** Take the checked path from now on (callbacks may run inside any allocation). */
  beCareful(): void;
  /** Count what JS did without the Wasm (a Cache's magazine) and, with giveBack, give it back. */
  settle?(giveBack: boolean): void;
}

/** One cache of the Wasm list, the heap's own included. */
export interface CacheRef {
  addr: number;
  name: string;
  /** The user cache, when it is one. */
  entry?: CacheEntry;
}

export class Core {
  /** The module's exports. */
  readonly w: SlabExports;
  /** The linear memory every pointer indexes. */
  readonly memory: WebAssembly.Memory;
  readonly nodes: number;
  readonly cpus: number;
  /** Address of the heap header. */
  readonly hdr: number;
  /** onOutOfMemory: 'throw' (true) or 'null'. */
  readonly oomThrows: boolean;
  /** The first exception a callback threw during the current Wasm call (see Invariants). */
  hookError: unknown = undefined;
  /** The user's onReport callback. */
  onReport: ((report: DebugReport) => void) | undefined = undefined;
  /** HOOK_SHRINK handler (the Reclaimer registers itself): pages freed for (node, pages wanted). */
  shrinker: ((node: number, wanted: number) => number) | undefined = undefined;
  /** Debug flags every cache created from now on gets (createAllocator's debug / inUseBits). */
  defaultFlags = 0;
  /** Shrinkers or destructors exist: any allocation may run them, so every cache is careful. */
  hooksArmed = false;
  /** Reported errors, as typed errors (heap.reports()). */
  readonly reportLog: SlabError[] = [];
  readonly #byId = new Map<number, CacheEntry>();
  readonly #internalNames = new Map<number, string>();
  /** Wasm calls made for TS callers now running (nested through callbacks). */
  tsCalls = 0;
  readonly #stages: number[] = []; // staging buffers not in use
  #buffer: ArrayBuffer | SharedArrayBuffer;
  /** The memory is shared (Workers): its buffer can lag another thread's grow (see #stale). */
  readonly #shared: boolean;
  #u8: Uint8Array;
  #dv: DataView;
  #u32: Uint32Array;

  constructor(memory: WebAssembly.Memory, w: SlabExports, nodes: number, cpusPerNode: number, oomThrows: boolean) {
    this.memory = memory;
    this.w = { ...(w as unknown as Record<string, unknown>) } as unknown as SlabExports; // a plain object: the instance's own is frozen (tests spy on calls)
    this.nodes = nodes;
    this.cpus = nodes * cpusPerNode;
    this.hdr = w.heap_addr() >>> 0;
    this.oomThrows = oomThrows;
    this.#buffer = memory.buffer;
    this.#shared = typeof SharedArrayBuffer !== "undefined" && this.#buffer instanceof SharedArrayBuffer;
    this.#u8 = new Uint8Array(this.#buffer);
    this.#dv = new DataView(this.#buffer);
    this.#u32 = new Uint32Array(this.#buffer, 0, this.#buffer.byteLength >>> 2);
  }

  /** The memory is a SharedArrayBuffer's (Workers may use the heap at the same time). */
  get shared(): boolean {
    return this.#shared;
  }

  // ---- memory views: re-taken in one place when the buffer changed -------------------------------

  #refresh(): void {
    this.#buffer = this.memory.buffer;
    this.#u8 = new Uint8Array(this.#buffer);
    this.#dv = new DataView(this.#buffer);
    this.#u32 = new Uint32Array(this.#buffer, 0, this.#buffer.byteLength >>> 2);
  }

  /** A shared memory grown by another thread: V8 hands this thread the new, longer SharedArrayBuffer only
   *  when it handles that grow here, so memory.buffer can still be the old one although a block this
   *  thread was just given lies past its end. The heap's high-water mark (H_HIGH_WATER, in the header:
   *  the end of every block ever handed out) tells; memory.grow(0) brings memory.buffer up to date. */
  #stale(): boolean {
    if (!this.#shared) return false;
    const hw = this.#u32[(this.hdr + L.H_HIGH_WATER) >>> 2] ?? 0;
    if (hw <= this.#buffer.byteLength) return false;
    this.memory.grow(0);
    return true;
  }

  /** Re-take the views if memory.buffer changed (a grow, here or, shared, in another thread). True when
   *  they changed. (memory.buffer is a call into the engine, tens of ns: asked by the view getters.) */
  syncViews(): boolean {
    let changed = false;
    if (this.#buffer !== this.memory.buffer) {
      this.#refresh();
      changed = true;
    }
    // even a new buffer can end before the high-water mark (shared: this thread grew, another further)
    if (this.#stale()) {
      this.#refresh();
      changed = true;
    }
    return changed;
  }

  /** A byte view of all of memory, valid until the next call that may grow memory. */
  get u8(): Uint8Array {
    this.syncViews();
    return this.#u8;
  }

  /** A DataView of all of memory (little-endian reads: pass `true`). */
  get dv(): DataView {
    this.syncViews();
    return this.#dv;
  }

  /** A Uint32Array of all of memory (index = address >>> 2; addresses of u32 fields are 4-aligned). */
  get u32v(): Uint32Array {
    this.syncViews();
    return this.#u32;
  }

  /** The u32 at addr. */
  u32(addr: number): number {
    return this.dv.getUint32(addr, true);
  }

  /** The u64 at addr, as a number (exact below 2^53). */
  u64(addr: number): number {
    const dv = this.dv;
    return dv.getUint32(addr, true) + dv.getUint32(addr + 4, true) * 2 ** 32;
  }

  // ---- hooks ---------------------------------------------------------------------------------------

  /** The env.hook import: constructors, reports, destructors (targeted reclaim) and shrinkers (memory
   *  pressure). Never throws (see Invariants). */
  hook(op: number, a: number, b: number, c: number): number {
    try {
      if (op === HookOps.CTOR) {
        this.#byId.get(a)?.ctor?.(b >>> 0);
        return 0;
      }
      if (op === HookOps.REPORT) {
        const r = this.report(a, b, c);
        this.logReport(r);
        this.onReport?.(r);
        return 0;
      }
      if (op === HookOps.DTOR) {
        const d = this.#byId.get(a)?.destructor;
        if (d === undefined) return 1; // no destructor: the object is not freed
        d(b >>> 0);
        return 0;
      }
      if (op === HookOps.SHRINK) return this.shrinker?.(a, b) ?? 0;
    } catch (e) {
      this.callbackFailed(e);
      if (op === HookOps.DTOR || op === HookOps.CTOR) return 1; // the callback failed: its object is not used
    }
    return 0;
  }

  /** A callback threw `e`: keep it for the TS caller of the running Wasm call (the first one wins), or,
   *  when C code made the call, log it (heap.reports()): nobody is left to throw it to. */
  callbackFailed(e: unknown): void {
    if (this.tsCalls > 0) {
      if (this.hookError === undefined) this.hookError = e;
      return;
    }
    const err = new SlabError(`wasm-slab: a callback threw during a call made by C code: ${e instanceof Error ? e.message : String(e)}`, ErrorCodes.INVALID);
    (err as { cause?: unknown }).cause = e;
    this.reportLog.push(err);
    if (this.reportLog.length > MAX_REPORTS) this.reportLog.shift();
  }

  /** A TS caller starts a Wasm call that may run callbacks (pair with leave(), in a finally). */
  enter(): void {
    this.tsCalls++;
  }

  leave(): void {
    this.tsCalls--;
  }

  /** Throw a hook's pending exception, if any. */
  rethrowHook(): void {
    if (this.hookError !== undefined) {
      const e = this.hookError;
      this.hookError = undefined;
      throw e;
    }
  }

  // ---- the registry of user caches -----------------------------------------------------------------

  register(entry: CacheEntry): void {
    this.#byId.set(entry.id, entry);
    if (this.hooksArmed) entry.beCareful();
  }

  forget(entry: CacheEntry): void {
    if (this.#byId.get(entry.id) === entry) this.#byId.delete(entry.id);
  }

  /** Before the heap's counters are read (stats, slabinfo: giveBack false), or the heap is read or
   *  changed as a whole (footprint, validate, shrink, reap, a pin: giveBack true), every cache counts its
   *  magazine's pops and pushes in the Wasm and, with giveBack, gives the magazine back. */
  settle(giveBack: boolean): void {
    for (const c of this.#byId.values()) c.settle?.(giveBack);
  }

  /** Every registered user cache, in creation order. */
  entries(): CacheEntry[] {
    return [...this.#byId.values()];
  }

  /** Shrinkers or destructors now exist: make every cache careful (its callbacks may run anywhere). */
  armHooks(): void {
    if (this.hooksArmed) return;
    this.hooksArmed = true;
    for (const c of this.#byId.values()) c.beCareful();
  }

  // ---- names ---------------------------------------------------------------------------------------

  /** Name of the cache at `addr` (`cache@0x…` for one the heap does not know). */
  cacheName(addr: number): string {
    addr >>>= 0;
    // (a C caller's handle may be garbage: check the bounds before the Wasm reads it)
    if (addr + L.C_HDR > this.memory.buffer.byteLength || !this.w.cache_valid(addr)) return `cache@0x${addr.toString(16)}`;
    const user = this.#byId.get(this.u32(addr + L.C_ID));
    if (user && user.addr === addr) return user.name;
    return this.walkCaches().find((c) => c.addr === addr)?.name ?? `cache@0x${addr.toString(16)}`;
  }

  /** All caches, the heap's own included, by walking the Wasm list. */
  walkCaches(): CacheRef[] {
    const out: CacheRef[] = [];
    const sheafBase = this.hdr + L.H_SHEAF_CACHES;
    const sheafNames = new Map<number, string>();
    for (let k = 0; k < L.SHEAF_CLASSES; k++) {
      const a = this.u32(sheafBase + 4 * k);
      if (a) sheafNames.set(a, `sheaf-${1 << (L.SHEAF_MIN_SHIFT + k)}`);
    }
    for (let c = this.w.cache_head() >>> 0; c !== 0; c = this.u32(c + L.C_NEXT)) {
      const user = this.#byId.get(this.u32(c + L.C_ID));
      const entry = user && user.addr === c ? user : undefined;
      const name = entry?.name ?? (c === this.hdr + L.H_BOOT ? "kmem_cache" : (sheafNames.get(c) ?? this.internalName(c)));
      out.push({ addr: c, name, entry });
    }
    return out;
  }

  /** Name of a heap-owned cache: kmalloc-N for malloc's size classes. */
  internalName(addr: number): string {
    if (addr === this.u32(this.hdr + L.H_DEBUG + L.DB_QUAR_CACHE)) return "quarantine"; // debug.ts
    const size = this.u32(addr + L.C_SIZE);
    if (this.u32(addr + L.C_FLAGS) & L.F_KMALLOC) return `kmalloc-${size}`;
    return this.#internalNames.get(addr) ?? `internal-${size}`;
  }

  nameInternal(addr: number, name: string): void {
    this.#internalNames.set(addr, name);
  }

  /** The most recently created cache (the tail of the Wasm list). */
  lastCache(): number {
    let last = 0;
    for (let c = this.w.cache_head() >>> 0; c !== 0; c = this.u32(c + L.C_NEXT)) last = c;
    return last;
  }

  /** A staging buffer of STAGE_BYTES in linear memory for one bulk call, its own until giveStage():
   *  a bulk call re-entered from a callback during another gets a different one. */
  takeStage(): number {
    const free = this.#stages.pop();
    if (free !== undefined) return free;
    const p = this.w.stage_alloc() >>> 0;
    if (p === 0) {
      if (this.w.last_error() === ErrorCodes.NO_CPU) throw new NoCpuError("a bulk staging buffer"); // shared heap
      throw new OutOfMemoryError("a bulk staging buffer", L.STAGE_BYTES);
    }
    if (this.#stageCache === 0) {
      this.#stageCache = this.lastCache(); // the first stage_alloc created the staging cache
      this.nameInternal(this.#stageCache, "bulk-stage");
    }
    return p;
  }

  giveStage(p: number): void {
    this.#stages.push(p);
  }

  /** A staging buffer kept for the caller for good (benchmarks drive the raw bulk exports with it). */
  stage(): number {
    if (this.#ownStage === 0) this.#ownStage = this.takeStage();
    return this.#ownStage;
  }

  #ownStage = 0;

  #stageCache = 0;

  // ---- tracks and reports --------------------------------------------------------------------------

  /** The tracks of object `ptr` of the cache at `cacheAddr`, if that cache stores them. */
  tracksAt(cacheAddr: number, ptr: number): Tracks | undefined {
    if ((cacheAddr >>> 0) + L.C_HDR > this.memory.buffer.byteLength) return undefined;
    const a = this.w.debug_track(cacheAddr, ptr, 0) >>> 0;
    if (a === 0 || a + 2 * L.TRACK_SIZE > this.memory.buffer.byteLength) return undefined;
    const one = (t: number): Track | undefined => {
      const dv = this.dv;
      if (dv.getUint8(t + L.T_SET) === 0) return undefined;
      return {
        tag: dv.getUint32(t + L.T_TAG, true),
        cpu: dv.getUint16(t + L.T_CPU, true),
        node: dv.getUint8(t + L.T_NODE),
        clock: dv.getUint32(t + L.T_CLOCK, true),
        stamp: dv.getUint32(t + L.T_STAMP, true),
      };
    };
    const alloc = one(a);
    const free = one(a + L.TRACK_SIZE);
    if (!alloc && !free) return {};
    return { alloc, free };
  }

  /** The report of error `code` about `ptr` in the cache at `cacheAddr`, with the detail the Wasm left
   *  in the heap header (valid during the report hook and right after the failed call). */
  report(code: number, ptr: number, cacheAddr: number): DebugReport {
    const w = this.w;
    ptr >>>= 0; // i32 at the boundary
    cacheAddr >>>= 0;
    const kind = reportKind(code);
    return {
      code,
      kind,
      cache: cacheAddr === 0 ? MALLOC_NAME : this.cacheName(cacheAddr),
      ptr,
      offset: w.last_error_offset(),
      found: w.last_error_found(),
      expected: w.last_error_expected(),
      tracks: kind === "invalid-free" ? undefined : this.tracksAt(cacheAddr, ptr),
    };
  }

  /** The report of the last failed call (from the error detail in the heap header). */
  lastReport(code: number): DebugReport {
    return this.report(code, this.w.last_error_addr(), this.w.last_error_cache());
  }

  /** Keep a report (every HOOK_REPORT) as a typed error for heap.reports(). */
  logReport(r: DebugReport): void {
    this.reportLog.push(reportError(r));
    if (this.reportLog.length > MAX_REPORTS) this.reportLog.shift();
  }
}
