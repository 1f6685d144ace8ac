// reclaim.ts (bindings) — the TS side of reclaim: the reap timer, shrinkers, memory.discard, and the
// figures. The policies themselves (reap, shrink, pressure order, targeted reclaim) are in
// assembly/reclaim.ts; this file drives them and answers the host hooks they make.
//
// Owns: one Reclaimer per Heap (heap.reclaimer): the registered shrinkers, the reap timer, the
// memory.discard sweep and its counters. Entry points: Heap.reap(), Heap.shrink(),
// Heap.registerShrinker(), Heap.close(), Cache.shrink(), Cache.reclaim() (heap.ts) call in here;
// Heap.hook() hands HOOK_SHRINK to shrink().
//
// The reap timer holds the heap only through a WeakRef and is unref'd: it neither keeps the process
// alive nor the heap reachable. heap.close() stops it.
//
// memory.discard: where the engine has WebAssembly.Memory#discard(byteOffset, byteLength) (the memory
// control proposal; feature-detected on the heap's memory at each sweep), every wholly free chunk is
// discarded after reap, shrink and reclaim, except its first 64 KiB (descriptors; discard works in
// 64 KiB pages). Without it, free chunks stay committed and stats() says so (freeCommittedBytes).
import type { Heap } from "./heap.js";
import { InvalidArgumentError } from "./errors.js";

/** createAllocator({ reap }) — periodic reaping. */
export interface ReapOptions {
  /** Milliseconds between two reap passes (each pass reaps one CPU, round robin). Default 2000. */
  intervalMs?: number;
}

export const DEFAULT_REAP_INTERVAL_MS = 2000;

/** A shrinker: called under memory pressure with the node short of memory and the pages wanted. It
 *  frees what it can (typically objects it caches, back into the heap) and returns the pages it thinks
 *  it freed (0 when it freed nothing). It may call the allocator; a shortage inside it fails plainly. */
export type Shrinker = (node: number, pagesWanted: number) => number;

/** A reclaimable cache's destructor: called for an object whose count is 1 (unused but cached) that
 *  reclaim is about to free. It must drop the owner's references (e.g. delete it from an index) and must
 *  not free the object; it may be a JS function or a function exported by a Wasm module. */
export type Destructor = (ptr: number) => unknown;

/** What one heap.reap() pass did. */
export interface ReapResult {
  /** The CPU that was reaped. */
  cpu: number;
  /** Pages given back to the page allocator (empty slabs). */
  pages: number;
}

/** Reclaim activity since the heap was created. */
export interface ReclaimCounters {
  reapPasses: number;
  shrinkerCalls: number;
  /** Pages the shrinkers said they freed. */
  shrinkerPages: number;
  /** Objects destroyed by targeted reclaim (destructor run, object freed). */
  objectsReclaimed: number;
  /** Chunks handed to memory.discard. */
  chunksDiscarded: number;
}

const CHUNK = 1 << 20;
const MAX_I32 = 0x7fffffff;

type DiscardFn = (byteOffset: number, byteLength: number) => void;

export class Reclaimer {
  readonly #heap: Heap;
  #shrinkers: Shrinker[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #discardBroken = false;
  #counters = { reapPasses: 0, shrinkerCalls: 0, shrinkerPages: 0, chunksDiscarded: 0 };

  constructor(heap: Heap) {
    this.#heap = heap;
  }

  /** Start the periodic reap (called by createAllocator). */
  startTimer(intervalMs: number): void {
    this.stopTimer();
    const ref = new WeakRef(this.#heap);
    const t = setInterval(() => {
      const h = ref.deref();
      if (h === undefined) clearInterval(t);
      else h.reap();
    }, intervalMs);
    (t as { unref?: () => void }).unref?.();
    this.#timer = t;
  }

  stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  get timerRunning(): boolean {
    return this.#timer !== undefined;
  }

  reap(cpu?: number): ReapResult {
    const h = this.#heap;
    if (cpu !== undefined && (!Number.isInteger(cpu) || cpu < 0 || cpu >= h.cpus)) {
      throw new InvalidArgumentError(`reap(${cpu}): CPUs are 0..${h.cpus - 1}`);
    }
    const which = cpu ?? h.u32(h.hdr + h.L.H_REAP_PASSES!) % h.cpus;
    const pages = h.wasm.reap_pass(which);
    this.#counters.reapPasses++;
    this.discardFree();
    return { cpu: which, pages };
  }

  register(fn: Shrinker): () => void {
    if (typeof fn !== "function") throw new InvalidArgumentError("registerShrinker: a shrinker is a function");
    this.#heap.armHooks();
    this.#shrinkers.push(fn);
    return () => {
      const i = this.#shrinkers.indexOf(fn);
      if (i >= 0) this.#shrinkers.splice(i, 1);
    };
  }

  /** HOOK_SHRINK: ask the shrinkers in registration order until they report `wanted` pages. A shrinker
   *  that throws counts 0; its exception is kept for the caller (heap.hookError). */
  shrink(node: number, wanted: number): number {
    let got = 0;
    for (const fn of [...this.#shrinkers]) {
      this.#counters.shrinkerCalls++;
      try {
        const r = Number(fn(node, wanted));
        if (Number.isFinite(r) && r > 0) got += Math.floor(r);
      } catch (e) {
        if (this.#heap.hookError === undefined) this.#heap.hookError = e;
      }
      if (got >= wanted) break;
    }
    this.#counters.shrinkerPages += got;
    return Math.min(got, MAX_I32);
  }

  /** Hand every free chunk not yet discarded to memory.discard, where the engine has it. */
  discardFree(): number {
    const h = this.#heap;
    const discard = (h.memory as unknown as { discard?: DiscardFn }).discard;
    if (typeof discard !== "function" || this.#discardBroken) return 0;
    const chunkBase = h.u32(h.hdr + h.L.H_CHUNK_BASE!);
    const { lead, tail } = discardBounds(chunkBase, h.L.DISCARD_SKIP!);
    let n = 0;
    for (let i = h.wasm.discard_next(0); i >= 0; i = h.wasm.discard_next(i + 1)) {
      // The top chunk may be committed only in part (page blocks are committed lazily): discard what is.
      const start = chunkBase + i * CHUNK + lead;
      const end = Math.min(chunkBase + (i + 1) * CHUNK - tail, h.memory.buffer.byteLength);
      try {
        if (end > start) discard.call(h.memory, start, end - start);
      } catch {
        // The engine refused (e.g. a memory kind it cannot discard): stop trying. The chunk was marked
        // discarded by discard_next; unmark it so the figures stay honest.
        this.#discardBroken = true;
        h.wasm.discard_unmark(i);
        break;
      }
      n++;
    }
    this.#counters.chunksDiscarded += n;
    return n;
  }

  /** Whether this heap's memory can be discarded (the engine's WebAssembly.Memory#discard). */
  get discardSupported(): boolean {
    return typeof (this.#heap.memory as unknown as { discard?: DiscardFn }).discard === "function" && !this.#discardBroken;
  }

  counters(): ReclaimCounters {
    return { ...this.#counters, objectsReclaimed: this.#heap.wasm.reclaim_destroyed() };
  }
}

/** Where memory.discard (64 KiB pages) may start and end inside a chunk: from the first 64 KiB boundary
 *  past its descriptors (`lead` bytes in) to the last 64 KiB boundary in it (`tail` bytes before its end).
 *  chunkBase is 32 KiB-aligned, so either lead = 64 KiB and tail = 0, or lead = tail = 32 KiB: the
 *  discarded length of a whole chunk is CHUNK_SIZE - DISCARD_SKIP either way. */
export function discardBounds(chunkBase: number, skip: number): { lead: number; tail: number } {
  const off = chunkBase % skip;
  return off === 0 ? { lead: skip, tail: 0 } : { lead: skip - off, tail: off };
}
