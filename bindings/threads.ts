// threads.ts — shared heaps: one WebAssembly.Memory, one instance of the threaded Wasm build per thread.
//
// Owns: the threaded module (compiled once per flavour), the shared memory's sizing, SharedHeap (Heap plus
// CPU ownership, handles, requests to other CPUs' owners), attachAllocator(), and the thread errors
// (CpuBusyError, NoCpuError, LockTimeoutError: errors.ts).
// Entry points: createAllocator({ shared: true }) (heap.ts calls sharedMemory / instantiateShared /
// newSharedHeap here), heap.handle(), attachAllocator(handle), heap.releaseCpu(), heap.recoverCpu(cpu).
// Called by: heap.ts (createAllocator, through a dynamic import: only shared heaps load it), users.
// Calls: wasm.ts (instantiateModule), core.ts (Core), heap.ts (Heap, Cache), cache.ts (makeCache), errors.ts.
//
// The model (assembly/threads.ts has the Wasm side):
//   - Every thread (main or Worker) that uses the heap has its own instance; Wasm globals are per instance,
//     so each instance runs as one CPU, which it owns exclusively through an atomic owner word. The
//     per-CPU fast path therefore needs no atomic instruction. An instance without a CPU (released, or
//     refused) gets E_NO_CPU from every operation (NoCpuError for the TS calls that check codes).
//   - heap.handle() is structured-cloneable: { memory, module, heap address, topology, options, caches }.
//     A Worker calls attachAllocator(handle) and gets a SharedHeap on its own instance, CPU claimed.
//   - Arrays of another CPU are never touched: heap.shrink(), reap and pressure reclaim drain this
//     instance's CPU and post requests to the other owners, honoured at their next slow path or API call
//     (heap.poll()). heap.drainOthers() / heap.shrinkAll() wait for them, bounded by a timeout.
//   - validate() walks every structure as it stands: it is a quiescent check, meaningful when no other
//     thread is inside an allocator call (for example after the Workers stopped, released, or parked on
//     a barrier). Counters and stats summed across CPUs are likewise snapshots.
//   - Locks (sync.ts) spin and then wait with Atomics.wait where the thread may block; on a browser's main
//     thread (where waiting traps) they only spin. A lock not obtained within lockTimeoutMs traps the call
//     (a WebAssembly.RuntimeError): its holder died inside the allocator. heap.lockTimedOut() names the word;
//     asLockTimeout(err) turns such a trap into a LockTimeoutError.
//   - A Worker that dies (terminate, crash) while owning a CPU: another thread calls heap.recoverCpu(cpu):
//     the CPU's arrays go back to the slabs (no object lost) and the CPU is free again. Objects the dead
//     Worker held are still allocated: whoever knows them frees them. A Worker killed inside an allocator
//     call may leave a lock held: unsupported, detected by the lock timeout.
import { CpuBusyError, InvalidArgumentError, LockTimeoutError, NoCpuError, SlabError } from "./errors.js";
import { Abi, ErrorCodes } from "./generated/abi.js";
import { Cache, Heap } from "./heap.js";
import { Core } from "./core.js";
import { makeCache } from "./cache.js";
import { instantiateModule, threadedWasmBytes, type HookFn, type SlabExports, type SlabInstance } from "./wasm.js";

/** The threads ABI of the threaded build (assembly/index.ts, "threads"): part of the generated
 *  SlabExports; named here for what this file uses. */
export type ThreadExports = Pick<SlabExports,
  "threaded" | "thread_attach" | "thread_token" | "thread_block" | "cpu_claim" | "cpu_release" | "cpu_recover" |
  "cpu_owner" | "cpu_request" | "cpu_requests_done" | "thread_poll" | "thread_set_wait" | "thread_lock_timed_out" |
  "locks_held" | "current_cpu">;

const E_BUSY = ErrorCodes.BUSY;
const E_NO_CPU = ErrorCodes.NO_CPU; // assembly/layout.ts E_NO_CPU, read from the module at build time
const ANY_CPU = 0xffffffff;
const REQ_DRAIN = 1;
const REQ_REAP = 2;

/** What a Worker needs to attach: structured-cloneable (postMessage it). */
export interface SharedHandle {
  kind: "wasm-slab/shared";
  version: 1;
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  /** Address of the heap header. */
  heap: number;
  nodes: number;
  cpusPerNode: number;
  debugBuild: boolean;
  onOutOfMemory: "throw" | "null";
  /** User caches known to the sender, so the receiver can use them by name. */
  caches: { name: string; addr: number }[];
}

/** Options of a thread's instance (createAllocator({ shared: true, ... }) and attachAllocator). */
export interface ThreadOptions {
  /** CPU to claim. Default: the first free one. */
  cpu?: number;
  /** May this thread block in Atomics.wait? Default: false on a browser's main thread, true elsewhere. */
  canWait?: boolean;
  /** Give up on a lock after about this many ms (the call traps; see LockTimeoutError). Default 30 000. */
  lockTimeoutMs?: number;
}

const compiled = new Map<boolean, Promise<WebAssembly.Module>>();

/** The threaded build, compiled once per flavour. */
export function compileThreaded(debug: boolean): Promise<WebAssembly.Module> {
  let m = compiled.get(debug);
  if (!m) {
    m = threadedWasmBytes(debug).then((bytes) => WebAssembly.compile(bytes));
    compiled.set(debug, m);
  }
  return m;
}

/** Bytes above maxBytes a shared memory's maximum leaves for the header and the embedder's data. */
const HEADER_SLACK = 1 << 20;

/** A shared memory whose maximum holds `maxBytes` of chunks (0: all of wasm32) above `heapBase`. */
export function sharedMemory(maxBytes: number, heapBase: number): WebAssembly.Memory {
  const bytes = maxBytes > 0 ? maxBytes + heapBase + HEADER_SLACK : 2 ** 32;
  const maximum = Math.min(65536, Math.ceil(bytes / 65536));
  return new WebAssembly.Memory({ initial: 1, maximum, shared: true });
}

function isSharedMemory(m: unknown): m is WebAssembly.Memory {
  return m instanceof WebAssembly.Memory && typeof SharedArrayBuffer !== "undefined" && m.buffer instanceof SharedArrayBuffer;
}

/** @internal createAllocator({ shared: true }): instantiate the threaded build over `memory`. */
export async function instantiateShared(memory: WebAssembly.Memory, hook: HookFn, debug: boolean): Promise<SlabInstance & { module: WebAssembly.Module }> {
  if (!isSharedMemory(memory)) throw new InvalidArgumentError("shared: true needs a shared WebAssembly.Memory (memory option)");
  const module = await compileThreaded(debug);
  const inst = await instantiateModule(module, memory, hook);
  return { ...inst, module };
}

/** The default wait policy: a browser's main thread must not block. */
function defaultCanWait(): boolean {
  const g = globalThis as { window?: unknown; WorkerGlobalScope?: unknown; document?: unknown };
  if (g.WorkerGlobalScope !== undefined) return true;
  return g.window === undefined && g.document === undefined;
}

function checkThreadOptions(o: ThreadOptions, cpus: number): void {
  if (o.cpu !== undefined && (!Number.isInteger(o.cpu) || o.cpu < 0 || o.cpu >= cpus)) {
    throw new InvalidArgumentError(`cpu ${o.cpu}: CPUs are 0..${cpus - 1}`);
  }
  if (o.lockTimeoutMs !== undefined && (typeof o.lockTimeoutMs !== "number" || !(o.lockTimeoutMs >= 1) || o.lockTimeoutMs > 2 ** 31)) {
    throw new InvalidArgumentError(`lockTimeoutMs ${o.lockTimeoutMs} is not in 1..2^31`);
  }
  if (o.canWait !== undefined && typeof o.canWait !== "boolean") throw new InvalidArgumentError("canWait is a boolean");
}

/** A request posted to another CPU's owner: done when that CPU's doneSeq reaches `seq`. */
interface Ticket {
  cpu: number;
  seq: number;
}

/** A heap in shared memory, seen from one thread (its own instance, owning one CPU). */
export class SharedHeap extends Heap {
  /** @internal */ readonly t: ThreadExports;
  /** The threaded module (what handle() passes on). */
  readonly module: WebAssembly.Module;
  readonly debugBuild: boolean;
  readonly cpusPerNode: number;
  #canWait = true;

  /** @internal Made by createAllocator({ shared: true }) and attachAllocator. */
  constructor(core: Core, module: WebAssembly.Module, debugBuild: boolean) {
    super(core);
    this.t = core.w;
    this.module = module;
    this.debugBuild = debugBuild;
    this.cpusPerNode = core.cpus / core.nodes;
  }

  /** @internal Set the wait policy of this instance's locks. */
  setWaitPolicy(o: ThreadOptions): void {
    this.#canWait = o.canWait ?? defaultCanWait();
    this.t.thread_set_wait(this.#canWait ? 1 : 0, Math.ceil(o.lockTimeoutMs ?? 30000));
  }

  /** This instance's token (the value its CPU's owner word holds). */
  get token(): number {
    return this.t.thread_token() >>> 0;
  }

  /** The CPU this thread owns, or -1 when it owns none. */
  override get cpu(): number {
    const c = this.t.current_cpu();
    return c >= this.cpus ? -1 : c;
  }

  /** Token of the instance owning `cpu` (0: free). */
  owner(cpu: number): number {
    this.#checkCpu(cpu);
    return this.t.cpu_owner(cpu) >>> 0;
  }

  #checkCpu(cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.cpus) throw new InvalidArgumentError(`CPU ${cpu}: CPUs are 0..${this.cpus - 1}`);
  }

  /** Claim `cpu` (default: the first free one) for this thread. Throws CpuBusyError when it is owned. */
  claimCpu(cpu?: number): number {
    if (cpu !== undefined) this.#checkCpu(cpu);
    if (this.cpu >= 0) throw new InvalidArgumentError(`this thread owns CPU ${this.cpu} already: releaseCpu() first`);
    const e = this.t.cpu_claim(cpu ?? ANY_CPU);
    if (e === E_BUSY) throw new CpuBusyError(cpu ?? -1);
    if (e !== 0) throw new InvalidArgumentError(`claimCpu(${cpu}): code ${e}`);
    return this.cpu;
  }

  /** Flush this thread's CPU's arrays (every cache) back to the slabs and give the CPU up. */
  releaseCpu(): void {
    const e = this.t.cpu_release();
    if (e === E_NO_CPU) throw new NoCpuError("releaseCpu()");
    if (e !== 0) throw new SlabError(`wasm-slab: releaseCpu failed with code ${e}`, e);
  }

  /** In a shared heap, pinning is claiming: release this thread's CPU and claim `cpu`. */
  override pin(cpu: number): void {
    this.#checkCpu(cpu);
    if (this.cpu === cpu) return;
    if (this.owner(cpu) !== 0) throw new CpuBusyError(cpu);
    if (this.cpu >= 0) this.releaseCpu();
    this.claimCpu(cpu);
  }

  /** Take over `cpu` whose owning thread is gone (terminated without releaseCpu): its arrays go back to
   *  the slabs and the CPU is free again. The caller vouches that the owner is dead. Returns false when
   *  the CPU had no owner (nothing to recover). */
  recoverCpu(cpu: number): boolean {
    this.#checkCpu(cpu);
    for (let attempt = 0; attempt < 4; attempt++) {
      const dead = this.owner(cpu);
      if (dead === 0) return false;
      if (dead === this.token) throw new InvalidArgumentError(`recoverCpu(${cpu}): this thread owns it (releaseCpu())`);
      const e = this.t.cpu_recover(cpu, dead);
      if (e === 0) return true;
      if (e !== E_BUSY) throw new InvalidArgumentError(`recoverCpu(${cpu}): code ${e}`);
    }
    throw new CpuBusyError(cpu);
  }

  /** Honour what other threads asked of this thread's CPU (drain, reap) now. Slow paths do it anyway;
   *  a thread that stops allocating for a while should call this (or releaseCpu) now and then. */
  poll(): void {
    if (this.t.thread_poll() === E_NO_CPU) throw new NoCpuError("poll()");
  }

  /** Post a drain request to every other owned CPU; the tickets to wait for. */
  #postAll(bits: number): Ticket[] {
    const out: Ticket[] = [];
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      const seq = this.t.cpu_request(cpu, bits) >>> 0;
      if (seq !== 0) out.push({ cpu, seq });
    }
    return out;
  }

  #doneWord(cpu: number): number {
    return ((this.t.thread_block() >>> 0) + cpu * 16 + 12) >>> 2;
  }

  #isDone(i32: Int32Array, k: Ticket): boolean {
    if (this.t.cpu_owner(k.cpu) === 0) return true; // released or recovered: its arrays are empty
    return ((Atomics.load(i32, this.#doneWord(k.cpu)) - k.seq) | 0) >= 0;
  }

  /** Wait for tickets, up to timeoutMs in all. Returns the CPUs still pending. */
  async #wait(tickets: Ticket[], timeoutMs: number): Promise<number[]> {
    const deadline = Date.now() + timeoutMs;
    const pending: number[] = [];
    for (const k of tickets) {
      for (;;) {
        const i32 = new Int32Array(this.memory.buffer);
        if (this.#isDone(i32, k)) break;
        const left = deadline - Date.now();
        if (left <= 0) { pending.push(k.cpu); break; }
        const idx = this.#doneWord(k.cpu);
        const cur = Atomics.load(i32, idx);
        const step = Math.min(left, 20);
        const waitAsync = (Atomics as unknown as { waitAsync?: (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: Promise<string> | string } }).waitAsync;
        if (waitAsync !== undefined) {
          const r = waitAsync(i32, idx, cur, step);
          if (r.async) await r.value;
        } else if (this.#canWait) {
          Atomics.wait(i32, idx, cur, step);
        } else {
          await new Promise((res) => setTimeout(res, 1));
        }
      }
    }
    return pending;
  }

  /** Ask every other CPU's owner to flush its arrays and wait (up to timeoutMs, default 2000) until they
   *  did. Returns the CPUs whose owners did not answer in time (they honour the request later). */
  async drainOthers(opts: { timeoutMs?: number } = {}): Promise<number[]> {
    return this.#wait(this.#postAll(REQ_DRAIN), opts.timeoutMs ?? 2000);
  }

  /** Ask every other CPU's owner for a reap pass; wait as drainOthers does. */
  async reapOthers(opts: { timeoutMs?: number } = {}): Promise<number[]> {
    return this.#wait(this.#postAll(REQ_REAP), opts.timeoutMs ?? 2000);
  }

  /** shrink() for a shared heap: every other owner flushes its arrays first (bounded wait), then every
   *  empty slab goes back. `pending`: CPUs whose owners did not answer in time. */
  async shrinkAll(opts: { timeoutMs?: number } = {}): Promise<{ pages: number; pending: number[] }> {
    const pending = await this.drainOthers(opts);
    return { pages: this.shrink(), pending };
  }

  /** The lock word a waiter of this instance gave up on (0: none). */
  lockTimedOut(): number {
    return this.t.thread_lock_timed_out() >>> 0;
  }

  /** Turn a trap from a lock timeout into a LockTimeoutError (other errors are returned as they are). */
  asLockTimeout(err: unknown): unknown {
    const w = this.lockTimedOut();
    return w !== 0 && err instanceof WebAssembly.RuntimeError ? new LockTimeoutError(w) : err;
  }

  /** A descriptor another thread passes to attachAllocator (postMessage-able). */
  handle(): SharedHandle {
    const caches = this.caches().filter((c) => !c.destroyed).map((c) => ({ name: c.name, addr: c.addr }));
    return {
      kind: "wasm-slab/shared",
      version: 1,
      memory: this.memory,
      module: this.module,
      heap: this.hdr,
      nodes: this.nodes,
      cpusPerNode: this.cpusPerNode,
      debugBuild: this.debugBuild,
      onOutOfMemory: this.core.oomThrows ? "throw" : "null",
      caches: dedupe(caches),
    };
  }

  /** A cache by name: one this thread created, or one the handle it attached with named. */
  cache(name: string): Cache | undefined {
    return this.caches().find((c) => c.name === name && !c.destroyed);
  }

  /** Use a cache another thread created (its address, e.g. from a handle) under `name` in this thread. */
  adopt(name: string, addr: number): Cache {
    if (!Number.isInteger(addr) || addr <= 0 || addr + Abi.C_HDR > this.memory.buffer.byteLength || !this.core.w.cache_valid(addr)) {
      throw new InvalidArgumentError(`cache '${name}' at ${addr} is not a cache of this heap`);
    }
    const c = makeCache(this, this.core, this.reclaimer, name, addr);
    this.core.register(c);
    return c;
  }
}

function dedupe(list: { name: string; addr: number }[]): { name: string; addr: number }[] {
  const seen = new Set<number>();
  return list.filter((c) => (seen.has(c.addr) ? false : (seen.add(c.addr), true)));
}

/** @internal createAllocator({ shared: true }): the heap object of the creating thread. */
export function newSharedHeap(core: Core, module: WebAssembly.Module, debugBuild: boolean): SharedHeap {
  return new SharedHeap(core, module, debugBuild);
}

/** @internal createAllocator({ shared: true }), after init: the wait policy and the creator's CPU. */
export function startShared(heap: Heap, options: ThreadOptions): void {
  const h = heap as SharedHeap;
  checkThreadOptions(options, h.cpus);
  h.setWaitPolicy(options);
  h.claimCpu(options.cpu);
}

/** Attach this thread to a shared heap created elsewhere: its own instance over the same memory, one
 *  CPU claimed (options.cpu, default the first free one; CpuBusyError when it is owned). */
export async function attachAllocator(handle: SharedHandle, options: ThreadOptions = {}): Promise<SharedHeap> {
  if (typeof handle !== "object" || handle === null || handle.kind !== "wasm-slab/shared" || handle.version !== 1) {
    throw new InvalidArgumentError("attachAllocator: not a handle from heap.handle()");
  }
  if (!isSharedMemory(handle.memory)) throw new InvalidArgumentError("attachAllocator: the handle's memory is not shared");
  if (!(handle.module instanceof WebAssembly.Module)) throw new InvalidArgumentError("attachAllocator: the handle has no module");
  checkThreadOptions(options, handle.nodes * handle.cpusPerNode);
  let core: Core | undefined;
  const inst = await instantiateModule(handle.module, handle.memory, (op, a, b, c) => core!.hook(op, a, b, c));
  const w = inst.exports;
  if (!w.threaded()) throw new InvalidArgumentError("attachAllocator: the handle's module is not the threaded build");
  const e = w.thread_attach(handle.heap);
  if (e !== 0) throw new InvalidArgumentError(`attachAllocator: no shared heap at ${handle.heap} (code ${e})`);
  core = new Core(handle.memory, w, handle.nodes, handle.cpusPerNode, handle.onOutOfMemory !== "null");
  core.defaultFlags = w.debug_defaults() >>> 0;
  const heap = new SharedHeap(core, handle.module, handle.debugBuild);
  heap.setWaitPolicy(options);
  heap.claimCpu(options.cpu);
  for (const c of handle.caches) heap.adopt(c.name, c.addr);
  return heap;
}
