// prefill.ts — prefilled sheaves: "give me a handle from which the next n allocations cannot fail".
//
// Owns: nothing persistent; a handle is a sheaf (layout.ts: count, capacity, next, node, entries) that
// belongs to the caller until it is returned. Entry points: cachePrefill(cache, n) → handle,
// prefilledAlloc(handle) → object, cacheReturnPrefilled(cache, handle), prefillHandle(h) (the ABI's check).
// Called by: index.ts. Calls sheaf.ts (sheaves), node.ts (refillBatch), debug.ts (handOutAny).
//
//   n ≤ capacity, CPU has a spare array  → the spare becomes the handle, topped up   (sheaf_prefill_fast)
//   n ≤ capacity, no spare               → a new array filled from barn/slabs        (sheaf_prefill_slow)
//   n > capacity (or arrays off)          → an array of exactly n entries             (sheaf_prefill_oversize)
// Return: a handle of the cache's capacity goes back as the CPU's spare when the spare slot is empty
// (sheaf_return_fast); otherwise its objects are flushed to the slabs and the array freed
// (sheaf_return_slow).
//
// A handle out in a caller's hands is marked (sheaf.ts handleMark: SH_NEXT = PREFILL_MARK ^ its address,
// SH_NODE = its cache), unmarked when it comes back. prefillHandle() checks a handle a caller passes (the
// ABI: a garbage handle must not be written to): an allocated object of one of the heap's sheaf caches,
// found by arithmetic from the address, carrying the mark. Its objects carry their free keys (slabTake
// keyed them; harden.ts), so a user's free of one is a double free, and handleHolds finds them.
import {
  C_ARRAY_CAP, C_MAG, CT_RUN_TAIL, E_INVALID, E_NOMEM, E_OK, H_SHEAF_CACHES, MAX_ARRAY_CAP, SHEAF_CLASSES,
} from "./layout";
import { CpuSlot, PageDesc, Sheaf } from "./structs";
import { HEAP, chunkByteOf, pageOf } from "./arena";
import { checkObject } from "./slab";
import { refillBatch } from "./node";
import { handleMark, handleUnmark, isHandle, sheafDelete, sheafEntry, sheafFlush, sheafNew } from "./sheaf";
import {
  ALLOC_FASTPATH, ALLOC_SLOWPATH, FREE_FASTPATH, SHEAF_PREFILL_FAST, SHEAF_PREFILL_OVERSIZE, SHEAF_PREFILL_SLOW,
  SHEAF_RETURN_FAST, SHEAF_RETURN_SLOW, stat, statAddAt, statAt,
} from "./stats";
import { cpuSlot, currentNode, emptySheaf } from "./percpu";
import { setError } from "./report";
import { handOutAny } from "./debug";

// Is h a prefill handle out in a caller's hands? Reads h only once its address is known to be a sheaf.
export function prefillHandle(h: usize): bool {
  const b = chunkByteOf(h);
  if (b >= CT_RUN_TAIL) return false;                 // in no slab chunk: its descriptor is not there
  const owner = <usize>changetype<PageDesc>(pageOf(h)).cache;
  for (let k: u32 = 0; k < SHEAF_CLASSES; k++) {
    const sc = <usize>load<u32>(HEAP + H_SHEAF_CACHES + (k << 2));
    if (sc != 0 && sc == owner) return checkObject(sc, h, b) == E_OK && isHandle(h);
  }
  return false;
}

export function cachePrefill(cache: usize, n: u32): usize {
  if (n == 0 || n > MAX_ARRAY_CAP) { setError(E_INVALID); return 0; }
  const cap = load<u32>(cache, C_ARRAY_CAP);
  const slot = cpuSlot(cache);
  const empty = emptySheaf();
  let s: usize = 0;
  if (cap == 0 || n > cap) {
    s = sheafNew(cache, n, currentNode);
    stat(cache, SHEAF_PREFILL_OVERSIZE);
  } else {
    const spare = <usize>changetype<CpuSlot>(slot).spare;
    if (spare != empty && changetype<CpuSlot>(slot).guard == 0) {
      changetype<CpuSlot>(slot).spare = <u32>empty;
      s = spare;
      stat(cache, SHEAF_PREFILL_FAST);
    } else {
      s = sheafNew(cache, cap, currentNode);
      stat(cache, SHEAF_PREFILL_SLOW);
    }
  }
  if (s == 0) { setError(E_NOMEM); return 0; }
  let count = changetype<Sheaf>(s).count;
  while (count < n) {
    const r = refillBatch(cache, currentNode, sheafEntry(s, count), n - count);
    if (r == 0) {
      changetype<Sheaf>(s).count = count;
      sheafFlush(cache, s, count);
      sheafDelete(cache, s);
      setError(E_NOMEM);
      return 0;
    }
    count += r;
  }
  changetype<Sheaf>(s).count = count;
  handleMark(s, cache);                                // out in the caller's hands
  return s;
}

// One object from a prefilled handle; 0 once it is empty. Hardening (debug.ts handOutAny): a debug
// cache's object is checked (a corrupted one is quarantined, reported and skipped), an F_INUSE cache's is
// marked in use.
export function prefilledAlloc(s: usize): usize {
  let n = changetype<Sheaf>(s).count;
  while (n != 0) {
    n--;
    changetype<Sheaf>(s).count = n;
    const p = <usize>load<u32>(sheafEntry(s, n));
    if (handOutAny(p)) return p;
  }
  return 0;
}

// Take handle s back. E_OK, or E_INVALID (nothing changed) when it holds objects of another cache.
export function cacheReturnPrefilled(cache: usize, s: usize): i32 {
  const n = changetype<Sheaf>(s).count;
  for (let k: u32 = 0; k < n; k++) {
    if (<usize>changetype<PageDesc>(pageOf(<usize>load<u32>(sheafEntry(s, k)))).cache != cache) return E_INVALID;
  }
  handleUnmark(s);                                     // no longer a handle
  const slot = cpuSlot(cache);
  const empty = emptySheaf();
  const cap = load<u32>(cache, C_ARRAY_CAP);
  if (cap != 0 && changetype<Sheaf>(s).cap == cap && changetype<CpuSlot>(slot).guard == 0) {
    const spare = <usize>changetype<CpuSlot>(slot).spare;
    if (spare == empty || changetype<Sheaf>(spare).count == 0) {
      if (spare != empty) sheafDelete(cache, spare);
      changetype<CpuSlot>(slot).spare = <u32>s;
      stat(cache, SHEAF_RETURN_FAST);
      return E_OK;
    }
  }
  sheafFlush(cache, s, changetype<Sheaf>(s).count);
  sheafDelete(cache, s);
  stat(cache, SHEAF_RETURN_SLOW);
  return E_OK;
}

// ---- the JS magazine (bindings/cache.ts) ----------------------------------------------------------------
//
// A Cache in JS keeps one sheaf of its cache, its magazine, and pops and pushes it through typed
// views without a Wasm call: alloc pops an entry and clears its free key, free checks the pointer (the
// chunk byte is the magazine's node, the page names the cache, an object start, its key not there),
// writes its key and pushes it; the count word in the handle is kept by JS at every step. The cache
// names it (C_MAG): its objects count as parked, not live (cpu.ts countParked reads the count word, so
// cache_live is exact without asking JS), a second free of one from any caller finds it there (a double
// free), validate checks each is parked once, destroy refuses while it is out. It is not marked as a
// prefill handle: prefilled_alloc / cache_return_prefilled refuse it (a raw caller popping or returning
// it behind JS's back would make JS hand an object out twice or write into a freed sheaf), and
// handleHolds does not count it. The two calls below are JS's misses; neither counts as a prefill (its counters stay the
// user's), and both first add the pops and pushes JS made since its last call to the current CPU's
// ALLOC_FASTPATH / FREE_FASTPATH (so the counters are exact whenever JS has called in).

// Top magazine h (0: a new one) up to half its capacity: first a run off the top of the CPU's main
// array (one copy), then batches from the slabs of the current node. Returns the handle (its count ≥ 1),
// or 0 (E_NOMEM, or E_INVALID: the cache has no arrays) with h unchanged and still out.
export function magRefill(cache: usize, h: usize): usize {
  const fresh = h == 0;
  if (fresh) {
    const cap = load<u32>(cache, C_ARRAY_CAP);
    if (cap < 2) { setError(E_INVALID); return 0; }
    h = sheafNew(cache, cap, currentNode);
    if (h == 0) { setError(E_NOMEM); return 0; }
  }
  const want = changetype<Sheaf>(h).cap >> 1;
  let count = changetype<Sheaf>(h).count;
  const slot = cpuSlot(cache);
  if (count < want && changetype<CpuSlot>(slot).guard == 0) {
    const main = <usize>changetype<CpuSlot>(slot).main;
    const m = changetype<Sheaf>(main).count;
    const k = min(m, want - count);
    if (k != 0) {
      memory.copy(sheafEntry(h, count), sheafEntry(main, m - k), <usize>k << 2);
      changetype<Sheaf>(main).count = m - k;
      count += k;
    }
  }
  while (count < want) {
    const r = refillBatch(cache, currentNode, sheafEntry(h, count), want - count);
    if (r == 0) break;
    count += r;
  }
  changetype<Sheaf>(h).count = count;
  if (count == 0) {
    if (fresh) sheafDelete(cache, h);
    setError(E_NOMEM);
    return 0;
  }
  statAt(slot, ALLOC_SLOWPATH);                        // the alloc that missed the magazine
  if (fresh) store<u32>(cache, <u32>h, C_MAG);
  return h;
}

// Take magazine h back: its objects go onto the CPU's main array while it has room, the rest to their
// slabs, and the array is freed. (JS gives it back before the heap is read as a whole or changed under
// it: stats, footprint, validate, shrink, a pin to another CPU, destroy.)
export function magReturn(cache: usize, h: usize): void {
  store<u32>(cache, 0, C_MAG);
  let n = changetype<Sheaf>(h).count;
  const slot = cpuSlot(cache);
  if (changetype<CpuSlot>(slot).guard == 0) {
    const main = <usize>changetype<CpuSlot>(slot).main;
    const m = changetype<Sheaf>(main).count;
    const k = min(n, changetype<Sheaf>(main).cap - m);
    if (k != 0) {
      memory.copy(sheafEntry(main, m), sheafEntry(h, n - k), <usize>k << 2);
      changetype<Sheaf>(main).count = m + k;
      n -= k;
      changetype<Sheaf>(h).count = n;
    }
  }
  sheafFlush(cache, h, n);
  sheafDelete(cache, h);
}

// The pops and pushes JS made on its magazine since its last call, counted on the current CPU.
// (magRefill counts the alloc that missed as ALLOC_SLOWPATH; JS does not count it again.)
export function magCount(cache: usize, allocs: u32, frees: u32): void {
  const slot = cpuSlot(cache);
  statAddAt(slot, ALLOC_FASTPATH, <u64>allocs);
  statAddAt(slot, FREE_FASTPATH, <u64>frees);
}
