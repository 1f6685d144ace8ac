// sheaf.ts — sheaves (arrays of object addresses) and the barn (each cache-node's store of full and empty
// sheaves), with their operations named once, as SLUB names them.
//
// Owns: every sheaf (structs.ts Sheaf: count, cap, next, node; entries after it), the heap's sheaf caches
// (H_SHEAF_CACHES: internal caches holding sheaves of 2^6 .. 2^14 bytes), and the barn fields of the
// cache-node structs (CacheNode.barnFull / barnEmpty and their counts).
// Where a sheaf's memory comes from: an object of the sheaf cache of its size class; or, for a kmalloc
// class in a small heap (cache.ts smallHeap), an own block of the medium heap of exactly its bytes when
// one fits there (medium.ts mediumAllocOwn: no sheaf cache, no page of sheaves for the one or two sheaves
// a small program's busy classes take). sheafDelete frees each where it came from (cache.ts onOwnBlock:
// its page is a medium region's). A kmalloc class never has prefill handles, so handleHolds' walk of the
// sheaf caches still sees every handle.
// Entry points:
//   sheaves   sheafNew(), sheafDelete(), sheafFlush(), sheafEntry()
//   barn      barnGetFullSheaf(), barnGetEmptySheaf(), barnPutFullSheaf(), barnPutEmptySheaf(),
//             barnReplaceEmptySheaf(), barnReplaceFullSheaf(), drainBarn(), barnMaxFull()
//   handles   handleMark(), handleUnmark(), isHandle(), handleHolds() (prefill handles out in callers'
//             hands: prefill.ts marks them; the double-free walk and destroy find them)
// Called by: cpu.ts (the front end), bulk.ts, prefill.ts, reclaim.ts. Calls node.ts (a sheaf is one
// object of a sheaf cache: allocOne/freeOne; flushing is freeToSlabs), cache.ts (a sheaf cache is made on
// first use; smallHeap, onOwnBlock), medium.ts (own blocks), percpu.ts, stats.ts.
//
// Barn (per cache-node, under its CN_LOCK; each list threaded through Sheaf.next):
//   full  list: barnNrFull full sheaves, at most barnMaxFull(cache)
//   empty list: barnNrEmpty empty sheaves, at most BARN_MAX_EMPTY
// Each barn operation takes and releases the lock at most once (a trade that sees the barn without a full
// sheaf, or at its limit, takes none); none holds it across a sheaf allocation or free.
//
// Prefill handle (a sheaf out in a caller's hands, prefill.ts): SH_NEXT = PREFILL_MARK ^ its address,
// SH_NODE = its cache; both restored (0, the CPU's node) when it comes back.
import {
  BARN_MAX_EMPTY, BARN_MAX_FULL, C_ARRAY_CAP, C_FLAGS, C_SIZE, CN_BARN_EMPTY, CN_BARN_FULL,
  CN_BARN_NR_EMPTY, CN_BARN_NR_FULL, CN_LOCK, F_KMALLOC, H_SHEAF_CACHES, SH_HDR, SH_NEXT, SH_NODE,
  SHEAF_MIN_SHIFT, SHEAF_CLASSES, CN_PARTIAL, CN_FULL, C_OBJECTS, H_NNODES,
} from "./layout";
import { CacheNode, PageDesc, Sheaf } from "./structs";
import { HEAP } from "./arena";
import { allocOne, cnAddr, freeOne, freeToSlabs, lockNode } from "./node";
import { objectAt, slabIsFree } from "./slab";
import { cacheCreateInternal, onOwnBlock, smallHeap } from "./cache";
import { mediumAllocOwn, mediumFreeOwn } from "./medium";
import { currentNode, emptySheaf } from "./percpu";
import {
  BARN_GET, BARN_GET_FAIL, BARN_PUT, BARN_PUT_FAIL, SHEAF_ALLOC, SHEAF_FLUSH, SHEAF_FREE, stat,
} from "./stats";
import { heapLock, heapUnlock, publish, readShared, unlock } from "./sync";

// ---- sheaves ------------------------------------------------------------------------------------------

export const PREFILL_MARK: u32 = 0x50524546; // 'PREF'

// Mark sheaf s as a prefill handle of `cache`, out in a caller's hands; and back.
export function handleMark(s: usize, cache: usize): void {
  changetype<Sheaf>(s).next = PREFILL_MARK ^ <u32>s;
  changetype<Sheaf>(s).node = <u32>cache;
}
export function handleUnmark(s: usize): void {
  changetype<Sheaf>(s).next = 0;
  changetype<Sheaf>(s).node = currentNode;
}
// Is sheaf s (an allocated sheaf) a handle out in a caller's hands?
@inline export function isHandle(s: usize): bool {
  return changetype<Sheaf>(s).next == (PREFILL_MARK ^ <u32>s);
}

// Prefill handles of `cache` out in callers' hands: the entries equal to p, or (p = 0) the number of
// handles (a cache's JS magazine, C_MAG, is not marked as one). Walks every sheaf of the heap (the sheaf caches' slabs): cold, for the double-free confirm
// walk (cpu.ts parkedAnywhere), destroy and validate. Reads only.
export function handleHolds(cache: usize, p: usize): u32 {
  let found: u32 = 0;
  const nn = load<u32>(HEAP, H_NNODES);
  for (let k: u32 = 0; k < SHEAF_CLASSES; k++) {
    const sc = <usize>load<u32>(HEAP + H_SHEAF_CACHES + (k << 2));
    if (sc == 0) continue;
    const objects = load<u32>(sc, C_OBJECTS);
    for (let n: u32 = 0; n < nn; n++) {
      const cn = cnAddr(sc, n);
      for (let which: u32 = 0; which < 2; which++) {
        for (let d = <usize>load<u32>(cn + (which == 0 ? CN_PARTIAL : CN_FULL)); d != 0; d = <usize>changetype<PageDesc>(d).next) {
          for (let i: u32 = 0; i < objects; i++) {
            if (slabIsFree(d, i)) continue;
            const s = objectAt(sc, d, i);
            if (!isHandle(s) || <usize>changetype<Sheaf>(s).node != cache) continue;
            if (p == 0) { found++; continue; }
            const c = changetype<Sheaf>(s).count;
            for (let j: u32 = 0; j < c; j++) if (<usize>load<u32>(sheafEntry(s, j)) == p) found++;
          }
        }
      }
    }
  }
  return found;
}

// Address of entry k of sheaf s.
@inline export function sheafEntry(s: usize, k: u32): usize {
  return changetype<Sheaf>(s).entryAt(k);
}

function sheafClass(cap: u32): u32 {
  const bytes = SH_HDR + (cap << 2);
  let k: u32 = 0;
  while ((<u32>1 << (SHEAF_MIN_SHIFT + k)) < bytes) k++;
  return k;
}

function sheafCache(cap: u32): usize {
  const k = sheafClass(cap);
  const at = HEAP + H_SHEAF_CACHES + (k << 2);
  let c = <usize>readShared(at);
  if (c == 0) {
    heapLock();                                            // one sheaf cache per class, whoever asks first
    c = <usize>load<u32>(at);
    if (c == 0) {
      c = cacheCreateInternal(<u32>1 << (SHEAF_MIN_SHIFT + k));
      publish(at, <u32>c);
    }
    heapUnlock();
  }
  return c;
}

// Memory for a sheaf of capacity `cap` for `cache`: an own medium block (a kmalloc class in a small heap,
// when one fits) or an object of its sheaf cache; 0 when there is none.
function sheafMemory(cache: usize, cap: u32): usize {
  if ((load<u32>(cache, C_FLAGS) & F_KMALLOC) != 0 && smallHeap()) {
    const m = mediumAllocOwn(currentNode, <usize>(SH_HDR + (cap << 2)));
    if (m != 0) return m;
  }
  const sc = sheafCache(cap);
  return sc == 0 ? 0 : allocOne(sc, 0xffffffff);
}

// A new empty sheaf of capacity `cap` for `cache`, holding objects of `node`, or 0.
export function sheafNew(cache: usize, cap: u32, node: u32): usize {
  const s = sheafMemory(cache, cap);
  if (s == 0) return 0;
  changetype<Sheaf>(s).count = 0;
  changetype<Sheaf>(s).cap = cap;
  changetype<Sheaf>(s).next = 0;
  changetype<Sheaf>(s).node = node;
  stat(cache, SHEAF_ALLOC);
  return s;
}

// Free sheaf s (its objects already flushed). The empty sheaf is never freed.
export function sheafDelete(cache: usize, s: usize): void {
  if (s == emptySheaf()) return;
  if (onOwnBlock(s)) {
    const e = mediumFreeOwn(s);
    if (ASC_NO_ASSERT == false) assert(e == 0);                // an own block (sheafMemory)
  } else freeOne(sheafCache(changetype<Sheaf>(s).cap), s);
  stat(cache, SHEAF_FREE);
}

// Flush the `k` oldest objects of sheaf s to their slabs in one batch; the rest slide down.
export function sheafFlush(cache: usize, s: usize, k: u32): void {
  const n = changetype<Sheaf>(s).count;
  if (k > n) k = n;
  if (k == 0) return;
  freeToSlabs(cache, changetype<Sheaf>(s).entryAt(0), k);
  // a whole array flushed (a kmalloc class past a full barn) leaves nothing to slide: no memory.copy
  // (a call into the engine even for 0 bytes)
  if (k < n) memory.copy(changetype<Sheaf>(s).entryAt(0), sheafEntry(s, k), <usize>(n - k) << 2);
  changetype<Sheaf>(s).count = n - k;
  stat(cache, SHEAF_FLUSH);
}

// ---- the barn: list primitives (cn lock held) ---------------------------------------------------------

// Pop the first sheaf of the barn list whose head word is at cn + head and count at cn + nr; 0 if empty.
@inline function barnPop(cn: usize, head: u32, nr: u32): usize {
  const s = <usize>load<u32>(cn + head);
  if (s != 0) {
    store<u32>(cn + head, changetype<Sheaf>(s).next);
    store<u32>(cn + nr, load<u32>(cn + nr) - 1);
  }
  return s;
}

@inline function barnPush(cn: usize, head: u32, nr: u32, s: usize): void {
  changetype<Sheaf>(s).next = load<u32>(cn + head);
  store<u32>(cn + head, <u32>s);
  store<u32>(cn + nr, load<u32>(cn + nr) + 1);
}

@inline function popFull(cn: usize): usize { return barnPop(cn, CN_BARN_FULL, CN_BARN_NR_FULL); }
@inline function pushFull(cn: usize, s: usize): void { barnPush(cn, CN_BARN_FULL, CN_BARN_NR_FULL, s); }
@inline function popEmpty(cn: usize): usize { return barnPop(cn, CN_BARN_EMPTY, CN_BARN_NR_EMPTY); }
@inline function pushEmpty(cn: usize, s: usize): void { barnPush(cn, CN_BARN_EMPTY, CN_BARN_NR_EMPTY, s); }

// ---- the barn: operations (each takes the lock of cache-node cn once) ------------------------------------

// Full sheaves a node's barn keeps for `cache`: BARN_MAX_FULL, and for a kmalloc class at most what
// holds BARN_KMALLOC_BYTES of objects (at least one sheaf): ten full arrays of 8 KiB objects would park
// 640 KiB in one of about 35 classes.
const BARN_KMALLOC_BYTES: u32 = 32768;
export function barnMaxFull(cache: usize): u32 {
  if ((load<u32>(cache, C_FLAGS) & F_KMALLOC) == 0) return BARN_MAX_FULL;
  const arrays = BARN_KMALLOC_BYTES / (load<u32>(cache, C_ARRAY_CAP) * load<u32>(cache, C_SIZE) + 1);
  return arrays < 1 ? 1 : arrays > BARN_MAX_FULL ? BARN_MAX_FULL : arrays;
}

// A full sheaf from the barn, or 0 (counted barn_get when one is had).
export function barnGetFullSheaf(cache: usize, cn: usize): usize {
  lockNode(cache, cn);
  const full = popFull(cn);
  unlock(cn + CN_LOCK);
  if (full != 0) stat(cache, BARN_GET);
  return full;
}

// An empty sheaf from the barn, or 0.
export function barnGetEmptySheaf(cache: usize, cn: usize): usize {
  lockNode(cache, cn);
  const empty = popEmpty(cn);
  unlock(cn + CN_LOCK);
  return empty;
}

// Hand a full sheaf to the barn (the caller checked barnMaxFull). Counted barn_put.
export function barnPutFullSheaf(cache: usize, cn: usize, full: usize): void {
  lockNode(cache, cn);
  pushFull(cn, full);
  unlock(cn + CN_LOCK);
  stat(cache, BARN_PUT);
}

// Hand an empty sheaf to the barn; when its empty list is at BARN_MAX_EMPTY the sheaf is freed instead.
export function barnPutEmptySheaf(cache: usize, cn: usize, empty: usize): void {
  lockNode(cache, cn);
  if (changetype<CacheNode>(cn).barnNrEmpty < BARN_MAX_EMPTY) {
    pushEmpty(cn, empty);
    unlock(cn + CN_LOCK);
    return;
  }
  unlock(cn + CN_LOCK);
  sheafDelete(cache, empty);
}

// Trade the empty sheaf `empty` (or the empty sheaf placeholder) for a full one from the barn; returns
// `empty` unchanged if the barn has none (barn_get_fail). The traded sheaf goes on the barn's empty list,
// or is freed when that list is at its limit.
// A barn without full sheaves (a mid-size class's usual miss: its barn holds at most 32 KiB of them) is
// seen without taking the lock: the head word is read once, unlocked (a stale 0 in the threaded build only
// sends this refill to the slabs, as an empty barn would; a stale non-zero is re-read under the lock).
export function barnReplaceEmptySheaf(cache: usize, cn: usize, empty: usize): usize {
  if (changetype<CacheNode>(cn).barnFull == 0) {
    stat(cache, BARN_GET_FAIL);
    return empty;
  }
  lockNode(cache, cn);
  const full = popFull(cn);
  if (full == 0) {
    unlock(cn + CN_LOCK);
    stat(cache, BARN_GET_FAIL);
    return empty;
  }
  let drop: usize = 0;
  if (empty != emptySheaf()) {
    if (changetype<CacheNode>(cn).barnNrEmpty < BARN_MAX_EMPTY) pushEmpty(cn, empty);
    else drop = empty;
  }
  unlock(cn + CN_LOCK);
  if (drop != 0) sheafDelete(cache, drop);
  stat(cache, BARN_GET);
  return full;
}

// Trade the full sheaf `full` for an empty one (from the barn, or new). Returns the empty sheaf (the
// empty sheaf placeholder when no memory was left for a new one), or 0 when the barn is full
// (barn_put_fail: the caller flushes instead).
// A barn already at its limit is seen without the lock, as in barnReplaceEmptySheaf (a stale count in the
// threaded build: a flush instead of a trade, or the test again under the lock).
export function barnReplaceFullSheaf(cache: usize, cn: usize, full: usize): usize {
  const max = barnMaxFull(cache);
  if (changetype<CacheNode>(cn).barnNrFull >= max) {
    stat(cache, BARN_PUT_FAIL);
    return 0;
  }
  lockNode(cache, cn);
  if (changetype<CacheNode>(cn).barnNrFull >= max) {
    unlock(cn + CN_LOCK);
    stat(cache, BARN_PUT_FAIL);
    return 0;
  }
  let empty = popEmpty(cn);
  pushFull(cn, full);
  unlock(cn + CN_LOCK);
  stat(cache, BARN_PUT);
  if (empty == 0) empty = sheafNew(cache, changetype<Sheaf>(full).cap, currentNode);
  if (empty == 0) return emptySheaf(); // no memory for a new sheaf: the next free will flush
  return empty;
}

// Empty the barn of `cache` on `node`: every full sheaf is flushed to its slabs and freed, every empty one
// freed. Returns the objects flushed.
export function drainBarn(cache: usize, node: u32): u32 {
  const cn = cnAddr(cache, node);
  let flushed: u32 = 0;
  lockNode(cache, cn);
  let full = <usize>changetype<CacheNode>(cn).barnFull;
  let empty = <usize>changetype<CacheNode>(cn).barnEmpty;
  changetype<CacheNode>(cn).barnFull = 0;
  changetype<CacheNode>(cn).barnEmpty = 0;
  changetype<CacheNode>(cn).barnNrFull = 0;
  changetype<CacheNode>(cn).barnNrEmpty = 0;
  unlock(cn + CN_LOCK);
  while (full != 0) {
    const next = <usize>changetype<Sheaf>(full).next;
    flushed += changetype<Sheaf>(full).count;
    sheafFlush(cache, full, changetype<Sheaf>(full).count);
    sheafDelete(cache, full);
    full = next;
  }
  while (empty != 0) {
    const next = <usize>changetype<Sheaf>(empty).next;
    sheafDelete(cache, empty);
    empty = next;
  }
  return flushed;
}
