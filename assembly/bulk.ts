// bulk.ts — many objects per call: allocBulk (all or nothing) and freeBulk (checked, then moved in runs).
//
// Owns: nothing persistent (bulkBadIndex: the index of the pointer a failed freeBulk refused). Entry
// points: cacheAllocBulk(cache, dst, n), cacheFreeBulk(cache, src, n).
// Called by: index.ts (the TS layer passes a staging buffer of u32 object addresses in linear memory).
// Calls sheaf.ts (sheaves, the barn), node.ts (refillBatch, freeToSlabs, slabsReleased; lockNode: the
// cache-node locks of the check pass), sync.ts (unlock), slab.ts
// (locateObject), debug.ts (debug caches, one checked object at a time), harden.ts and inuse.ts (every
// object handed out or freed meets its cache's double-free check; a key found is confirmed by cpu.ts
// parkedAnywhere; the in-use bit is tested and set per run here, with inuse.ts's encoding and the
// cache's geometry read once: checkRun, markRun), report.ts, threads.ts (a pending request is honoured
// at entry, as cpu.ts slowEntry does).
//
// allocBulk moves runs: the main and spare arrays' entries, then full arrays from the node's barn, each
// with one pass that writes the entry and clears its free key (keyed caches; alloc_fastpath per object),
// then refills straight into the caller's buffer from the slabs (alloc_slowpath per object). If memory
// runs out it gives back everything it took: n objects or none.
//
// freeBulk checks every pointer first, in one pass, and frees nothing if one is bad. The check pass walks
// the run slab by slab: the first pointer of a slab gets the full look-up (locateObject: table byte, page
// descriptor, cache), the next ones in the same slab only the index arithmetic, and the slab's bitmap word
// stays in a register while the run stays in it. A second copy of a pointer in the batch must read as a
// double free: an F_INUSE cache sees it in its in-use bit (test and clear: cleared is the final state);
// any other cache sets the object's free bit provisionally (the flip), which a later copy finds set.
// Then the free pass moves the run (when every object is of the CPU's node, which the check pass learns):
// one memory.copy fills the main array, a full main array goes to the barn while it has room (a prefix of
// the run); the provisional bits of that prefix are cleared again and its keys written in one pass; the
// rest of the run keeps its flipped bits as their final state and node.ts slabsReleased fixes the slabs'
// counts and lists once per run of same-slab objects. A batch that mixes nodes (or a CPU re-entered
// inside a slow path: CC_GUARD set) clears every flip and goes object by object (same-node objects into
// the arrays, the rest to their slabs, each node under its own lock).
// Threaded build: a flipped bit is visible to other CPUs' refills (and a slab's bitmap words are written
// by whoever holds its node's lock), so an object's bit is flipped and cleared again only under the
// cache-node lock of that object's node, and no flip outlives the lock it was made under. The check pass
// runs under the CPU node's lock (checkRun); at the first object of another node it stops and checkMixed
// goes on, flipping only the CPU node's objects and locating and key-checking the others (their nodes
// noted). Those flips are cleared before that lock goes (parkRun, or parkNode for a mixed batch); then
// each other node the batch touches, in ascending order, one lock at a time (never two: sync.ts lock
// order), gets the same test-flip-clear for its objects (checkNodes). A duplicate is always of one node,
// so each is found under its node's lock, and the index reported is still the first bad one. The free
// pass then frees the objects as ordinary ones (freeRuns + freeToSlabs). A batch of one node takes one
// lock and runs checkRun's loop alone, as before; a batch of m nodes takes m locks. (An F_INUSE cache
// flips nothing: its in-use bits find duplicates, so it never stops at another node's object.)
// In-use bits take no lock at all: a word holds 64 neighbouring objects' bits, which other CPUs set and
// clear at the same time from their own fast paths, so in the threaded build markRun and the check pass
// update it with inuse.ts's compare-and-swap (inuseWordSet, inuseWordTestClear) — the same code as
// before in the single-threaded build.
// Measured (bench/micro.mjs section 5, threaded build against its previous version, same process):
// a one-node batch 0.95–0.99× (no change), a two-node batch about 1.1× (the second lock and pass).
// Measured (bench/PROFILE.md "Bulk", second part): what each part costs per object.
//
// Call tree: cacheAllocBulk → bulkEntry, takeRun (entry + key clear), barnGetFullSheaf → putBack,
//   refillBatch, markRun (in-use bits);  cacheFreeBulk → bulkEntry, checkRun (locateObject, parkedAnywhere,
//   the in-use bit), [threaded: checkMixed (a mixed batch), parkRun | parkNode, checkNodes (per other
//   node: lock, flip, parkNode)]
//   → [bad: parkRun, inuseMark, freeFailed] → freeRuns (memory.copy, swapMainToBarn →
//   barnGetEmptySheaf | sheafNew, barnPutFullSheaf) → parkRun (clear the flip, write the key) →
//   slabsReleased | freeToSlabs | debugFreeBulk.
import {
  C_ARRAY_CAP, C_FLAGS, C_INUSE_OFF, C_OBJ_OFFSET, C_OBJECTS, C_RECIP, C_SLAB_MASK, C_STRIDE, CN_LOCK, CT_NODE,
  E_DOUBLE_FREE, E_NOMEM, E_NOT_OBJECT, E_OK, F_DEBUG_MASK, F_FREEKEY, F_INUSE,
} from "./layout";
import { CacheNode, CpuSlot, PageDesc, Sheaf, objectIndexAt } from "./structs";
import { chunkByteOf, pageOf } from "./arena";
import { cnAddr, freeToSlabs, lockNode, refillBatch, slabsReleased } from "./node";
import { locateObject } from "./slab";
import {
  barnGetEmptySheaf, barnGetFullSheaf, barnMaxFull, barnPutEmptySheaf, barnPutFullSheaf, sheafEntry, sheafNew,
} from "./sheaf";
import { ALLOC_FASTPATH, ALLOC_SLOWPATH, FREE_FASTPATH, FREE_SLOWPATH, statAddAt } from "./stats";
import { cpuSlot, currentNode, emptySheaf } from "./percpu";
import { freeFailed, setError } from "./report";
import { debugAllocBulk, debugBulkBad, debugFreeBulk } from "./debug";
import { inuseMark, inuseWordSet, inuseWordTestClear, keyAddr, keyOf } from "./inuse";
import { HARDEN_PARKED, HARDENING } from "./harden";
import { parkedAnywhere } from "./cpu";
import { THREADED, unlock } from "./sync";
import { threadsHonour, threadsPending } from "./threads";

// Index of the bad pointer after a failed cacheFreeBulk.
export let bulkBadIndex: u32 = 0;

// Does this cache keep free keys in this build (inuse.ts; harden.ts gates them with HARDEN_PARKED)?
@inline function keyedCache(flags: u32): bool {
  return (flags & F_FREEKEY) != 0 && (HARDENING & HARDEN_PARKED) != 0;
}

// Entry of a bulk call, as cpu.ts slowEntry (index.ts refused a call without a CPU already): a request
// pending for this CPU is honoured first, unless the CPU is inside a slow path (its guard set).
@inline function bulkEntry(slot: usize): void {
  if (THREADED) {
    if (threadsPending() && changetype<CpuSlot>(slot).guard == 0) threadsHonour();
  }
}

// ---- allocBulk ----------------------------------------------------------------------------------------

// Move up to `want` objects from the top of sheaf s to dst, clearing each one's free key on the way (a
// keyed cache: the object goes to a user). Returns how many.
function takeRun(s: usize, dst: usize, want: u32, flags: u32): u32 { // not inlined: 3 call sites, once per array
  const have = changetype<Sheaf>(s).count;
  const k = have < want ? have : want;
  const from = sheafEntry(s, have - k);
  if (keyedCache(flags)) {
    for (let j: usize = 0, bytes = <usize>k << 2; j < bytes; j += 4) {
      const p = load<u32>(from + j);
      store<u32>(dst + j, p);
      store<u32>(keyAddr(flags, p), 0);
    }
  } else {
    memory.copy(dst, from, <usize>k << 2);
  }
  changetype<Sheaf>(s).count = have - k;
  return k;
}

export function cacheAllocBulk(cache: usize, dst: usize, n: u32): u32 {
  const flags = load<u32>(cache, C_FLAGS);
  if ((flags & F_DEBUG_MASK) != 0) return debugAllocBulk(cache, dst, n); // checked one by one (debug.ts)
  const slot = cpuSlot(cache);
  bulkEntry(slot);
  let got: u32 = 0;
  if (changetype<CpuSlot>(slot).guard == 0) {   // re-entered inside a slow path: the arrays are not ours now
    got = takeRun(<usize>changetype<CpuSlot>(slot).main, dst, n, flags);
    if (got < n) got += takeRun(<usize>changetype<CpuSlot>(slot).spare, dst + (<usize>got << 2), n - got, flags);
    const cn = cnAddr(cache, currentNode);
    while (got < n && changetype<CacheNode>(cn).barnNrFull != 0) {
      const full = barnGetFullSheaf(cache, cn);
      if (full == 0) break;
      got += takeRun(full, dst + (<usize>got << 2), n - got, flags);
      putBack(cache, slot, cn, full);
    }
  }
  const fromArrays = got;
  while (got < n) {
    const r = refillBatch(cache, currentNode, dst + (<usize>got << 2), n - got);
    if (r == 0) {
      // all or nothing: back to their slabs, where a free object holds its key (harden.ts)
      if (keyedCache(flags)) for (let k: u32 = 0; k < got; k++) store<u32>(keyAddr(flags, <usize>load<u32>(dst + (<usize>k << 2))), keyOf(<usize>load<u32>(dst + (<usize>k << 2))));
      freeToSlabs(cache, dst, got);
      setError(E_NOMEM);
      return 0;
    }
    got += r;
  }
  statAddAt(slot, ALLOC_FASTPATH, fromArrays);
  statAddAt(slot, ALLOC_SLOWPATH, n - fromArrays);
  // harden.ts: the objects from the slabs lose the key slabTake gave them; an F_INUSE cache marks all
  if (keyedCache(flags)) {
    for (let k: u32 = fromArrays; k < n; k++) store<u32>(keyAddr(flags, <usize>load<u32>(dst + (<usize>k << 2))), 0);
  } else if ((flags & F_INUSE) != 0) {
    markRun(cache, dst, n);
  }
  return n;
}

// Set the in-use bit of every object of dst[0..n) (harden.ts hardenAlloc of an F_INUSE cache, for a
// run: the cache's geometry read once, not per object; inuse.ts wordOf's encoding).
function markRun(cache: usize, dst: usize, n: u32): void {
  const mask = load<u32>(cache, C_SLAB_MASK);
  const objOff = load<u32>(cache, C_OBJ_OFFSET);
  const recip = load<u32>(cache, C_RECIP);
  const inuseOff = <usize>load<u32>(cache, C_INUSE_OFF);
  for (let k: u32 = 0; k < n; k++) {
    const p = <usize>load<u32>(dst + (<usize>k << 2));
    const i = objectIndexAt((<u32>p & mask) - objOff, recip);
    const w = (p & ~<usize>mask) + inuseOff + (<usize>(i >> 6) << 3);
    inuseWordSet(w, <u64>1 << (i & 63));
  }
}

// An array taken from the barn after use: if objects are left, it becomes the CPU's main array (which
// the bulk call emptied first) and the old main goes back as an empty array; an empty one goes back to
// the barn's empty list, or is freed when that list is at its limit.
function putBack(cache: usize, slot: usize, cn: usize, s: usize): void {
  if (changetype<Sheaf>(s).count != 0) {
    const main = <usize>changetype<CpuSlot>(slot).main;
    changetype<CpuSlot>(slot).main = <u32>s;
    s = main;
    if (s == emptySheaf()) return;
  }
  barnPutEmptySheaf(cache, cn, s);
}

// ---- freeBulk: the check pass -------------------------------------------------------------------------

// Results of checkRun besides its return value (per instance scratch, valid until the next call).
let checkError: i32 = E_OK;   // why src[k] was refused
let checkForeign: u32 = 0;    // objects of a node other than the CPU's
let checkOthers: u32 = 0;     // threaded build, flip: bit m set = objects of node m ≠ the CPU's were deferred
// checkError of a threaded checkRun with `flip` that stopped at the first object of another node (not an
// error: checkMixed goes on from there).
const CHECK_MIXED: i32 = -1;

// Check src[0..n) as objects of `cache` in users' hands, flipping each one's free bit when `flip` (the
// provisional mark that finds a duplicate) and clearing its in-use bit in an F_INUSE cache. Returns n
// when all are good; else the index k of the first bad one (checkError says why), with src[0..k) flipped
// / released and src[k..n) untouched.
// Threaded build with `flip`: it stops at the first object of another node (checkError = CHECK_MIXED);
// the caller goes on with checkMixed. A batch of the CPU's node, the common one, runs this loop only.
function checkRun(cache: usize, src: usize, n: u32, flags: u32, flip: bool): u32 {
  return checkCore(cache, src, 0, n, flags, flip, false);
}

// Threaded build, `flip`: the rest of a batch checkRun stopped in, src[from..n), with checkRun's results.
// Only the objects of the CPU's node (whose lock the caller holds) are tested against their slab bits and
// flipped; an object of another node is located and key-checked only, and its node noted in
// checkOthers: checkNodes tests and flips it later, under that node's lock.
function checkMixed(cache: usize, src: usize, from: u32, n: u32, flags: u32): u32 {
  return checkCore(cache, src, from, n, flags, true, true);
}

// checkRun and checkMixed, from src[from]: one loop, specialised by its two callers' constants (inlined:
// the plain check keeps no trace of the deferring one).
@inline function checkCore(cache: usize, src: usize, from: u32, n: u32, flags: u32, flip: bool, defer: bool): u32 {
  const node = currentNode;
  const stopMixed = THREADED && flip && !defer; // (false in the single-threaded build)
  const mask = load<u32>(cache, C_SLAB_MASK);
  const objOff = load<u32>(cache, C_OBJ_OFFSET);
  const recip = load<u32>(cache, C_RECIP);
  const objects = load<u32>(cache, C_OBJECTS);
  const stride = load<u32>(cache, C_STRIDE);
  const keyed = keyedCache(flags);
  const inuse = (flags & F_INUSE) != 0;
  const inuseOff = <usize>load<u32>(cache, C_INUSE_OFF);
  // Start of the slab the run is in; 1 = none yet. Never 0: a bad pointer below the first slab's size
  // (0, 64...) masks to 0 and must not pass for a pointer of "the current slab".
  let runSlab: usize = 1;
  let runForeign: u32 = 0;
  let bm: usize = 0;            // that slab's bitmap
  let wa: usize = 0;            // the bitmap word held in wv (written back when the run leaves it)
  let wv: u64 = 0;
  let foreign: u32 = 0;
  let others: u32 = 0;
  let bad: i32 = E_OK;
  let k: u32 = from;
  for (; k < n; k++) {
    const p = <usize>load<u32>(src + (<usize>k << 2));
    const slab = p & ~<usize>mask;
    let i: u32;
    if (slab != runSlab) {
      const b = chunkByteOf(p);
      const loc = locateObject(cache, p, b);                   // the full look-up, once per slab
      if (loc < (<u64>1 << 32)) { bad = <i32>loc; break; }
      runSlab = slab;
      runForeign = <u32>((<u32>b & CT_NODE) != node);
      if (stopMixed && runForeign != 0) { bad = CHECK_MIXED; break; }
      if (defer && runForeign != 0) others |= 1 << (<u32>b & CT_NODE);
      bm = <usize>changetype<PageDesc>(<usize>(loc >> 32)).aux; // the slab's bitmap (slab.ts slabBitmap)
      i = <u32>loc;
    } else {
      const off = (<u32>p & mask) - objOff;                    // same slab: only the index arithmetic
      i = objectIndexAt(off, recip);
      if (i >= objects || i * stride != off) { bad = E_NOT_OBJECT; break; }
    }
    if (defer && runForeign != 0) {
      // another node's object: its bits are that node's lock's (checkNodes); its key is checked here
      if (keyed && load<u32>(keyAddr(flags, p)) == keyOf(p)) {
        if (wa != 0) store<u64>(wa, wv);
        if (parkedAnywhere(cache, p)) { bad = E_DOUBLE_FREE; break; }
      }
      foreign++;
      continue;
    }
    const w = bm + (<usize>(i >> 6) << 3);
    if (w != wa) {
      if (wa != 0) store<u64>(wa, wv);
      wa = w;
      wv = load<u64>(w);
    }
    const m = <u64>1 << (i & 63);
    if ((wv & m) != 0) { bad = E_DOUBLE_FREE; break; }        // free in its slab, or twice in this batch
    if (keyed) {
      // its key is there: parked somewhere (a double free) or the user's own value (the cold walk decides)
      if (load<u32>(keyAddr(flags, p)) == keyOf(p)) {
        store<u64>(wa, wv);
        if (parkedAnywhere(cache, p)) { bad = E_DOUBLE_FREE; break; }
      }
    } else if (inuse) {
      // inuse.ts's in-use bit (test and clear), found from the slab and index this pass has already
      // (inuse.ts wordOf: slab + C_INUSE_OFF, word i >> 6): cleared means parked, or twice here
      const iw = runSlab + inuseOff + (<usize>(i >> 6) << 3);
      if (!inuseWordTestClear(iw, m)) { bad = E_DOUBLE_FREE; break; }
    }
    if (flip) wv |= m;
    foreign += runForeign;
  }
  if (wa != 0) store<u64>(wa, wv);
  checkError = bad;
  checkForeign = foreign;
  if (defer) checkOthers = others;
  return k;
}

// Threaded build, the second half of the check pass for the objects checkRun deferred: for each node in
// `others` (ascending), under that node's cache-node lock and no other, test the slab bit of each of its
// objects in src[0..limit) and flip it (a second copy in the batch finds it set), then clear those flips
// before the lock is released: no provisional bit is ever visible outside the lock of its slab's node.
// Returns limit when all are good; else the smallest index k of a bad one (checkError = E_DOUBLE_FREE).
// The objects were located by checkRun: only the index arithmetic is made here.
function checkNodes(cache: usize, src: usize, limit: u32, flags: u32, others: u32): u32 {
  const mask = load<u32>(cache, C_SLAB_MASK);
  const objOff = load<u32>(cache, C_OBJ_OFFSET);
  const recip = load<u32>(cache, C_RECIP);
  while (others != 0) {
    const node = <u32>ctz(others);
    others &= others - 1;
    const cn = cnAddr(cache, node);
    lockNode(cache, cn);
    let runSlab: usize = 1;     // none yet
    let mine = false;           // the run's slab is of `node`
    let bm: usize = 0;
    let wa: usize = 0;
    let wv: u64 = 0;
    let k: u32 = 0;
    for (; k < limit; k++) {
      const p = <usize>load<u32>(src + (<usize>k << 2));
      const slab = p & ~<usize>mask;
      if (slab != runSlab) {
        runSlab = slab;
        mine = (<u32>chunkByteOf(p) & CT_NODE) == node;
        if (mine) bm = <usize>changetype<PageDesc>(pageOf(slab)).aux;   // a slab starts at its head page
      }
      if (!mine) continue;
      const i = objectIndexAt((<u32>p & mask) - objOff, recip);
      const w = bm + (<usize>(i >> 6) << 3);
      if (w != wa) {
        if (wa != 0) store<u64>(wa, wv);
        wa = w;
        wv = load<u64>(w);
      }
      const m = <u64>1 << (i & 63);
      if ((wv & m) != 0) {                                      // free in its slab, or twice in this batch
        checkError = E_DOUBLE_FREE;
        break;
      }
      wv |= m;
    }
    if (wa != 0) store<u64>(wa, wv);
    parkNode(cache, src, k, flags, node);                       // this node's flips cleared, under its lock
    unlock(cn + CN_LOCK);
    limit = k;                                                  // a later node only looks below a bad one
  }
  return limit;
}

// Objects src[from..to) were checked and flipped: clear the flip (their free bits go back to 0) and,
// when `key`, write each one's free key (it is parked now: inuse.ts). The bitmap word stays in a
// register while the run stays in it.
function parkRun(cache: usize, src: usize, from: u32, to: u32, flags: u32, flip: bool, key: bool): void {
  parkCore(cache, src, from, to, flags, flip, key, ALL_NODES);
}

// Threaded build: clear the flips of `node`'s objects in src[0..to) only (each node's objects are flipped
// under that node's lock: checkMixed, checkNodes).
function parkNode(cache: usize, src: usize, to: u32, flags: u32, node: u32): void {
  parkCore(cache, src, 0, to, flags, true, false, node);
}

// parkRun and parkNode: one loop, specialised by their constants.
const ALL_NODES: u32 = 0xffffffff;
@inline function parkCore(cache: usize, src: usize, from: u32, to: u32, flags: u32, flip: bool, key: bool, node: u32): void {
  const mask = load<u32>(cache, C_SLAB_MASK);
  const objOff = load<u32>(cache, C_OBJ_OFFSET);
  const recip = load<u32>(cache, C_RECIP);
  let runSlab: usize = 1;       // none yet (a slab start is a multiple of its size, never 1)
  let skip = false;             // the run's slab is of a node other than `node`
  let bm: usize = 0;
  let wa: usize = 0;
  let wv: u64 = 0;
  for (let k = from; k < to; k++) {
    const p = <usize>load<u32>(src + (<usize>k << 2));
    if (key) store<u32>(keyAddr(flags, p), keyOf(p));
    if (!flip) continue;
    const slab = p & ~<usize>mask;
    if (slab != runSlab) {
      runSlab = slab;
      skip = THREADED && node != ALL_NODES && (<u32>chunkByteOf(p) & CT_NODE) != node; // (false: single-threaded)
      bm = <usize>changetype<PageDesc>(pageOf(slab)).aux;     // a slab starts at its head page
    }
    if (skip) continue;
    const i = objectIndexAt((<u32>p & mask) - objOff, recip);
    const w = bm + (<usize>(i >> 6) << 3);
    if (w != wa) {
      if (wa != 0) store<u64>(wa, wv);
      wa = w;
      wv = load<u64>(w);
    }
    wv &= ~(<u64>1 << (i & 63));
  }
  if (wa != 0) store<u64>(wa, wv);
}

// ---- freeBulk -----------------------------------------------------------------------------------------

export function cacheFreeBulk(cache: usize, src: usize, n: u32): i32 {
  const flags = load<u32>(cache, C_FLAGS);
  const slot = cpuSlot(cache);
  bulkEntry(slot);
  const flip = (flags & F_INUSE) == 0;          // an F_INUSE cache finds duplicates in its in-use bits
  const keyed = keyedCache(flags);
  const cn = cnAddr(cache, currentNode);
  if (THREADED) lockNode(cache, cn);            // flipped bits are seen by other CPUs' refills
  let k = checkRun(cache, src, n, flags, flip);
  if (THREADED) {
    // A batch that mixes nodes: the rest is checked deferring the other nodes' objects (checkMixed). The
    // flips made under this node's lock are cleared under it; the other nodes' objects are then checked
    // each under its own node's lock (checkNodes), one lock at a time.
    if (checkError == CHECK_MIXED) {
      k = checkMixed(cache, src, k, n, flags);  // (checkRun found no other node's object before k)
      if (flip) parkNode(cache, src, k, flags, currentNode);
      unlock(cn + CN_LOCK);
      if (checkOthers != 0) k = checkNodes(cache, src, k, flags, checkOthers);
    } else {
      if (flip) parkRun(cache, src, 0, k, flags, true, false);
      unlock(cn + CN_LOCK);
    }
  }
  if (k < n) {
    // Undo (the pointers are known good up to k): clear the flips, mark the released in-use bits again.
    if (!flip) for (let j: u32 = 0; j < k; j++) inuseMark(cache, <usize>load<u32>(src + (<usize>j << 2)));
    else if (!THREADED) parkRun(cache, src, 0, k, flags, true, false);
    bulkBadIndex = k;
    return freeFailed(cache, <usize>load<u32>(src + (<usize>k << 2)), checkError); // reported (report.ts)
  }
  const cap = load<u32>(cache, C_ARRAY_CAP);
  const runs = (flags & F_DEBUG_MASK) == 0 && cap != 0 && checkForeign == 0 && changetype<CpuSlot>(slot).guard == 0;
  const keepFlips = flip && runs && !THREADED;  // the flips of the objects bound for their slabs stay
  if (flip && !keepFlips && !THREADED) parkRun(cache, src, 0, n, flags, true, false); // every object allocated again
  if ((flags & F_DEBUG_MASK) != 0) {
    const e = debugFreeBulk(cache, src, n);                   // each checked; corrupted ones quarantined
    if (e != E_OK) bulkBadIndex = debugBulkBad;
    return e;
  }

  let local: u32 = 0;
  if (runs) {
    // By runs: a prefix into the arrays (its flips cleared, its keys written, run by run); the rest stays
    // flipped — free in its slabs, whose counts and lists are fixed once per slab.
    local = freeRuns(cache, slot, cap, src, n, flags, keepFlips, keyed);
    if (keyed) parkRun(cache, src, local, n, flags, false, true); // free in its slab, an object holds its key (harden.ts)
    if (keepFlips) slabsReleased(cache, src + (<usize>local << 2), n - local);
    else freeToSlabs(cache, src + (<usize>local << 2), n - local);
  } else {
    local = freeMixed(cache, slot, cap, src, n, flags);
  }
  statAddAt(slot, FREE_FASTPATH, local);
  statAddAt(slot, FREE_SLOWPATH, n - local);
  return E_OK;
}

// Mixed nodes, arrays off, or re-entered inside a slow path (every flip already cleared): same-node objects
// into the arrays one by one (keyed), the rest compacted to the front of src and freed to their slabs
// (freeToSlabs takes each node's lock once per run). Returns how many went into arrays.
function freeMixed(cache: usize, slot: usize, cap: u32, src: usize, n: u32, flags: u32): u32 {
  const node = currentNode;
  const cn = cnAddr(cache, node);
  const arrays = cap != 0 && changetype<CpuSlot>(slot).guard == 0;
  const keyed = keyedCache(flags);
  if (arrays) changetype<CpuSlot>(slot).guard = 1;          // as in freeRuns: reclaim leaves our arrays be
  let main = <usize>changetype<CpuSlot>(slot).main;
  let rest: u32 = 0;
  let local: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const p = load<u32>(src + (<usize>i << 2));
    if (keyed) store<u32>(keyAddr(flags, p), keyOf(p));      // parked or free in its slab: keyed either way
    if (arrays && (<u32>chunkByteOf(p) & CT_NODE) == node) {
      let count = changetype<Sheaf>(main).count;
      if (count >= changetype<Sheaf>(main).cap) {
        const fresh = changetype<CacheNode>(cn).barnNrFull < barnMaxFull(cache) ? swapMainToBarn(cache, slot, cn, main, cap) : 0;
        if (fresh == 0) { store<u32>(src + (<usize>rest << 2), p); rest++; continue; }
        main = fresh;
        count = 0;
      }
      store<u32>(sheafEntry(main, count), p);
      changetype<Sheaf>(main).count = count + 1;
      local++;
    } else {
      store<u32>(src + (<usize>rest << 2), p);
      rest++;
    }
  }
  if (arrays) changetype<CpuSlot>(slot).guard = 0;
  freeToSlabs(cache, src, rest);
  return local;
}

// Copy objects of src (all of the CPU's node) into the main array in runs, swapping a full main array
// into the barn while the barn has room. Returns how many went into arrays (a prefix of src). Each run
// copied is parked at once (parkRun: its flips cleared when `flip`, its keys written when `key`), before
// the next sheafNew: that may run pressure reclaim, which may flush the barn or validate. The CPU's guard
// is set meanwhile, so that reclaim leaves this CPU's main and spare arrays alone.
function freeRuns(cache: usize, slot: usize, cap: u32, src: usize, n: u32, flags: u32, flip: bool, key: bool): u32 {
  const cn = cnAddr(cache, currentNode);
  changetype<CpuSlot>(slot).guard = 1;
  let main = <usize>changetype<CpuSlot>(slot).main;
  let done: u32 = 0;
  while (done < n) {
    const count = changetype<Sheaf>(main).count;
    const space = changetype<Sheaf>(main).cap - count;
    if (space == 0) {
      const fresh = changetype<CacheNode>(cn).barnNrFull < barnMaxFull(cache) ? swapMainToBarn(cache, slot, cn, main, cap) : 0;
      if (fresh == 0) break;
      main = fresh;
      continue;
    }
    const k = space < n - done ? space : n - done;
    memory.copy(sheafEntry(main, count), src + (<usize>done << 2), <usize>k << 2);
    if (flip || key) parkRun(cache, src, done, done + k, flags, flip, key);
    changetype<Sheaf>(main).count = count + k;
    done += k;
  }
  changetype<CpuSlot>(slot).guard = 0;
  return done;
}

// The main array is full: hand it to the barn and install an empty array (from the barn, or new) as
// main. Returns the new main, or 0 when no array could be had (main stays).
function swapMainToBarn(cache: usize, slot: usize, cn: usize, main: usize, cap: u32): usize {
  if (main == emptySheaf()) {
    const s = sheafNew(cache, cap, currentNode);
    if (s != 0) changetype<CpuSlot>(slot).main = <u32>s;
    return s;
  }
  let empty = barnGetEmptySheaf(cache, cn);
  if (empty == 0) empty = sheafNew(cache, cap, currentNode);
  if (empty == 0) return 0;
  barnPutFullSheaf(cache, cn, main);
  changetype<CpuSlot>(slot).main = <u32>empty;
  return empty;
}
