// node.ts — a cache's slabs on one node: the partial / full / empty lists and the batch seam.
//
// Owns: the per-cache-per-node struct's list fields (CacheNode: partial/full/empty heads and counts,
// totalObjects) and PageDesc.list of every slab head; offsets computed per list (listHead/listCount) use CN_*;
// the heap's kept-beyond hint (H_KEPT_BEYOND: empty slabs kept past 2 × min_partial, below).
// Entry points — the narrow interface every front end uses:
//   refillFromNode(cache, node, dst, want) → count    take up to `want` objects from this node's slabs
//                                                    (malloc's default classes: a new slab only for an
//                                                    empty batch; after that only whole slabs other
//                                                    classes keep empty: reuseKept)
//   freeToSlabs(cache, src, count)                   return objects (any node) to their slabs
//   slabsReleased(cache, src, count)                 the same for objects whose free bits are already set
//   freeToSlabReleasing(cache, p) → pages           free one object; an emptied slab goes back at once
//   refillBatch(cache, node, dst, want) → count      refillFromNode, then the other nodes in order
//                                                    (inlined; the fallback refillOtherNodes is not)
//   allocOne(cache, node) → object, freeOne(cache, p)   one object through the seam (no arrays, no checks)
//   takeFreeObject(cache, d, i)                     take a free object out of its slab (debug quarantine)
//   releaseKeptEmpty() → pages                      give back the empty slabs kept beyond min_partial
//   keptHoldBegin() / keptHoldEnd(got)              kept slabs before memory grows, for a large block
// Called by: cache.ts (kmem_cache objects), sheaf.ts, debug.ts, cpu.ts (front end), bulk.ts, prefill.ts,
// destroy.ts, reclaim.ts, validate.ts. Calls slab.ts, list.ts, stats.ts, percpu.ts, report.ts, sync.ts,
// and reads the heap's cache list (releaseKeptEmpty).
//
// Which list a slab is on (D_LIST), by its in-use count:
//   inuse == objects      L_FULL       on CN_FULL   (kept so validate and reclaim can walk every slab)
//   0 < inuse < objects   L_PARTIAL    on CN_PARTIAL (refill takes from the head)
//   inuse == 0            L_EMPTY      on CN_EMPTY, at most 2 × min_partial of them, or for a cache with
//                                      C_KEEP_EMPTY (malloc's classes) as many as fit in that many bytes;
//                                      beyond that the slab goes back to the page allocator at once.
//                                      Reaping trims the list to min_partial, shrinking and memory
//                                      pressure (reclaim.ts) empty it; the kept ones go back before
//                                      memory grows for a new slab (newSlab below).
//   a slab being built or discarded is on no list (L_NONE) and belongs to the one call handling it.
// Invariants: nrPartial/nrFull/nrEmpty = list lengths;
//   CN_TOTAL_OBJECTS = objects × (nrPartial + nrFull + nrEmpty).
// Locking: every list operation holds the cache-node lock (CN_LOCK); it is released around slabNew()
// (which may call a constructor) and never held across a host call.
import {
  C_HDR, C_MIN_PARTIAL, C_OBJECTS, CN_EMPTY, CN_FULL, CN_LOCK, CN_NR_EMPTY, CN_NR_FULL, CN_NR_PARTIAL,
  CN_PARTIAL, CN_SIZE, CN_TOTAL_OBJECTS, D_LIST, L_EMPTY, L_FULL, L_NONE, L_PARTIAL, C_RECIP, C_OBJ_OFFSET,
  CC_SCRATCH, E_NOMEM, H_NNODES, C_BUSY, C_KEEP_EMPTY, C_NEXT, C_ORDER, H_CACHE_HEAD, PAGE_SHIFT, H_KEPT_BEYOND,
  C_BITMAP_WORDS, C_STRIDE, C_FLAGS, C_SLAB_MASK, C_SELF,
} from "./layout";
import { CacheNode, PageDesc, objectIndexAt } from "./structs";
import { HEAP, holdGrowth, nodeOf, pageOf } from "./arena";
import { listPush, listRemove } from "./list";
import { headOf, objectIndex, slabCarve, slabHeadFrom, slabDiscard, slabNew, slabNoPages, slabPut, slabPutRun, slabReuse, slabTakeAt, slabTakeWith } from "./slab";
import { ALLOC_SLAB, FREE_SLAB, LOCK_ACQUIRE, NUMA_FALLBACK, stat } from "./stats";
import { cpuSlot, currentNode } from "./percpu";
import { setError } from "./report";
import { heapLock, heapUnlock, lock, unlock } from "./sync";

@inline export function cnAddr(cache: usize, node: u32): usize {
  return cache + C_HDR + <usize>node * CN_SIZE;
}

@inline function bump(a: usize, off: u32, delta: i32): void {
  store<u32>(a + off, <u32>(<i32>load<u32>(a + off) + delta));
}

// The heads and the counts of the three lists are u32s in list order (L_PARTIAL, L_FULL, L_EMPTY = 1..3),
// so a list's words are one shift away (no select chain on moveSlab's path).
const LISTS_IN_ORDER: bool = CN_FULL == CN_PARTIAL + 4 && CN_EMPTY == CN_PARTIAL + 8 && CN_PARTIAL == (<u32>L_PARTIAL << 2) &&
  CN_NR_FULL == CN_NR_PARTIAL + 4 && CN_NR_EMPTY == CN_NR_PARTIAL + 8 && L_FULL == L_PARTIAL + 1 && L_EMPTY == L_PARTIAL + 2;

@inline function listHead(cn: usize, which: u8): usize {
  if (LISTS_IN_ORDER) return cn + (<usize>which << 2);
  return cn + (which == L_PARTIAL ? CN_PARTIAL : which == L_FULL ? CN_FULL : CN_EMPTY);
}

@inline function listCount(which: u8): u32 {
  if (LISTS_IN_ORDER) return CN_NR_PARTIAL - 4 + (<u32>which << 2);
  return which == L_PARTIAL ? CN_NR_PARTIAL : which == L_FULL ? CN_NR_FULL : CN_NR_EMPTY;
}

// The list a slab with `inuse` of `objects` objects in use belongs on (the table above).
@inline export function listFor(inuse: u32, objects: u32): u8 {
  return inuse == objects ? L_FULL : inuse == 0 ? L_EMPTY : L_PARTIAL;
}

// Move slab d to list `to` (from whatever list it is on). cn lock held.
export function moveSlab(cn: usize, d: usize, to: u8): void {
  const from = changetype<PageDesc>(d).list;
  if (from == to) return;
  if (from != L_NONE) {
    listRemove(listHead(cn, from), d);
    bump(cn, listCount(from), -1);
  }
  if (to != L_NONE) {
    listPush(listHead(cn, to), d);
    bump(cn, listCount(to), 1);
  }
  changetype<PageDesc>(d).list = to;
}

@inline export function lockNode(cache: usize, cn: usize): void {
  lock(cn + CN_LOCK);
  stat(cache, LOCK_ACQUIRE);
}

// Slab d, the first slab of list `from` (or on no list: L_NONE), goes to the head of list `to` (≠ from).
// moveSlab for refill's case: the slab it takes from is always a list's head, so there is no search
// for its neighbours. cn lock held.
@inline function moveFirst(cn: usize, d: usize, from: u8, to: u8): void {
  if (from != L_NONE) {
    const nx = changetype<PageDesc>(d).next;
    store<u32>(listHead(cn, from), nx);
    if (nx != 0) changetype<PageDesc>(nx).prev = 0;
    bump(cn, listCount(from), -1);
  }
  listPush(listHead(cn, to), d);
  bump(cn, listCount(to), 1);
  changetype<PageDesc>(d).list = to;
}

// Seam 1 — refill. Fill dst with up to `want` objects from `node`'s slabs (partial first, then empty,
// then a new slab from that node's pages). A malloc class of the default set (C_KEEP_EMPTY, kmalloc.ts:
// slabs of as few as one object) makes a new slab only while nothing was taken: its batch never makes a
// slab just to fill up, so its per-CPU arrays park no slab the heap had to make for them (a 4 KiB class
// would make one page per object of the batch). Past that it still takes, whole, the empty slabs other
// classes of its order keep beyond min_partial (reuseKept: no pages taken, nothing grows) while the batch
// has room for all of a slab's objects: binary-bal's 512-byte blocks took the 448-byte blocks' freed slabs
// one refill per slab (9 objects of a batch of 26). Returns how many; 0 means the node is out of memory.
// The cache's geometry is read once per batch (slab.ts slabTakeWith), and each slab taken from moves
// once, from its list's head straight to the list it belongs on now (moveFirst): a slab taken whole goes
// to full, one left with free objects stays at the head of partial (an empty one taken from goes there).
export function refillFromNode(cache: usize, node: u32, dst: usize, want: u32): u32 {
  const cn = cnAddr(cache, node);
  const objects = load<u32>(cache, C_OBJECTS);
  const words = load<u32>(cache, C_BITMAP_WORDS);
  const stride = load<u32>(cache, C_STRIDE);
  const objOff = load<u32>(cache, C_OBJ_OFFSET);
  const flags = load<u32>(cache, C_FLAGS);
  let got: u32 = 0;
  lockNode(cache, cn);
  while (got < want) {
    let from = L_PARTIAL;
    let d = <usize>changetype<CacheNode>(cn).partial;
    if (d == 0) {
      from = L_EMPTY;
      d = <usize>changetype<CacheNode>(cn).empty;
      if (d == 0) {
        // a partial batch of a malloc class takes no new slab: only a whole slab another class keeps
        // empty beyond its min_partial (reuseKept: no pages, no growth) while the batch has room for it
        const more = got != 0 && load<u32>(cache, C_KEEP_EMPTY) != 0;
        if (more && (want - got < objects || !keptBeyond())) break;
        unlock(cn + CN_LOCK);              // slabNew may run constructors, which may re-enter
        store<u32>(cache, load<u32>(cache, C_BUSY) + 1, C_BUSY); // a re-entrant destroy must wait
        const carve = want - got >= objects;   // all of it: carved below, its bitmap and keys written once
        d = more ? reuseKept(cache, node, carve) : newSlab(cache, node, carve);
        store<u32>(cache, load<u32>(cache, C_BUSY) - 1, C_BUSY);
        lockNode(cache, cn);
        if (d == 0) {
          // slabNew may have run pressure reclaim, which can put objects back on these lists: use them.
          if (changetype<CacheNode>(cn).partial != 0 || changetype<CacheNode>(cn).empty != 0) continue;
          break;
        }
        stat(cache, ALLOC_SLAB);
        bump(cn, CN_TOTAL_OBJECTS, <i32>objects);
        from = L_NONE;
        // to be carved: the empty list's head for takeEmptyRun (one carve loop in the code), which takes
        // it at once (room for all its objects) under the lock it never left
        if (carve) { moveFirst(cn, d, L_NONE, L_EMPTY); from = L_EMPTY; }
      }
      if (from == L_EMPTY && want - got >= objects) {
        got += takeEmptyRun(cn, d, dst + (<usize>got << 2), want - got, objects, words, stride, objOff, flags);
        continue;
      }
    }
    got += slabTakeWith(d, dst + (<usize>got << 2), want - got, words, stride, objOff, flags);
    const to = <u32>changetype<PageDesc>(d).inuse == objects ? L_FULL : L_PARTIAL;
    if (to != from) moveFirst(cn, d, from, to);
  }
  unlock(cn + CN_LOCK);
  return got;
}

// Whole empty slabs for refill, from the head `d` of cn's empty list while `room` holds all the objects
// of one more: each slab is carved whole (slab.ts slabCarve: an empty slab's objects are consecutive, no
// bitmap walk) and the run is spliced onto the head of the full list as one chain — one head update per
// list and one count update each, not one list move per slab (1-object slabs: kmalloc-4096 moves a slab
// per object). Writes the objects at dst; returns how many. cn lock held; room ≥ objects.
@inline function takeEmptyRun(cn: usize, d: usize, dst: usize, room: u32, objects: u32, words: u32, stride: u32, objOff: u32, flags: u32): u32 {
  const first = d;
  let last: usize = 0;
  let taken: u32 = 0;
  let n: i32 = 0;
  do {
    slabCarve(d, dst + (<usize>taken << 2), objects, words, stride, objOff, flags);
    changetype<PageDesc>(d).list = L_FULL;
    taken += objects;
    n++;
    last = d;
    d = <usize>changetype<PageDesc>(d).next;
  } while (d != 0 && room - taken >= objects);
  changetype<CacheNode>(cn).empty = <u32>d;                 // the rest of the empty list
  if (d != 0) changetype<PageDesc>(d).prev = 0;
  const fh = <usize>changetype<CacheNode>(cn).full;         // [first .. last] before the full list
  changetype<PageDesc>(last).next = <u32>fh;
  if (fh != 0) changetype<PageDesc>(fh).prev = <u32>last;
  changetype<CacheNode>(cn).full = <u32>first;               // first.prev is 0: it was the empty head
  bump(cn, CN_NR_EMPTY, -n);
  bump(cn, CN_NR_FULL, n);
  return taken;
}

// Refill through the seam, from `node` first, then the other nodes in order (counted). Inlined into its
// callers (one call less on every refill); the fallback stays out of line.
@inline export function refillBatch(cache: usize, node: u32, dst: usize, want: u32): u32 {
  const got = refillFromNode(cache, node, dst, want);
  return got != 0 ? got : refillOtherNodes(cache, node, dst, want);
}

// refillBatch's fallback: `node` had nothing, the other nodes in order.
function refillOtherNodes(cache: usize, node: u32, dst: usize, want: u32): u32 {
  let got: u32 = 0;
  const nn = load<u32>(HEAP, H_NNODES);
  for (let k: u32 = 1; k < nn; k++) {
    got = refillFromNode(cache, (node + k) % nn, dst, want);
    if (got != 0) { stat(cache, NUMA_FALLBACK); return got; }
  }
  return 0;
}

// One object of `cache` from the slabs of `node` (0xffffffff: the current CPU's node), falling back to
// the other nodes; 0 with E_NOMEM. No arrays, no debug checks: the heap's own caches use it directly, and
// the front end (cpu.ts allocSingle) and the debug path (debug.ts debugAlloc) build on it.
export function allocOne(cache: usize, node: u32): usize {
  const scratch = cpuSlot(cache) + CC_SCRATCH;
  if (refillBatch(cache, node == 0xffffffff ? currentNode : node, scratch, 1) == 0) {
    setError(E_NOMEM);
    return 0;
  }
  return <usize>load<u32>(scratch);
}

// Free one allocated object of `cache` (checked by the caller) straight to its slab.
export function freeOne(cache: usize, p: usize): void {
  const scratch = cpuSlot(cache) + CC_SCRATCH;
  store<u32>(scratch, <u32>p);
  freeToSlabs(cache, scratch, 1);
}

// Take free object i out of slab d (as if allocated), fixing the slab's list. Takes the cache-node lock.
export function takeFreeObject(cache: usize, d: usize, i: u32): void {
  const cn = cnAddr(cache, <u32>changetype<PageDesc>(d).node);
  lockNode(cache, cn);
  const inuse = slabTakeAt(d, i);
  moveSlab(cn, d, inuse == load<u32>(cache, C_OBJECTS) ? L_FULL : L_PARTIAL);
  unlock(cn + CN_LOCK);
}

// ---- kept empty slabs and memory growth -----------------------------------------------------------------
// Empty slabs kept beyond 2 × min_partial (C_KEEP_EMPTY) must not make the heap take more memory (Wasm
// memory only grows), so they go back to the page allocator before memory grows for a slab:
//   newSlab ─ some kept? ─ memory grew since the last look (a large block took it)? ─ releaseKeptEmpty
//           │            └ another class's kept empty slab of the same order, made ours (takeKeptEmpty +
//           │              slab.ts slabReuse, no page allocator) ─ none: slabNew with growth held (arena.ts):
//           │              the pages the heap has (page.ts refuses before it cuts any run when they would
//           │              need memory to grow) ─ none: release
//           └ slabNew (may grow; a shortage runs pressure reclaim, which frees every empty slab)
//   refillFromNode, a batch already begun ─ reuseKept only (never pages: see Seam 1)
// Memory that does not grow keeps them (a program's steady state); reap trims them, shrink and pressure
// free them (reclaim.ts).
// Threads: the hint that some are kept lives in the heap (H_KEPT_BEYOND), so an instance that never kept
// one still gives back another thread's before it grows memory; the last look at memory.size() is this
// instance's own (growth by another thread counts as growth since it looked); the hold on growth is
// this instance's own too (arena.ts holdGrowth says why that is right).
let seenMemory: i32 = 0;
// Some cache kept an empty slab beyond 2 × min_partial since the last release (a hint: set by
// slabEmptiedUnder, cleared by releaseKeptEmpty; a lost race costs a release or a grow, never an object).
@inline function keptBeyond(): bool {
  return load<u32>(HEAP, H_KEPT_BEYOND) != 0;
}

// How many empty slabs of `cache` a node keeps: up to 2 × min_partial slabs (SLUB's count), or up to
// C_KEEP_EMPTY bytes of empty slabs (malloc's classes, kmalloc.ts: a class that churns reuses its empty
// slabs instead of going through the page allocator for each one) — the larger. A node keeping `nr`
// keeps one more while nr < keepLimit ((nr + 1) << shift ≤ keep ⟺ nr < keep >> shift, for slabs of
// 2^shift bytes). freeToSlabs reads it once per batch.
@inline function keepLimit(cache: usize): u32 {
  const slabs = load<u32>(cache, C_MIN_PARTIAL) << 1;
  const bytes = load<u32>(cache, C_KEEP_EMPTY) >> (PAGE_SHIFT + load<u32>(cache, C_ORDER));
  return bytes > slabs ? bytes : slabs;
}

// A new slab for `cache` on `node` (slab.ts slabNew), without taking memory that kept empty slabs could
// give: while some are kept, another class's kept slab of the same order comes first, then the pages the
// heap has (growth held, arena.ts); when neither is there, the kept slabs go back and then memory may grow. And when memory grew since the last look (a
// large block took it), the kept slabs go back first. No lock held.
function newSlab(cache: usize, node: u32, carved: bool): usize {
  if (keptBeyond()) {
    const now = memory.size();
    if (now != seenMemory) {
      seenMemory = now;
      releaseKeptEmpty();
    } else {
      // another class's kept slab first: no page allocator, and the heap's free pages stay free (a held
      // pagesAlloc found none on binary-bal's every try: ~180 instructions per refill for nothing)
      const k = takeKeptEmpty(cache, node);
      if (k != 0) return slabReuse(cache, k, carved);  // 0: its constructor failed
      const d = slabNew(cache, node, false, carved);
      if (d != 0 || !slabNoPages) return d;
      releaseKeptEmpty();
    }
  }
  const d = slabNew(cache, node, true, carved);
  seenMemory = memory.size();
  return d;
}

// For a page allocation other than a slab's (kmalloc.ts large blocks), the same rule as newSlab: while
// empty slabs are kept, try the pages the heap has first. keptHoldBegin() true: growth is held (arena.ts)
// for one plain pageAlloc, then keptHoldEnd(got) lets it grow again and, when nothing was found, gives the
// kept slabs back before the caller asks again with growth (and pressure reclaim) allowed. No lock held.
export function keptHoldBegin(): bool {
  if (!keptBeyond()) return false;
  const now = memory.size();
  if (now != seenMemory) {                     // grew since the last look: give them back at once
    seenMemory = now;
    releaseKeptEmpty();
    return false;
  }
  holdGrowth(true);
  return true;
}

export function keptHoldEnd(got: bool): void {
  holdGrowth(false);
  if (!got) releaseKeptEmpty();
}

// Another cache's empty slab kept beyond 2 × min_partial on `node`, made a slab of `cache` (slab.ts
// slabReuse); 0 when there is none (slabNoPages left as it was) or its constructor failed (false since
// slabReuse). No lock held.
function reuseKept(cache: usize, node: u32, carved: bool): usize {
  const k = takeKeptEmpty(cache, node);
  return k != 0 ? slabReuse(cache, k, carved) : 0;
}

// Take one empty slab that another cache keeps beyond 2 × min_partial on `node`, of `cache`'s order, off
// its list (counted as that cache's freed slab); 0 when none. Its pages stay slab pages: the caller makes
// it a slab of `cache` (slab.ts slabReuse) without the page allocator. The cache it last took from is
// asked first (keptDonor: binary-bal's 448- and 512-byte classes hand ~160 slabs a replay to each other,
// and the walk of the cache list was most of the cost); then the walk. Takes the heap lock (the cache
// list) and the other cache's node lock; the caller holds none.
function takeKeptEmpty(cache: usize, node: u32): usize {
  const order = load<u32>(cache, C_ORDER);
  let d: usize = 0;
  heapLock();
  const h = keptDonor;                          // a live cache still? (C_SELF: destroy clears it, under the heap lock)
  if (h != 0 && h != cache && load<u32>(h, C_SELF) == <u32>h) d = takeKeptFrom(h, node, order);
  for (let c = <usize>load<u32>(HEAP, H_CACHE_HEAD); c != 0 && d == 0; c = <usize>load<u32>(c, C_NEXT)) {
    if (c == cache || c == h) continue;
    d = takeKeptFrom(c, node, order);
    if (d != 0) keptDonor = c;
  }
  heapUnlock();
  return d;
}

// The cache takeKeptEmpty last took a slab from (a hint, this instance's; checked before use).
let keptDonor: usize = 0;

// Cache c's first empty slab on `node`, off its list, when c keeps empty slabs beyond 2 × min_partial
// there and its slabs are of `order`; else 0. Heap lock held.
function takeKeptFrom(c: usize, node: u32, order: u32): usize {
  if (load<u32>(c, C_KEEP_EMPTY) == 0 || load<u32>(c, C_ORDER) != order) return 0;
  const cn = cnAddr(c, node);
  const keep = load<u32>(c, C_MIN_PARTIAL) << 1;
  if (changetype<CacheNode>(cn).nrEmpty <= keep) return 0;
  let d: usize = 0;
  lockNode(c, cn);
  if (changetype<CacheNode>(cn).nrEmpty > keep) {
    d = <usize>changetype<CacheNode>(cn).empty;
    slabUnlisted(c, cn, d);
  }
  unlock(cn + CN_LOCK);
  return d;
}

// Give back every cache's empty slabs beyond 2 × min_partial on every node (the caches with C_KEEP_EMPTY
// only: the others never keep more). Returns pages freed. Takes the heap lock (the cache list) and each
// cache-node lock in turn; the caller holds none.
export function releaseKeptEmpty(): u32 {
  let pages: u32 = 0;
  const nn = load<u32>(HEAP, H_NNODES);
  heapLock();
  store<u32>(HEAP, 0, H_KEPT_BEYOND);           // first: a slab kept meanwhile (another thread) sets it again
  for (let c = <usize>load<u32>(HEAP, H_CACHE_HEAD); c != 0; c = <usize>load<u32>(c, C_NEXT)) {
    if (load<u32>(c, C_KEEP_EMPTY) == 0) continue;
    const keep = load<u32>(c, C_MIN_PARTIAL) << 1;
    for (let n: u32 = 0; n < nn; n++) {
      if (changetype<CacheNode>(cnAddr(c, n)).nrEmpty > keep) pages += discardEmpty(c, n, keep);
    }
  }
  heapUnlock();
  return pages;
}

// Put slab d (inuse just fell to 0, on some list) on the empty list, or back to the page allocator when
// the node already keeps as many empty slabs as keepLimit allows. cn lock held.
function slabEmptied(cache: usize, cn: usize, d: usize): void {
  slabEmptiedUnder(cache, cn, d, keepLimit(cache));
}

// slabEmptied with the node's keep limit read by the caller (keepLimit; freeToSlabs: once per batch).
// Inlined (freeToSlabs empties a slab per object freed in a 1-object class); slabDropped stays out of line.
@inline function slabEmptiedUnder(cache: usize, cn: usize, d: usize, limit: u32): void {
  const nr = changetype<CacheNode>(cn).nrEmpty;
  if (nr < limit) {
    // kept beyond min_partial's slabs: say so (written once, not at every keep: a shared line)
    if (nr >= (load<u32>(cache, C_MIN_PARTIAL) << 1) && !keptBeyond()) store<u32>(HEAP, 1, H_KEPT_BEYOND);
    moveSlab(cn, d, L_EMPTY);
  } else slabDropped(cache, cn, d);
}

// Slab d (inuse just fell to 0, on some list) goes back to the page allocator: the node keeps enough
// empty slabs (or it is discarded, reclaimed). cn lock held.
function slabDropped(cache: usize, cn: usize, d: usize): void {
  slabUnlisted(cache, cn, d);
  slabDiscard(cache, d);
}

// Empty slab d leaves its list and the node's objects, counted as a freed slab of `cache`: it is going
// back to the page allocator (slabDropped) or to another cache (takeKeptEmpty). cn lock held.
function slabUnlisted(cache: usize, cn: usize, d: usize): void {
  moveSlab(cn, d, L_NONE);
  bump(cn, CN_TOTAL_OBJECTS, -<i32>load<u32>(cache, C_OBJECTS));
  stat(cache, FREE_SLAB);
}

// Seam 2 — free a batch. Every entry of src is an allocated object of `cache` (checked by the caller).
// Objects of one node are freed under one acquisition of that node's lock; a batch that mixes nodes
// takes a lock each time the node changes. The cache's geometry is read once per batch, and how many
// empty slabs a node keeps (keepLimit) once, at the batch's first emptied slab; an object's slab head is
// found by arithmetic (slabs are naturally aligned: the offset in the slab names the head page, as
// slab.ts locateObject does). Entries that follow one another in one slab and one bitmap word (an array
// flushed in about the order its objects were taken holds such runs) are freed together: one bitmap OR,
// one in-use update and at most one list move per run (slab.ts slabPutRun), for a class of slabs of at
// least FREE_RUN_MIN objects; the others skip the look-ahead.
export function freeToSlabs(cache: usize, src: usize, count: u32): void {
  if (count == 0) return;
  const objects = load<u32>(cache, C_OBJECTS);
  const recip = load<u32>(cache, C_RECIP);
  const objOff = load<u32>(cache, C_OBJ_OFFSET);
  const mask = load<u32>(cache, C_SLAB_MASK);
  let limit: u32 = 0xffffffff;                              // read at the first emptied slab
  let curNode: u32 = 0xffffffff;
  let cn: usize = 0;
  let k: u32 = 0;
  while (k < count) {
    const p = <usize>load<u32>(src + (<usize>k << 2));
    k++;
    const node = nodeOf(p);
    if (node != curNode) {
      if (cn != 0) unlock(cn + CN_LOCK);
      curNode = node;
      cn = cnAddr(cache, node);
      lockNode(cache, cn);
    }
    const inSlab = <u32>p & mask;                            // slabs are naturally aligned
    const d = slabHeadFrom(pageOf(p), inSlab);              // the head descriptor
    const i = objectIndexAt(inSlab - objOff, recip);
    let bits = <u64>1 << (i & 63);
    let run: u32 = 1;
    if (objects >= FREE_RUN_MIN) {
      const slab = p - <usize>inSlab;                        // same slab ⟹ same node
      while (k < count) {
        const q = <usize>load<u32>(src + (<usize>k << 2));
        if (q - slab > <usize>mask) break;                   // another slab (below wraps: also out)
        const j = objectIndexAt((<u32>q & mask) - objOff, recip);
        if (((j ^ i) >> 6) != 0) break;                      // another bitmap word
        bits |= <u64>1 << (j & 63);
        run++;
        k++;
      }
    }
    const inuse = slabPutRun(d, i >> 6, bits, run);
    if (inuse == 0) {
      if (limit == 0xffffffff) limit = keepLimit(cache);
      slabEmptiedUnder(cache, cn, d, limit);
    } else if (inuse + run == objects) moveSlab(cn, d, L_PARTIAL); // it was full
  }
  unlock(cn + CN_LOCK);
}

// Slabs of at least this many objects free their batches by runs (freeToSlabs): the classes up to 512
// bytes, whose arrays come back in about the order they were taken. Below it (the 1–4 KiB classes, slabs
// of 1–5 objects) a run is rare and the look-ahead is skipped. (Measured, bench/PROFILE.md midslow: the
// run loop costs the 1–4 KiB traces ~4 instructions per operation more than a plain per-object loop with
// this limit at 2 or at 8 alike; a second, per-object loop took the browser bundle over its budget.)
const FREE_RUN_MIN: u32 = 8;

// Free every empty slab of `cache` on `node` beyond `keep`. Returns pages freed.
export function discardEmpty(cache: usize, node: u32, keep: u32): u32 {
  const cn = cnAddr(cache, node);
  let pages: u32 = 0;
  lockNode(cache, cn);
  while (changetype<CacheNode>(cn).nrEmpty > keep) {
    const d = <usize>changetype<CacheNode>(cn).empty;
    pages += 1 << (<u32>changetype<PageDesc>(d).order);
    slabDropped(cache, cn, d);
  }
  unlock(cn + CN_LOCK);
  return pages;
}

// The first slab on a list (for walks). No lock: callers are single-threaded walkers (validate, stats).
@inline export function listFirst(cn: usize, which: u8): usize {
  return <usize>load<u32>(listHead(cn, which));
}

// Free one allocated object of `cache` straight to its slab (targeted reclaim). A slab that empties goes
// back to the page allocator at once instead of onto the empty list. Returns the pages freed (0 or the
// slab's). Takes and releases the object's cache-node lock.
export function freeToSlabReleasing(cache: usize, p: usize): u32 {
  const cn = cnAddr(cache, nodeOf(p));
  lockNode(cache, cn);
  const d = headOf(p);
  const inuse = slabPut(d, objectIndex(cache, d, p));
  let pages: u32 = 0;
  if (inuse == 0) {
    pages = 1 << (<u32>changetype<PageDesc>(d).order);
    slabDropped(cache, cn, d);
  } else if (inuse == load<u32>(cache, C_OBJECTS) - 1) moveSlab(cn, d, L_PARTIAL);
  unlock(cn + CN_LOCK);
  return pages;
}

// The cache-node lock of `node` held: the one held now (`cn`, 0 for none) is kept if it is that one, else
// released first. Returns the cache-node now locked.
@inline function relockFor(cache: usize, cn: usize, node: u32): usize {
  const want = cnAddr(cache, node);
  if (want != cn) {
    if (cn != 0) unlock(cn + CN_LOCK);
    lockNode(cache, want);
  }
  return want;
}

// Seam 2 for a batch whose free bits the caller already set (bulk.ts: the check pass of a freeBulk flips
// each object's bit to find duplicates, and for the objects bound for their slabs that flip is the final
// state): fix each slab's in-use count and list, once per run of consecutive objects of one slab. Every
// entry of src is an object of `cache` that was allocated, with its bit now set. Objects of one node are
// handled under one acquisition of that node's lock. The count is fixed as it stands at that moment
// (listFor, not a transition), so a refill that took a flipped object in between (it was free in its slab:
// the object is that refill's now) leaves the count right. (Added by issue 11 item 2, bulk.)
export function slabsReleased(cache: usize, src: usize, count: u32): void {
  if (count == 0) return;
  const objects = load<u32>(cache, C_OBJECTS);
  const mask = ~<usize>load<u32>(cache, C_SLAB_MASK);
  let cn: usize = 0;
  let k: u32 = 0;
  while (k < count) {
    const p = <usize>load<u32>(src + (<usize>k << 2));
    const slab = p & mask;
    let run: u32 = 1;
    while (k + run < count && (<usize>load<u32>(src + (<usize>(k + run) << 2)) & mask) == slab) run++;
    cn = relockFor(cache, cn, nodeOf(p));
    const d = pageOf(slab);                                   // a slab starts at its head page
    const inuse = <u32>changetype<PageDesc>(d).inuse - run;
    changetype<PageDesc>(d).inuse = <u16>inuse;
    if (inuse == 0) slabEmptied(cache, cn, d);
    else moveSlab(cn, d, listFor(inuse, objects));
    k += run;
  }
  unlock(cn + CN_LOCK);
}
