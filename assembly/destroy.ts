// destroy.ts — a cache's live objects, and destroying a cache: the whole-cache operations that need every
// layer below (arrays drained, quarantine discarded, slabs freed, the header unlinked).
//
// Owns: nothing persistent. Entry points: liveObjects(), liveAt() (what a refused destroy names),
// cacheDestroy(). Called by: index.ts. Calls cpu.ts (drain, parked objects), debug.ts (quarantine),
// node.ts, slab.ts, cache.ts (the boot cache), sheaf.ts (prefill handles out), inuse.ts, report.ts.
//
//   liveObjects = Σ in-use of partial and full slabs − parked (arrays, barns) − quarantined
//   cacheDestroy ─ liveObjects ≠ 0, a handle out, or a slab being made (C_BUSY): E_BUSY, nothing changes
//                └ drainCpuArrays ─ debugDestroy ─ discardEmpty (every node) ─ unlink ─ cacheRelease
import {
  C_FLAGS, C_MAGIC, C_NEXT, C_OBJECTS, C_PREV, C_QUAR_COUNT, CN_FULL, CN_PARTIAL, E_BAD_CACHE, E_BUSY,
  E_OK, F_INUSE, H_CACHE_HEAD, H_NCACHES, H_NNODES, C_BUSY, C_SELF,
  C_MAG,
} from "./layout";
import { CacheNode, PageDesc } from "./structs";
import { handleHolds } from "./sheaf";
import { HEAP } from "./arena";
import { cnAddr, discardEmpty } from "./node";
import { objectAt, slabIsFree } from "./slab";
import { BOOT, cacheRelease } from "./cache";
import { debugDestroy, isQuarantined } from "./debug";
import { drainCpuArrays, isParked, othersHold, parkedObjects } from "./cpu";
import { THREADED, heapLock, heapUnlock } from "./sync";
import { inuseIsSet } from "./inuse";
import { isCache } from "./report";

// Objects handed out to users: allocated in slabs minus those parked in per-CPU arrays and barns.
export function liveObjects(c: usize): u32 {
  const nn = load<u32>(HEAP, H_NNODES);
  let inuse: u32 = 0;
  for (let n: u32 = 0; n < nn; n++) {
    const cn = cnAddr(c, n);
    let d = <usize>changetype<CacheNode>(cn).partial;
    while (d != 0) { inuse += changetype<PageDesc>(d).inuse; d = <usize>changetype<PageDesc>(d).next; }
    d = <usize>changetype<CacheNode>(cn).full;
    while (d != 0) { inuse += changetype<PageDesc>(d).inuse; d = <usize>changetype<PageDesc>(d).next; }
  }
  return inuse - parkedObjects(c) - load<u32>(c, C_QUAR_COUNT); // quarantined objects are nobody's
}

// The k-th live object of cache c (in a user's hands: allocated in its slab, not parked in an array,
// not quarantined), in list order, or 0. For the report of a refused destroy; slow, reads only.
export function liveAt(c: usize, k: u32): usize {
  const nn = load<u32>(HEAP, H_NNODES);
  const objects = load<u32>(c, C_OBJECTS);
  const inuse = (load<u32>(c, C_FLAGS) & F_INUSE) != 0;
  for (let n: u32 = 0; n < nn; n++) {
    const cn = cnAddr(c, n);
    for (let which: u32 = 0; which < 2; which++) {
      let d = <usize>load<u32>(cn + (which == 0 ? CN_PARTIAL : CN_FULL));
      while (d != 0) {
        for (let i: u32 = 0; i < objects; i++) {
          if (slabIsFree(d, i)) continue;
          const p = objectAt(c, d, i);
          if (isQuarantined(c, p)) continue;
          if (inuse ? !inuseIsSet(c, p) : isParked(c, p)) continue;
          if (k == 0) return p;
          k--;
        }
        d = <usize>changetype<PageDesc>(d).next;
      }
    }
  }
  return 0;
}

// Destroy a cache. Refuses (E_BUSY) while any object is live, a prefill handle of it or its JS magazine
// is out (sheaf.ts handleHolds, C_MAG: the TS layer gives the magazine back first), or a slab is being made for it (C_BUSY: a constructor or a shrinker running inside its
// refill called this), and changes nothing then. Quarantined objects (debug.ts) are not live: they are
// discarded with their slabs.
// Threaded build: under the heap lock, and also E_BUSY while other CPUs' arrays hold objects of the cache
// (their owners drain them on request, posted here: the TS layer's drainOthers waits), so no array points
// into a destroyed cache.
export function cacheDestroy(c: usize): i32 {
  if (!isCache(c) || c == BOOT) return E_BAD_CACHE;
  heapLock();
  const e = destroyLocked(c);
  heapUnlock();
  return e;
}

function destroyLocked(c: usize): i32 {
  if (liveObjects(c) != 0 || load<u32>(c, C_BUSY) != 0 || handleHolds(c, 0) != 0 || load<u32>(c, C_MAG) != 0) return E_BUSY;
  if (THREADED) {
    if (othersHold(c) != 0) { drainCpuArrays(c); return E_BUSY; }  // (the drain posts the requests)
  }
  drainCpuArrays(c);
  debugDestroy(c);
  const nn = load<u32>(HEAP, H_NNODES);
  for (let n: u32 = 0; n < nn; n++) {
    discardEmpty(c, n, 0);
    const cn = cnAddr(c, n);
    if (ASC_NO_ASSERT == false) assert(changetype<CacheNode>(cn).nrPartial == 0 && changetype<CacheNode>(cn).nrFull == 0 && changetype<CacheNode>(cn).nrEmpty == 0); // live count said 0
  }
  // unlink
  const prev = <usize>load<u32>(c, C_PREV);
  const next = <usize>load<u32>(c, C_NEXT);
  if (prev != 0) store<u32>(prev, <u32>next, C_NEXT);
  else store<u32>(HEAP, <u32>next, H_CACHE_HEAD);
  if (next != 0) store<u32>(next, <u32>prev, C_PREV);
  store<u32>(HEAP, load<u32>(HEAP, H_NCACHES) - 1, H_NCACHES);
  store<u32>(c, 0, C_MAGIC);
  store<u32>(c, 0, C_SELF);
  cacheRelease(c);                            // a boot-cache object or a header slot (cache.ts)
  return E_OK;
}
