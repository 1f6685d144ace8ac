// reclaim.ts — giving memory back: periodic reaping (SLAB), shrink, reclaim under memory pressure, and
// targeted reclaim of refcounted objects (the "unified" allocator's slab-oriented reclaim).
//
// Owns: the heap words H_REAP_PASSES and H_RECLAIM_BUSY, the reap snapshot kept in each CpuSlot.touched
// word, C_LAST_REAP, the chunk header's discarded byte (ChunkHdr), and the order of the pressure steps.
// Entry points:
//   reapPass(cpu)                      one reap pass for one CPU (REAP_NEXT: round robin) → pages freed
//   cacheShrink(cache), heapShrink()   flush arrays and barns, free every empty slab, sort partial slabs
//   pageShortageHandler (registered)   page.ts's shortage handler: pressure reclaim between a failed
//                                      pageAlloc / runAlloc and the retry. This module registers it with
//                                      the page layer (its global name, page.ts), so slabNew and kmalloc's
//                                      large blocks reach it through page.ts's pageAllocReclaiming /
//                                      runAllocReclaiming (re-exported here) without importing upward
//   cacheReclaim(cache, pages)         targeted reclaim of a reclaimable cache → pages freed
//   reclaimableFree(cache, ptr)        free that first sets the object's count word to 0
//   discardNext(from), discardedChunks()  free chunks for the TS layer to hand to memory.discard
// Called by: index.ts, and page.ts through the registered handler. Calls cpu.ts (drains), sheaf.ts (barns),
// medium.ts (heapShrink: parked blocks back),
// node.ts (empty slabs, frees), slab.ts (object checks), debug.ts (a debug object's checked free),
// harden.ts (a destroyed free-key object is keyed before it goes back to its slab), page.ts, and the host
// through env.hook (shrinkers, destructors).
//
// Call tree:
//   reapPass ─ per cache: one alien array ─ 1/5 of an idle CPU's arrays ─ ~80% of the empties > min_partial
//   cacheShrink ─ drainCpuArrays ─ discardEmpty(keep 0) ─ sortPartial (fullest first)
//   heapShrink ─ cacheShrink's steps for every cache ─ mediumUnparkAll (medium.ts: parked blocks back)
//   pageAllocReclaiming (page.ts) ─ pageAlloc ─ fails ─ pageShortageHandler ─ pressure: after each step, free the
//        empties and retry
//        1 empty slabs ─ 2 barns ─ 3 arrays ─ 4 shrinkers (HOOK_SHRINK) ─ 5 targeted (reclaimNode)
//        (6, other nodes: the caller's fallback — refillBatch for slabs — which asks the next node,
//         whose own shortage runs these steps there)
//   cacheReclaim ─ drainCpuArrays ─ reclaimNode per node ─ empty slabs ─ walkSlabs(full, oldest first)
//        ─ walkSlabs(partial) ─ destroyInSlab ─ HOOK_DTOR ─ releaseObject (freeToSlabReleasing: an
//        emptied slab's pages go back at once; debug caches: debugFree)
//
// Locking and re-entrancy: every host call (shrinker, destructor) is made with no lock held; a slab is
// examined under its cache-node lock, which is dropped before any destructor runs, and every object is
// checked again from scratch (resolveObject, count word) after the host returns, because a destructor
// may free, allocate, or move slabs between lists. Pressure reclaim does not nest (H_RECLAIM_BUSY): a
// shortage met inside a shrinker or destructor fails plainly. Pressure reclaim can be reached from inside
// a CPU's slow path (a refill that needs a new slab): that CPU's guard (CC_GUARD) is set and its main
// and spare arrays are detached or mid-swap, so drainCpuArrays leaves them alone (cpu.ts). In the
// single-threaded build (simulated CPUs) draining another CPU's arrays is safe; in the threaded build
// (sync.ts THREADED) drainCpuArrays drains only this instance's CPU and posts drain requests to the
// other owners, and a reap pass for another CPU is a request to its owner (threads.ts). The walks over
// the cache list (reap, heapShrink, pressure) hold the heap lock; H_RECLAIM_BUSY is per instance there.
//
// "Touched" (reap): a CPU's arrays of a cache were touched since the last pass on that CPU when a slow
// path ran (it stores 1 in CC_TOUCHED) or when its fast-path counters moved. A pass stores
// 2 × (alloc_fastpath + free_fastpath) (low 32 bits) in CC_TOUCHED; the slow paths' 1 is odd, so it never
// equals a snapshot. An idle CPU keeps its snapshot; the next pass drains ~1/5 of its arrays.
//
// Targeted reclaim, the object protocol (caches flagged F_RECLAIMABLE): the first u32 of every object is
// a reference count. 0 = free (slabNew zeroes it; reclaimableFree zeroes it before freeing), 1 = unused
// but cached (e.g. held only by an index), > 1 = in use. Reclaim destroys only objects whose count is 1:
// it calls the destructor (which must drop the owner's references and must not free the object), then,
// if the count is still 1, sets it to 0 and frees the object to its slab. Objects allocated in their slab
// but counted 0 (in flight: parked in a guarded CPU's arrays, a prefill handle, a refill under way, or
// just allocated and not yet counted) are treated as in use. With per-object in-use bits (F_INUSE,
// inuse.ts) an object must also be in a user's hands (bit set); the bit is cleared as it is freed. A
// debug cache's object leaves through the checked free (debug.ts: poison, red zones, free track).
// One pass (one call) takes a mixed slab's share once: the partial walk visits only as many slabs as were
// partial before the full walk, whose mixed slabs moved to the partial list's head.
import {
  C_ARRAY_CAP, C_BITMAP_WORDS, C_FLAGS, C_ID, C_LAST_REAP, C_MIN_PARTIAL, C_NEXT, C_OBJ_OFFSET, C_OBJECTS,
  C_ORDER, C_STRIDE, CC_GUARD, CC_STATS, CC_TOUCHED, CH_DISCARDED, CN_FULL, CN_LOCK, CN_PARTIAL,
  CS_FREE, CT_RUN_TAIL, D_NEXT, D_PREV, E_BAD_CACHE, E_INVALID, E_OK, F_DEBUG_MASK, F_INUSE, F_RECLAIMABLE,
  H_CACHE_HEAD, H_CPU_NODE, H_NCPUS, H_REAP_PASSES, H_RECLAIM_BUSY, HOOK_DTOR, HOOK_SHRINK, K_SLAB, L_FULL,
  L_PARTIAL, PAGES_PER_CHUNK, REAP_NEXT, RECLAIM_MIXED_SHIFT,
} from "./layout";
import { CacheNode, ChunkHdr, CpuSlot, NodeHdr, PageDesc, Sheaf } from "./structs";
import { HEAP, chunkByte, chunkIndex, chunkStart, nchunks, nodeOf, pageAddr } from "./arena";
import { nnodes, nodeAddr, pagesAllocNatural, runAlloc } from "./page";
import { cnAddr, discardEmpty, freeToSlabReleasing, lockNode } from "./node";
import { resolveObject, resolvedError, slabBitmap } from "./slab";
import { drainBarn, sheafFlush } from "./sheaf";
import { cacheFree, drainCpuArrays } from "./cpu";
import { hook, isCache } from "./report";
import { debugFree } from "./debug";
import { inuseIsSet, inuseRelease } from "./inuse";
import { hardenReleased } from "./harden";
import { ALIEN_FLUSH, ALLOC_FASTPATH, FREE_FASTPATH, stat } from "./stats";
import { currentNode, pinCpu, slotOf } from "./percpu";
import { THREADED, atomicAdd, currentCpu, heapLock, heapUnlock, setCpu, unlock } from "./sync";
import { threadsRequest } from "./threads";
import { REQ_REAP } from "./layout";
import { mediumUnparkAll } from "./medium";

export { pageAllocReclaiming, runAllocReclaiming } from "./page";

// Objects destroyed by targeted reclaim so far (destructor run, object freed), a count that only rises
// (so a reclaim nested in a destructor cannot reset it); per instance, read through the ABI.
export let destroyedTotal: u32 = 0;
// A destructor reported failure: the walk stops there (set by destroyInSlab, cleared by each entry).
let lastDtorFailed: bool = false;

@inline function firstCache(): usize {
  return <usize>load<u32>(HEAP, H_CACHE_HEAD);
}

@inline function nextCache(c: usize): usize {
  return <usize>load<u32>(c, C_NEXT);
}

// Run as `cpu` (counters and "current node" follow it) until runAs is called again.
function runAs(cpu: u32): void {
  setCpu(cpu);
  pinCpu(cpu);
}

// ---- reap ---------------------------------------------------------------------------------------------

// One reap pass for `cpu` (REAP_NEXT: the next CPU round robin) over every cache. Returns pages freed.
// Never calls the host. The pass runs "on" that CPU: its counters record the work.
// Threaded build: a pass for a CPU this instance does not own is a request to that CPU's owner
// (threads.ts), carried out at the owner's next slow path or API call; it returns 0 here.
export function reapPass(cpu: u32): u32 {
  const ncpus = load<u32>(HEAP, H_NCPUS);
  const pass = load<u32>(HEAP, H_REAP_PASSES);
  if (cpu == REAP_NEXT) cpu = pass % ncpus;
  if (cpu >= ncpus) return 0;
  if (THREADED) {
    atomicAdd(HEAP + H_REAP_PASSES, 1);
    if (cpu != currentCpu) { threadsRequest(cpu, REQ_REAP); return 0; }
    heapLock();
    const pages = reapLocked(cpu, pass);
    heapUnlock();
    return pages;
  }
  store<u32>(HEAP, pass + 1, H_REAP_PASSES);
  return reapLocked(cpu, pass);
}

function reapLocked(cpu: u32, pass: u32): u32 {
  const ncpus = load<u32>(HEAP, H_NCPUS);
  const saved = currentCpu;
  runAs(cpu);
  const node = <u32>load<u8>(HEAP + H_CPU_NODE + cpu);
  const alienStart = (pass / ncpus) % nnodes();           // advances once per round of all CPUs
  const before = heapSlabPages();
  for (let c = firstCache(); c != 0; c = nextCache(c)) {
    const slot = slotOf(c, cpu);
    reapAlien(c, slot, alienStart);
    reapArrays(c, slot);
    trimEmpty(c, node);
    store<u32>(c, pass + 1, C_LAST_REAP);
  }
  runAs(saved);
  return before - heapSlabPages();  // flushing can empty slabs the node does not keep: count those too
}

// Pages in slabs, every node (the page allocator's count).
function heapSlabPages(): u32 {
  let pages: u32 = 0;
  const nn = nnodes();
  for (let n: u32 = 0; n < nn; n++) pages += changetype<NodeHdr>(nodeAddr(n)).slabPages;
  return pages;
}

// Pages in the slabs of one cache, every node.
function cacheSlabPages(c: usize): u32 {
  let objs: u32 = 0;
  const nn = nnodes();
  for (let n: u32 = 0; n < nn; n++) objs += changetype<CacheNode>(cnAddr(c, n)).totalObjects;
  return (objs / load<u32>(c, C_OBJECTS)) << load<u32>(c, C_ORDER);
}

// Drain one non-empty alien array of this CPU, starting the search at node `start` (round robin).
function reapAlien(c: usize, slot: usize, start: u32): void {
  const nn = nnodes();
  for (let k: u32 = 0; k < nn; k++) {
    const n = (start + k) % nn;
    const a = <usize>load<u32>(changetype<CpuSlot>(slot).alienAt(n));
    if (a == 0) continue;
    const count = changetype<Sheaf>(a).count;
    if (count == 0) continue;
    sheafFlush(c, a, count);                                // one batch, one lock of node n
    stat(c, ALIEN_FLUSH);
    return;
  }
}

// The snapshot a pass leaves in CC_TOUCHED: 2 × the fast-path counters, low 32 bits (always even).
@inline function touchSnapshot(slot: usize): u32 {
  const a = load<u32>(slot + CC_STATS + (<usize>ALLOC_FASTPATH << 3));
  const f = load<u32>(slot + CC_STATS + (<usize>FREE_FASTPATH << 3));
  return (a + f) << 1;
}

// SLAB's drain_array: an array touched since the last pass is left alone (and marked untouched); an
// idle one gives back (capacity + 4) / 5 of its oldest objects, or half of what it holds if that is less.
// Spare first (it is the colder array), then main.
function reapArrays(c: usize, slot: usize): void {
  const cap = load<u32>(c, C_ARRAY_CAP);
  if (cap == 0 || changetype<CpuSlot>(slot).guard != 0) return;
  const snap = touchSnapshot(slot);
  if (changetype<CpuSlot>(slot).touched != snap) {
    changetype<CpuSlot>(slot).touched = snap;
    return;
  }
  const spare = <usize>changetype<CpuSlot>(slot).spare;
  const main = <usize>changetype<CpuSlot>(slot).main;
  const inSpare = changetype<Sheaf>(spare).count;
  const avail = inSpare + changetype<Sheaf>(main).count;
  if (avail == 0) return;
  let tofree = (cap + 4) / 5;
  if (tofree > avail) tofree = (avail + 1) >> 1;
  const fromSpare = tofree < inSpare ? tofree : inSpare;
  sheafFlush(c, spare, fromSpare);
  sheafFlush(c, main, tofree - fromSpare);
}

// Give back about 80% (rounded up) of the empty slabs beyond min_partial on `node`. Pages freed.
function trimEmpty(c: usize, node: u32): u32 {
  const nr = changetype<CacheNode>(cnAddr(c, node)).nrEmpty;
  const keep = load<u32>(c, C_MIN_PARTIAL);
  if (nr <= keep) return 0;
  const free = ((nr - keep) * 4 + 4) / 5;
  return discardEmpty(c, node, nr - free);
}

// ---- shrink -------------------------------------------------------------------------------------------

// Flush every array and barn of `cache`, free every empty slab, order partial slabs fullest first.
// Returns pages freed (the cache's own slabs; its arrays go back to the sheaf caches).
export function cacheShrink(cache: usize): i32 {
  if (!isCache(cache)) return -E_BAD_CACHE;
  const before = cacheSlabPages(cache);
  drainCpuArrays(cache);          // may free slabs at once (beyond the empties a node keeps): counted
  shrinkSlabs(cache);
  return <i32>(before - cacheSlabPages(cache));
}

// Shrink every cache, the heap's own included (arrays first, so sheaf caches empty too). Pages freed.
// Threaded build: other CPUs' arrays are drained by their owners on request (cpu.ts drainCpuArrays);
// the TS layer waits for those requests and then shrinks again to free what they gave back.
export function heapShrink(): u32 {
  heapLock();
  const before = heapSlabPages();
  for (let c = firstCache(); c != 0; c = nextCache(c)) drainCpuArrays(c);
  for (let c = firstCache(); c != 0; c = nextCache(c)) shrinkSlabs(c);
  mediumUnparkAll();                                   // the pre-chunk region's parked blocks (medium.ts)
  const pages = before - heapSlabPages();
  heapUnlock();
  return pages;
}

function shrinkSlabs(c: usize): void {
  const nn = nnodes();
  for (let n: u32 = 0; n < nn; n++) {
    discardEmpty(c, n, 0);
    sortPartial(c, n);
  }
}

// Sort a cache-node's partial list by in-use count, fullest first (refill takes from the head, so new
// objects go to the fullest slabs and the sparse ones can drain). A stable bottom-up merge sort on the
// PageDesc.next links, then the prev links are rebuilt. Holds the cache-node lock.
export function sortPartial(c: usize, node: u32): void {
  const cn = cnAddr(c, node);
  lockNode(c, cn);
  let list = <usize>changetype<CacheNode>(cn).partial;
  for (let k: u32 = 1; list != 0; k <<= 1) {
    let p = list;
    list = 0;
    let tail: usize = 0;
    let merges: u32 = 0;
    while (p != 0) {
      merges++;
      let q = p;
      let psize: u32 = 0;
      while (psize < k && q != 0) { psize++; q = <usize>changetype<PageDesc>(q).next; }
      let qsize = k;
      while (psize > 0 || (qsize > 0 && q != 0)) {
        let e: usize;
        if (psize == 0) { e = q; q = <usize>changetype<PageDesc>(q).next; qsize--; }
        else if (qsize == 0 || q == 0 || changetype<PageDesc>(p).inuse >= changetype<PageDesc>(q).inuse) {
          e = p; p = <usize>changetype<PageDesc>(p).next; psize--;
        } else { e = q; q = <usize>changetype<PageDesc>(q).next; qsize--; }
        if (tail != 0) changetype<PageDesc>(tail).next = <u32>e;
        else list = e;
        tail = e;
      }
      p = q;
    }
    changetype<PageDesc>(tail).next = 0;
    if (merges <= 1) break;
  }
  changetype<CacheNode>(cn).partial = <u32>list;
  let prev: usize = 0;
  for (let d = list; d != 0; d = <usize>changetype<PageDesc>(d).next) {
    changetype<PageDesc>(d).prev = <u32>prev;
    prev = d;
  }
  unlock(cn + CN_LOCK);
}

// ---- memory pressure ----------------------------------------------------------------------------------

// The allocation pressure reclaim is trying to satisfy (pressure reclaim never nests, so one set).
let wantRun: bool = false;
let wantNode: u32 = 0;
let wantPages: u32 = 0;
let wantCount: u32 = 0;
let wantBytes: usize = 0;
let gotBlock: usize = 0;

function retry(): bool {
  gotBlock = wantRun ? runAlloc(wantNode, wantCount, wantBytes) : pagesAllocNatural(wantNode, wantPages);
  return gotBlock != 0;
}

// page.ts's shortage handler, registered with the page layer by its global name (see page.ts):
// pageAlloc / pagesAlloc (`run` false, n = pages) or runAlloc(node, n, bytes) (`run` true) failed; reclaim
// on `node` and retry. Returns the block or 0. No lock is held (shrinkers and destructors run); pressure
// reclaim does not nest. Other nodes are the caller's fallback.
@global export function pageShortageHandler(run: bool, node: u32, n: u32, bytes: usize): usize {
  if (reclaimBusy()) return 0;
  wantRun = run;
  wantNode = node;
  if (run) {
    wantCount = n;
    wantBytes = bytes;
  } else wantPages = n;
  return pressure(node, run ? n * PAGES_PER_CHUNK : n);
}
// Pressure reclaim runs in this instance (threaded build: per instance, so that one Worker's reclaim does
// not make another's shortage fail plainly; the header word serves the single-threaded build).
let busyHere: bool = false;
@inline function reclaimBusy(): bool {
  return THREADED ? busyHere : load<u32>(HEAP, H_RECLAIM_BUSY) != 0;
}
@inline function setReclaimBusy(v: bool): void {
  if (THREADED) busyHere = v;
  else store<u32>(HEAP, v ? 1 : 0, H_RECLAIM_BUSY);
}

// The pressure steps, in order, each followed by freeing the empty slabs it made and a retry. Under the
// heap lock: the steps walk the cache list.
function pressure(node: u32, pages: u32): usize {
  heapLock();
  const got = pressureLocked(node, pages);
  heapUnlock();
  return got;
}

function pressureLocked(node: u32, pages: u32): usize {
  setReclaimBusy(true);
  gotBlock = 0;
  lastDtorFailed = false;
  // 1. empty slabs
  if (freeEmptyAll(node) == 0 || !retry()) {
    // 2. barns (every node's: an object of this node may sit in any barn after a fallback refill)
    const nn = nnodes();
    for (let c = firstCache(); c != 0; c = nextCache(c)) {
      for (let n: u32 = 0; n < nn; n++) drainBarn(c, n);
    }
    freeEmptyAll(node);
    // 3. arrays (every CPU's, aliens included; a guarded CPU's main and spare are left alone)
    if (!retry()) {
      drainAll();
      freeEmptyAll(node);
      // 4. shrinkers (objects they free land in arrays: drain again)
      if (!retry()) {
        hook(HOOK_SHRINK, node, pages, 0);
        drainAll();
        freeEmptyAll(node);
        // 5. targeted reclaim, cache by cache
        if (!retry()) {
          for (let c = firstCache(); c != 0 && !lastDtorFailed; c = nextCache(c)) {
            if ((load<u32>(c, C_FLAGS) & F_RECLAIMABLE) == 0) continue;
            reclaimNode(c, node, pages);
            freeEmptyAll(node);
            if (retry()) break;
          }
        }
      }
    }
  }
  setReclaimBusy(false);
  return gotBlock;
}

function freeEmptyAll(node: u32): u32 {
  let pages: u32 = 0;
  for (let c = firstCache(); c != 0; c = nextCache(c)) pages += discardEmpty(c, node, 0);
  return pages;
}

function drainAll(): void {
  for (let c = firstCache(); c != 0; c = nextCache(c)) drainCpuArrays(c);
}

// ---- targeted reclaim ---------------------------------------------------------------------------------

// Reclaim at least `want` pages (RECLAIM_ALL: as many as possible) from a reclaimable cache, on every
// node starting with the current CPU's. Returns pages freed, or -E_* (not a cache, not reclaimable).
export function cacheReclaim(cache: usize, want: u32): i32 {
  if (!isCache(cache)) return -E_BAD_CACHE;
  if ((load<u32>(cache, C_FLAGS) & F_RECLAIMABLE) == 0) return -E_INVALID;
  lastDtorFailed = false;
  const before = cacheSlabPages(cache);
  drainCpuArrays(cache);                                  // parked objects must not pin slabs
  const nn = nnodes();
  let pages: u32 = before - cacheSlabPages(cache);        // slabs the drain emptied and freed at once
  for (let k: u32 = 0; k < nn && pages < want && !lastDtorFailed; k++) {
    pages += reclaimNode(cache, (currentNode + k) % nn, want - pages);
  }
  return <i32>pages;
}

// Targeted reclaim of one cache on one node: empty slabs first (no object needs destroying), then full
// slabs from the oldest end, then partial slabs from the oldest end. While it runs, the current CPU's
// guard for this cache is set, so frees and allocations that destructors make go straight to the slabs
// (a freed object is then visibly free in its bitmap, never parked with a stale count).
function reclaimNode(c: usize, node: u32, want: u32): u32 {
  const slot = slotOf(c, currentCpu);
  const guard = changetype<CpuSlot>(slot).guard;
  changetype<CpuSlot>(slot).guard = 1;
  let pages = discardEmpty(c, node, 0);
  // The partial walk visits as many slabs as were partial before the full walk: mixed slabs that the
  // full walk moved to the partial list (at its head; the walk starts at the tail) gave theirs already.
  const cn = cnAddr(c, node);
  const partial = changetype<CacheNode>(cn).nrPartial;
  if (pages < want) pages += walkSlabs(c, node, L_FULL, want - pages, changetype<CacheNode>(cn).nrFull);
  if (pages < want && !lastDtorFailed) pages += walkSlabs(c, node, L_PARTIAL, want - pages, partial);
  changetype<CpuSlot>(slot).guard = guard;
  return pages;
}

@inline function listHeadOf(cn: usize, which: u8): usize {
  return cn + (which == L_FULL ? CN_FULL : CN_PARTIAL);
}

function listTail(head: usize): usize {
  let d = <usize>load<u32>(head);
  if (d == 0) return 0;
  for (let n = <usize>changetype<PageDesc>(d).next; n != 0; n = <usize>changetype<PageDesc>(d).next) d = n;
  return d;
}

// Is d still a slab of cache c on list `which` of `node`? (After host calls, a remembered descriptor
// may have moved lists, been freed, or even become user bytes of a run.)
function stillOnList(c: usize, d: usize, which: u8, node: u32): bool {
  const idx = chunkIndex(d);
  if (idx >= nchunks() || (chunkByte(idx) & CT_RUN_TAIL) != 0) return false;
  return changetype<PageDesc>(d).kind == K_SLAB && <usize>changetype<PageDesc>(d).cache == c && changetype<PageDesc>(d).list == which &&
         <u32>changetype<PageDesc>(d).node == node;
}

// Walk list `which` from its oldest end (the tail: slabs are pushed at the head). A slab whose allocated
// objects all have count 1 is emptied (its pages go back); a mixed slab gives up a few unused objects
// (objects >> RECLAIM_MIXED_SHIFT, at least 1). Visits at most `steps` slabs.
function walkSlabs(c: usize, node: u32, which: u8, want: u32, steps: u32): u32 {
  const cn = cnAddr(c, node);
  const head = listHeadOf(cn, which);
  const objects = load<u32>(c, C_OBJECTS);
  const stride = load<u32>(c, C_STRIDE);
  const words = load<u32>(c, C_BITMAP_WORDS);
  let quota = objects >> RECLAIM_MIXED_SHIFT;
  if (quota == 0) quota = 1;
  let pages: u32 = 0;
  lockNode(c, cn);
  let d = listTail(head);
  while (d != 0 && steps > 0 && pages < want) {
    steps--;
    // Classify the slab's allocated objects by count, under the lock (no host call).
    const first = pageAddr(d) + load<u32>(c, C_OBJ_OFFSET);
    const bm = slabBitmap(d);
    let unused: u32 = 0, busy: u32 = 0;
    for (let w: u32 = 0; w < words; w++) {
      const left = objects - (w << 6);
      let taken = ~load<u64>(bm + (<usize>w << 3));
      if (left < 64) taken &= (<u64>1 << left) - 1;
      while (taken != 0) {
        const i = (w << 6) + <u32>ctz(taken);
        taken &= taken - 1;
        if (load<u32>(first + <usize>i * stride) == 1) unused++;
        else busy++;
      }
    }
    const older = <usize>changetype<PageDesc>(d).prev;
    unlock(cn + CN_LOCK);
    if (unused != 0) {
      pages += destroyInSlab(c, first, objects, stride, busy == 0 ? objects : quota);
    }
    lockNode(c, cn);
    if (lastDtorFailed) break;
    d = older;
    if (d != 0 && !stillOnList(c, d, which, node)) d = listTail(head); // the list changed under us
  }
  unlock(cn + CN_LOCK);
  return pages;
}

// Destroy up to `limit` objects of count 1 among the `objects` slots starting at `first`. Pages freed.
function destroyInSlab(c: usize, first: usize, objects: u32, stride: u32, limit: u32): u32 {
  let pages: u32 = 0;
  let done: u32 = 0;
  const inuseBits = (load<u32>(c, C_FLAGS) & F_INUSE) != 0;
  for (let i: u32 = 0; i < objects && done < limit; i++) {
    const obj = first + <usize>i * stride;
    if (resolveObject(c, obj) == 0 || load<u32>(obj) != 1) continue;   // free, or in use
    if (inuseBits && !inuseIsSet(c, obj)) continue;                      // parked or in flight (inuse.ts)
    if (hook(HOOK_DTOR, load<u32>(c, C_ID), <u32>obj, 0) != 0) { lastDtorFailed = true; break; }
    done++;
    // The destructor ran with no lock held: check again before freeing.
    if (resolveObject(c, obj) == 0 || load<u32>(obj) != 1) continue;   // it freed or revived the object
    if (!inuseRelease(c, obj)) continue;                                // (F_INUSE: freed by the dtor)
    store<u32>(obj, 0);
    hardenReleased(c, obj);                                             // a free-key object in its slab holds its key
    destroyedTotal++;
    pages += releaseObject(c, obj);
  }
  return pages;
}

// Free a destroyed object to its slab; a slab that empties goes back to the page allocator at once.
// Pages freed. A debug cache's object takes the checked free (poison, red zones, free track; a corrupted
// one is quarantined and reported instead), and then its slab goes back if that emptied it.
function releaseObject(c: usize, obj: usize): u32 {
  if ((load<u32>(c, C_FLAGS) & F_DEBUG_MASK) == 0) return freeToSlabReleasing(c, obj);
  const before = cacheSlabPages(c);
  debugFree(c, obj);
  discardEmpty(c, nodeOf(obj), 0);
  return before - cacheSlabPages(c);
}

// Free with the reclaim protocol: check, set the count word to 0, then free as cacheFree does. For
// reclaimable caches (any other cache is freed unchanged). E_OK or the error code, changing nothing.
export function reclaimableFree(cache: usize, ptr: usize): i32 {
  if (resolveObject(cache, ptr) == 0) return resolvedError;
  if ((load<u32>(cache, C_FLAGS) & F_RECLAIMABLE) != 0) store<u32>(ptr, 0);
  return cacheFree(cache, ptr);
}

// E_OK when ptr is an allocated object of cache (allocated in its slab: parked objects count too).
export function objectCheck(cache: usize, ptr: usize): i32 {
  return resolveObject(cache, ptr) == 0 ? resolvedError : E_OK;
}

// ---- memory.discard -----------------------------------------------------------------------------------
// The engine call is the TS layer's (WebAssembly.Memory#discard, where it exists); the Wasm marks chunks.

// The index of the next wholly free chunk at or after `from` not yet discarded, marked as discarded now;
// -1 when there is none. The caller discards [chunkStart + DISCARD_SKIP, chunkStart + CHUNK_SIZE).
export function discardNext(from: u32): i32 {
  const total = nchunks();
  for (let i = from; i < total; i++) {
    if ((chunkByte(i) & CT_RUN_TAIL) != 0) continue;
    const ch = chunkStart(i);
    if (changetype<ChunkHdr>(ch).state == CS_FREE && changetype<ChunkHdr>(ch).discarded == 0) {
      changetype<ChunkHdr>(ch).discarded = 1;
      return <i32>i;
    }
  }
  return -1;
}

// Undo discardNext's mark (the engine refused the discard).
export function discardUnmark(i: u32): void {
  if (i < nchunks() && (chunkByte(i) & CT_RUN_TAIL) == 0) changetype<ChunkHdr>(chunkStart(i)).discarded = 0;
}

// Free chunks (on every node's free-chunk list) whose pages were discarded.
export function discardedChunks(): u32 {
  let k: u32 = 0;
  const nn = nnodes();
  for (let n: u32 = 0; n < nn; n++) {
    for (let ch = <usize>changetype<NodeHdr>(nodeAddr(n)).freeChunkHead; ch != 0; ch = <usize>changetype<ChunkHdr>(ch).next) {
      if (changetype<ChunkHdr>(ch).discarded != 0) k++;
    }
  }
  return k;
}
