// debug.ts — debug caches: per-operation checks, alloc/free tracks, and the quarantine of corrupted
// objects. Sits above the slab core (node.ts, slab.ts) and uses its operations: one object through the
// seam (allocOne / freeOne), takeFreeObject, bitmapCheck. The bytes it checks are debugslot.ts's; the
// report it makes is report.ts's.
//
// Owns: the clock, tag and stamp words of the debug block (DB_CLOCK, DB_TAG, DB_STAMP, DB_QUAR_CACHE), the
// tracks' contents, the cache fields C_QUAR and C_QUAR_COUNT, and the quarantine arrays (objects of an
// internal cache made on first use).
// Entry points:
//   objects    debugAlloc(), debugFree()                 (cpu.ts allocSingle / freeSingle)
//   hand-out   debugHandOut(), handOutAny()              (prefill.ts: objects taken from an array)
//   bulk       debugAllocBulk(), debugFreeBulk()         (bulk.ts)
//   walks      quarantineEntries(), quarantineEntry()    (validate.ts), isQuarantined(), debugDestroy()
//              (destroy.ts)
//   accessors  debugTrackOf(), debugDefaults(), debugSetDefaults(), debugSetTag(), debugSetStamp(),
//              debugClock()                              (index.ts)
// Calls node.ts, slab.ts, cache.ts (the quarantine cache), debugslot.ts, report.ts, harden.ts, percpu.ts.
//
// Debug caches (any F_DEBUG_MASK flag) have no per-CPU arrays (cacheCreate sets the capacity to 0), as
// the kernel's: every alloc and free reaches allocSingle/freeSingle, which dispatch here, so the slab
// bitmap is exact for them and their checks see every operation. Call tree:
//   cacheAlloc ─ allocSlow ─ allocSingle ─ debugAlloc ─ allocOne (one object through the seam)
//                                                     ├ checks: slab consistent (F_CHECKS), red zones
//                                                     │  inactive, poison intact  ── bad: quarantine,
//                                                     │  report, return 0 (the alloc fails; the heap works)
//                                                     └ red zones active, alloc track
//   cacheFree ─ checkObject ─── bad: freeFailed (report) ─ freeSlow/freeRemote ─ freeSingle ─ debugFree
//                                                     ├ quarantined object: report a double free
//                                                     ├ checks: slab consistent, red zones active ── bad:
//                                                     │  free track, quarantine, report, nothing freed
//                                                     └ free track, poison, red zones inactive, freeOne
//
// Quarantine: an object whose bytes or slab were found corrupted stays allocated in its slab (bit 0) and
// is never handed out again. C_QUAR_COUNT counts them (liveObjects subtracts it); the first QUAR_CAP are
// remembered in the cache's quarantine array (allocator memory, out of users' reach), so that a later
// free of one is reported as a double free. Destroying a cache discards quarantined objects with their
// slabs (after the live count said 0, every object still allocated in a slab is quarantined).
import {
  C_FLAGS, C_OBJECTS, C_QUAR, C_QUAR_COUNT, C_TRACK_OFF, CN_FULL, CN_LOCK, CN_PARTIAL, D_BITS, DB_CLOCK,
  DB_DEFAULTS, DB_QUAR_CACHE, DB_STAMP, DB_TAG, E_CORRUPT, E_DOUBLE_FREE, E_OK, F_CHECKS, F_DEBUG_MASK,
  F_POISON, F_RED_ZONE, H_LAST_ERROR, H_NNODES, INLINE_BITMAP_OBJECTS, K_SLAB, L_NONE, Q_CAP, Q_COUNT,
  Q_HDR, QUAR_BYTES, QUAR_CAP, RZ_ACTIVE, RZ_INACTIVE, TRACK_SIZE,
} from "./layout";
import { CacheNode, PageDesc, Track } from "./structs";
import { HEAP, pageOf } from "./arena";
import { allocOne, cnAddr, freeOne, listFor, lockNode, moveSlab, takeFreeObject } from "./node";
import { bitmapCheck, headOf, objectAt, slabBitmap, slabDiscard, slabIsFree } from "./slab";
import { cacheCreateInternal } from "./cache";
import { checkBytes, debugBlock, paintRedZones, poison } from "./debugslot";
import { debugReport, setError } from "./report";
import { hardenAlloc } from "./harden";
import { currentNode } from "./percpu";
import { FREE_SLAB, stat } from "./stats";
import { currentCpu, unlock } from "./sync";

@inline function db(): usize {
  return debugBlock();
}

// F_CHECKS: is slab d (holding an object of `cache`) consistent? Its head, owner, bitmap against its
// in-use count (slab.ts bitmapCheck), and the list it is on against that count. Reads only.
function slabConsistent(cache: usize, d: usize): bool {
  if (d == 0 || changetype<PageDesc>(d).kind != K_SLAB || <usize>changetype<PageDesc>(d).cache != cache) return false;
  const objects = load<u32>(cache, C_OBJECTS);
  if (<u32>changetype<PageDesc>(d).objects != objects) return false;
  if (objects <= INLINE_BITMAP_OBJECTS && slabBitmap(d) != d + D_BITS) return false;
  if (bitmapCheck(cache, d) != 0) return false;
  return changetype<PageDesc>(d).list == listFor(<u32>changetype<PageDesc>(d).inuse, objects);
}

// ---- tracks and clock -----------------------------------------------------------------------------------

@inline function tick(): void {
  const b = db();
  store<u32>(b, load<u32>(b, DB_CLOCK) + 1, DB_CLOCK);
}

function writeTrack(t: usize): void {
  const b = db();
  const track = changetype<Track>(t);
  track.tag = load<u32>(b, DB_TAG);
  track.cpu = <u16>currentCpu;
  track.node = <u8>currentNode;
  track.set = 1;
  track.clock = load<u32>(b, DB_CLOCK);
  track.stamp = load<u32>(b, DB_STAMP);
}

// ---- quarantine -------------------------------------------------------------------------------------------

function newQuarantineArray(): usize {
  const b = db();
  let qc = <usize>load<u32>(b, DB_QUAR_CACHE);
  if (qc == 0) {
    qc = cacheCreateInternal(QUAR_BYTES);
    if (qc == 0) return 0;
    store<u32>(b, <u32>qc, DB_QUAR_CACHE);
  }
  const q = allocOne(qc, 0xffffffff);
  if (q == 0) return 0;
  store<u32>(q, 0, Q_COUNT);
  store<u32>(q, QUAR_CAP, Q_CAP);
  return q;
}

// Keep p (allocated in its slab) out of circulation for good.
function quarantine(cache: usize, p: usize): void {
  store<u32>(cache, load<u32>(cache, C_QUAR_COUNT) + 1, C_QUAR_COUNT);
  let q = <usize>load<u32>(cache, C_QUAR);
  if (q == 0) {
    q = newQuarantineArray();
    if (q == 0) return;                    // no memory: counted, not remembered
    store<u32>(cache, <u32>q, C_QUAR);
  }
  const n = load<u32>(q, Q_COUNT);
  if (n < load<u32>(q, Q_CAP)) {
    store<u32>(q + Q_HDR + (<usize>n << 2), <u32>p);
    store<u32>(q, n + 1, Q_COUNT);
  }
}

export function isQuarantined(cache: usize, p: usize): bool {
  const q = <usize>load<u32>(cache, C_QUAR);
  if (q == 0) return false;
  const n = load<u32>(q, Q_COUNT);
  for (let k: u32 = 0; k < n; k++) if (<usize>load<u32>(q + Q_HDR + (<usize>k << 2)) == p) return true;
  return false;
}

// Entries remembered in the quarantine array (validate walks them), and the k-th one.
export function quarantineEntries(cache: usize): u32 {
  const q = <usize>load<u32>(cache, C_QUAR);
  return q == 0 ? 0 : load<u32>(q, Q_COUNT);
}
export function quarantineEntry(cache: usize, k: u32): usize {
  return <usize>load<u32>(<usize>load<u32>(cache, C_QUAR) + Q_HDR + (<usize>k << 2));
}

// ---- alloc and free of debug caches ----------------------------------------------------------------------

// One object of a debug cache from `node` (0xffffffff: the CPU's node), checked and tracked; 0 with the
// error set (E_NOMEM, or E_REDZONE / E_POISON / E_CORRUPT after a report: that object is quarantined and
// the next alloc takes another).
export function debugAlloc(cache: usize, node: u32): usize {
  const p = allocOne(cache, node);
  if (p == 0) return 0;
  return debugHandOut(cache, p) == E_OK ? p : 0;
}

// Object p of debug cache `cache`, just taken from its slab (allocated there), is about to go to a user:
// check it (slab, red zones, poison), then mark it allocated (active red zones, alloc track). E_OK, or
// the error after p was quarantined and reported.
export function debugHandOut(cache: usize, p: usize): i32 {
  tick();
  const flags = load<u32>(cache, C_FLAGS);
  let code = E_OK;
  if ((flags & F_CHECKS) != 0 && !slabConsistent(cache, headOf(p))) code = E_CORRUPT;
  if (code == E_OK) code = checkBytes(cache, p, flags, RZ_INACTIVE, true);
  if (code != E_OK) {
    quarantine(cache, p);
    return debugReport(code, cache, p);
  }
  paintRedZones(cache, p, flags, RZ_ACTIVE);
  const t = load<u32>(cache, C_TRACK_OFF);
  if (t != 0) writeTrack(p + t);
  return E_OK;
}

// Any object p taken from an array that is about to go to a user (prefilled handles): the hardening of
// its cache (named by its page descriptor): debug hand-out checks, or the in-use bit. False when p was
// found corrupted (quarantined and reported): take another.
export function handOutAny(p: usize): bool {
  const cache = <usize>changetype<PageDesc>(pageOf(p)).cache;
  const flags = load<u32>(cache, C_FLAGS);
  if ((flags & F_DEBUG_MASK) != 0) return debugHandOut(cache, p) == E_OK;
  hardenAlloc(cache, p);                                   // harden.ts: the key cleared, or marked in use
  return true;
}

// Bulk alloc for a debug cache: n checked objects into dst, all or nothing. n, or 0 with the error of the
// first failure (E_NOMEM, or a corruption already reported) after the objects taken were freed again.
export function debugAllocBulk(cache: usize, dst: usize, n: u32): u32 {
  for (let k: u32 = 0; k < n; k++) {
    const p = debugAlloc(cache, 0xffffffff);
    if (p == 0) {
      const code = load<i32>(HEAP, H_LAST_ERROR);
      for (let j: u32 = 0; j < k; j++) debugFree(cache, <usize>load<u32>(dst + (<usize>j << 2)));
      setError(code);
      return 0;
    }
    store<u32>(dst + (<usize>k << 2), <u32>p);
  }
  return n;
}

// Free p, an allocated object of debug cache `cache` (resolveObject said so). E_OK, or an error after a
// report: a quarantined object (E_DOUBLE_FREE, nothing changes), a corrupted slab or red zone (the object
// is quarantined, not freed).
export function debugFree(cache: usize, p: usize): i32 {
  tick();
  if (isQuarantined(cache, p)) return debugReport(E_DOUBLE_FREE, cache, p);
  const flags = load<u32>(cache, C_FLAGS);
  const t = load<u32>(cache, C_TRACK_OFF);
  let code = E_OK;
  if ((flags & F_CHECKS) != 0 && !slabConsistent(cache, headOf(p))) code = E_CORRUPT;
  if (code == E_OK) code = checkBytes(cache, p, flags, RZ_ACTIVE, false);
  if (t != 0) writeTrack(p + t + TRACK_SIZE);
  if (code != E_OK) {
    quarantine(cache, p);
    return debugReport(code, cache, p);
  }
  if ((flags & F_POISON) != 0) poison(cache, p);
  paintRedZones(cache, p, flags, RZ_INACTIVE);
  const d = headOf(p);
  if (changetype<PageDesc>(d).inuse == 1) sweepBeforeEmpty(cache, d, flags);
  freeOne(cache, p);
  return E_OK;
}

// Slab d is about to become empty (its last object is being freed), after which it may go back to the
// page allocator and take any corruption of its free objects with it unseen. As SLUB checks a debug slab
// before discarding it, check every free object now: a corrupted one is taken out of the slab,
// quarantined and reported (so the slab stays, not empty).
function sweepBeforeEmpty(cache: usize, d: usize, flags: u32): void {
  if ((flags & (F_RED_ZONE | F_POISON)) == 0) return;
  const objects = load<u32>(cache, C_OBJECTS);
  for (let i: u32 = 0; i < objects; i++) {
    if (!slabIsFree(d, i)) continue;
    const q = objectAt(cache, d, i);
    const code = checkBytes(cache, q, flags, RZ_INACTIVE, true);
    if (code == E_OK) continue;
    takeFreeObject(cache, d, i);
    quarantine(cache, q);
    debugReport(code, cache, q);
  }
}

// ---- whole-cache walks -------------------------------------------------------------------------------------

// cacheDestroy, after the live count said 0 and the arrays were drained: forget the quarantine array and
// give back every slab still holding (quarantined) objects.
export function debugDestroy(c: usize): void {
  const q = <usize>load<u32>(c, C_QUAR);
  if (q != 0) {
    freeOne(<usize>load<u32>(db(), DB_QUAR_CACHE), q);
    store<u32>(c, 0, C_QUAR);
  }
  if (load<u32>(c, C_QUAR_COUNT) == 0) return;
  const nn = load<u32>(HEAP, H_NNODES);
  const objects = load<u32>(c, C_OBJECTS);
  for (let n: u32 = 0; n < nn; n++) {
    const cn = cnAddr(c, n);
    lockNode(c, cn);
    for (let which: u32 = 0; which < 2; which++) {
      const head = cn + (which == 0 ? CN_PARTIAL : CN_FULL);
      let d = <usize>load<u32>(head);
      while (d != 0) {
        moveSlab(cn, d, L_NONE);
        changetype<CacheNode>(cn).totalObjects -= objects;
        stat(c, FREE_SLAB);
        slabDiscard(c, d);
        d = <usize>load<u32>(head);
      }
    }
    unlock(cn + CN_LOCK);
  }
  store<u32>(c, 0, C_QUAR_COUNT);
}

// ---- small accessors (index.ts) ------------------------------------------------------------------------------

// Address of object p's alloc (which = 0) or free (which = 1) track, 0 when the cache keeps none.
@inline export function debugTrackOf(cache: usize, p: usize, which: u32): usize {
  const t = load<u32>(cache, C_TRACK_OFF);
  return t == 0 ? 0 : p + t + which * TRACK_SIZE;
}
@inline export function debugDefaults(): u32 {
  return load<u32>(db(), DB_DEFAULTS);
}
export function debugSetDefaults(flags: u32): void {
  store<u32>(db(), flags, DB_DEFAULTS);
}
export function debugSetTag(tag: u32): void {
  store<u32>(db(), tag, DB_TAG);
}
export function debugSetStamp(stamp: u32): void {
  store<u32>(db(), stamp, DB_STAMP);
}
export function debugClock(): u32 {
  return load<u32>(db(), DB_CLOCK);
}

// Bulk free for a debug cache, after bulk.ts checked every pointer (allocated objects of this cache, no
// duplicates): each goes through debugFree. An object found corrupted is quarantined and reported, the
// others are still freed; returns the first error (bulkBadIndex-style index in debugBulkBad) or E_OK.
export let debugBulkBad: u32 = 0;
export function debugFreeBulk(cache: usize, src: usize, n: u32): i32 {
  let first = E_OK;
  for (let k: u32 = 0; k < n; k++) {
    const e = debugFree(cache, <usize>load<u32>(src + (<usize>k << 2)));
    if (e != E_OK && first == E_OK) { first = e; debugBulkBad = k; }
  }
  return first;
}
