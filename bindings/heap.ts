// heap.ts — the TS face of one wasm-slab heap: topology, pinning, caches, stats, slabinfo, validate.
//
// Owns: the Wasm instance, the memory, views over it (re-taken whenever memory has grown: a grow
// detaches the old ArrayBuffer), the registry of Cache objects by cache id (for host hooks and names),
// and option defaults. Entry point: createAllocator() (index.ts re-exports it).
import {
  CacheBusyError,
  CacheDestroyedError,
  CorruptionError,
  ErrorCode,
  InvalidArgumentError,
  OutOfMemoryError,
  SlabError,
  freeError,
  type ValidateProblem,
} from "./errors.js";
import { STAT_NAMES, zeroCounters, type CacheStats, type Counters, type HeapStats } from "./stats.js";
import { instantiateSlab, type SlabExports } from "./wasm.js";
import * as km from "./malloc.js";

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
  /** Called when C code passes a bad pointer to free / realloc / malloc_usable_size (nothing was
   *  changed; the error is also kept in heap.reports()). Default: none. */
  onReport?: (err: SlabError) => void;
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
} as const;

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
  /** Per-CPU array capacity; 0 turns arrays off. Default by object size: ≥4096 B: 4, ≥1024: 12,
   *  ≥256: 26, else 60. */
  arrayCapacity?: number;
}

const HOOK_CTOR = 1;
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
  /** @internal Bad pointers reported by C code (bindings/malloc.ts). */ reportLog: SlabError[] = [];
  /** @internal */ onReport?: (err: SlabError) => void;
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
    const addr = this.wasm.cache_create(size, align, flags, arrayCapacity ?? DEFAULT_CAP);
    if (addr === 0) {
      const code = this.wasm.last_error();
      if (code === ErrorCode.NOMEM) throw new OutOfMemoryError(`cache '${name}'`, this.u32(this.hdr + this.L.H_CACHE_BYTES!));
      throw new InvalidArgumentError(`cache '${name}': rejected (code ${code})`);
    }
    const cache = new Cache(this, name, addr, ctor);
    this.#byId.set(cache.id, cache);
    return cache;
  }

  /** @internal */ forget(cache: Cache): void {
    this.#byId.delete(cache.id);
  }

  /** @internal The env.hook import: constructors (and later destructors, shrinkers, reports). */
  hook(op: number, a: number, b: number, _c: number): number {
    try {
      if (op === HOOK_CTOR) {
        this.#byId.get(a)?.ctor?.(b);
        return 0;
      }
      if (op === HOOK_REPORT) {
        km.report(this, a, b);
        return 0;
      }
    } catch (e) {
      // Never let a JS exception unwind through the allocator mid-operation: keep the first one and
      // rethrow it when the Wasm call has finished (see Cache.alloc).
      if (this.hookError === undefined) this.hookError = e;
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
    return {
      bytesGrown: chunks * L.CHUNK_SIZE!,
      headerBytes: chunkBase - this.hdr,
      chunks,
      freePages,
      slabPages,
      largePages,
      activeObjects: active,
      totalObjects: total,
    };
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
  #dead = false;

  /** @internal */
  constructor(heap: Heap, name: string, addr: number, ctor?: (ptr: number) => void) {
    this.heap = heap;
    this.name = name;
    this.addr = addr;
    this.id = heap.u32(addr + heap.L.C_ID!);
    this.ctor = ctor;
  }

  get destroyed(): boolean {
    return this.#dead;
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

  #check(): void {
    if (this.#dead) throw new CacheDestroyedError(this.name);
  }

  #oom(): number {
    const h = this.heap;
    h.rethrowHook();
    if (h.oomThrows) throw new OutOfMemoryError(`an object of cache '${this.name}'`, this.size);
    return 0;
  }

  /** Allocate one object on the current CPU. Returns its address (or 0 with onOutOfMemory 'null'). */
  alloc(): number {
    if (this.#dead) this.#check();
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
    if (this.#dead) this.#check();
    const e = this.heap.wasm.cache_free(this.addr, ptr >>> 0);
    if (e !== 0) throw freeError(e, ptr, this.name);
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
        if (done > 0) this.freeBulk(out.subarray(0, done)); // all or nothing
        h.rethrowHook();
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
      if (e !== 0) throw freeError(e, chunk[h.wasm.bulk_bad_index()]!, this.name);
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
    if (e === ErrorCode.BUSY) throw new CacheBusyError(this.name, this.heap.wasm.cache_live(this.addr));
    if (e !== 0) throw new SlabError(`wasm-slab: destroy '${this.name}' failed (code ${e})`, e);
    this.#dead = true;
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
  heap.onReport = options.onReport;
  return heap;
}
