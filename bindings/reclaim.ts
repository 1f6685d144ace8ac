// reclaim.ts (bindings) — the TS side of reclaim: the reap timer, shrinkers, memory.discard, and the
// figures. The policies themselves (reap, shrink, pressure order, targeted reclaim) are in
// assembly/reclaim.ts; this file drives them and answers the host hooks they make.
//
// Owns: one Reclaimer per heap: the registered shrinkers, the reap timer, the memory.discard sweep and
// its counters. Entry points: Heap.reap(), Heap.shrink(), Heap.registerShrinker(), Heap.close(),
// Cache.shrink(), Cache.reclaim() (heap.ts, cache.ts) call in here; the Reclaimer registers itself as
// the core's HOOK_SHRINK handler (core.shrinker) when it is made, so core never imports this file.
// Calls: core.ts, introspection.ts (discardBounds), args.ts, errors.ts, generated/abi.ts.
//
// The reap timer holds only a WeakRef to its `reapTarget` (the Heap) and is unref'd: it neither keeps
// the process alive nor the heap reachable. heap.close() stops it.
//
// memory.discard: where the engine has WebAssembly.Memory#discard(byteOffset, byteLength) (the memory
// control proposal; feature-detected on the heap's memory at each sweep), every wholly free chunk is
// discarded after reap, shrink and reclaim, except its first 64 KiB (descriptors; discard works in
// 64 KiB pages). Without it, free chunks stay committed and stats() says so (freeCommittedBytes).
// A shared heap (Workers) never discards: the Wasm marks a free chunk (discard_next) and this thread calls
// the engine after, and another thread could take that chunk from its node in between and lose what it
// wrote to the discard's zeroes.
import { Abi as L } from "./generated/abi.js";
import { InvalidArgumentError } from "./errors.js";
import { indexArg } from "./args.js";
import { discardBounds } from "./introspection.js";
import type { Core } from "./core.js";
import type { ReclaimCounters } from "./stats.js";

/** A memory shared between threads (see the header: such a heap never discards). */
function isShared(m: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== "undefined" && m.buffer instanceof SharedArrayBuffer;
}

export { DEFAULT_REAP_INTERVAL_MS, type ReapOptions, type Destructor } from "./options.js";
export type { ReclaimCounters } from "./stats.js";

/** A shrinker: called under memory pressure with the node short of memory and the pages wanted. It
 *  frees what it can (typically objects it caches, back into the heap) and returns the pages it thinks
 *  it freed (0 when it freed nothing). It may call the allocator; a shortage inside it fails plainly. */
export type Shrinker = (node: number, pagesWanted: number) => number;

/** What one heap.reap() pass did. */
export interface ReapResult {
  /** The CPU that was reaped. */
  cpu: number;
  /** Pages given back to the page allocator (empty slabs). */
  pages: number;
}


const MAX_I32 = 0x7fffffff;

type DiscardFn = (byteOffset: number, byteLength: number) => void;

export class Reclaimer {
  readonly #core: Core;
  #shrinkers: Shrinker[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #discardBroken = false;
  #counters = { reapPasses: 0, shrinkerCalls: 0, shrinkerPages: 0, chunksDiscarded: 0 };

  constructor(core: Core) {
    this.#core = core;
    core.shrinker = (node, wanted) => this.shrink(node, wanted);
  }

  /** Start the periodic reap (called by createAllocator): reapTarget.reap() every intervalMs. */
  startTimer(intervalMs: number, reapTarget: { reap(): unknown }): void {
    this.stopTimer();
    const ref = new WeakRef(reapTarget);
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
    const h = this.#core;
    const which = cpu === undefined ? h.u32(h.hdr + L.H_REAP_PASSES) % h.cpus : indexArg("reap", cpu, h.cpus, "CPUs");
    const pages = h.w.reap_pass(which) >>> 0;
    this.#counters.reapPasses++;
    this.discardFree();
    return { cpu: which, pages };
  }

  register(fn: Shrinker): () => void {
    if (typeof fn !== "function") throw new InvalidArgumentError("registerShrinker: a shrinker is a function");
    this.#core.armHooks();
    this.#shrinkers.push(fn);
    return () => {
      const i = this.#shrinkers.indexOf(fn);
      if (i >= 0) this.#shrinkers.splice(i, 1);
    };
  }

  /** HOOK_SHRINK: ask the shrinkers in registration order until they report `wanted` pages. A shrinker
   *  that throws counts 0; its exception goes to the caller (core.callbackFailed). */
  shrink(node: number, wanted: number): number {
    let got = 0;
    for (const fn of [...this.#shrinkers]) {
      this.#counters.shrinkerCalls++;
      try {
        const r = Number(fn(node, wanted));
        if (Number.isFinite(r) && r > 0) got += Math.floor(r);
      } catch (e) {
        this.#core.callbackFailed(e);
      }
      if (got >= wanted) break;
    }
    this.#counters.shrinkerPages += got;
    return Math.min(got, MAX_I32);
  }

  /** Hand every free chunk not yet discarded to memory.discard, where the engine has it. */
  discardFree(): number {
    const h = this.#core;
    const discard = (h.memory as unknown as { discard?: DiscardFn }).discard;
    if (typeof discard !== "function" || this.#discardBroken || isShared(h.memory)) return 0;
    const chunkBase = h.u32(h.hdr + L.H_CHUNK_BASE);
    const { lead, tail } = discardBounds(chunkBase, L.DISCARD_SKIP);
    let n = 0;
    for (let i = h.w.discard_next(0); i >= 0; i = h.w.discard_next(i + 1)) {
      // The top chunk may be committed only in part (page blocks are committed lazily): discard what is.
      const start = chunkBase + i * L.CHUNK_SIZE + lead;
      const end = Math.min(chunkBase + (i + 1) * L.CHUNK_SIZE - tail, h.memory.buffer.byteLength);
      try {
        if (end > start) discard.call(h.memory, start, end - start);
      } catch {
        // The engine refused (e.g. a memory kind it cannot discard): stop trying. The chunk was marked
        // discarded by discard_next; unmark it so the figures stay honest.
        this.#discardBroken = true;
        h.w.discard_unmark(i);
        break;
      }
      n++;
    }
    this.#counters.chunksDiscarded += n;
    return n;
  }

  /** Whether this heap's memory can be discarded (the engine's WebAssembly.Memory#discard). */
  get discardSupported(): boolean {
    const m = this.#core.memory;
    return typeof (m as unknown as { discard?: DiscardFn }).discard === "function" && !this.#discardBroken && !isShared(m);
  }

  counters(): ReclaimCounters {
    return { ...this.#counters, objectsReclaimed: this.#core.w.reclaim_destroyed() };
  }
}
