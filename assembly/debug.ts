// debug.ts — debug caches: red zones, poisoning, alloc/free tracks, per-operation consistency checks,
// quarantine of corrupted objects, and the report path (error detail + env.hook(HOOK_REPORT)).
//
// Owns: the debug block of the heap header (H_DEBUG, DB_*), the debug bytes of every debug slot (red
// zones, poison, tracks), the cache fields C_DEBUG_OFF, C_TRACK_OFF, C_QUAR, C_QUAR_COUNT, C_REPORTS,
// and the quarantine arrays (objects of an internal cache made on first use).
// Entry points:
//   sizing     debugFlags(), debugLead(), debugStride(), debugTrackOff()    (cache.ts, at creation)
//   slabs      debugSlabInit()                                              (slab.ts slabNew)
//   objects    debugAlloc(), debugFree()                                    (cpu.ts allocSingle/freeSingle)
//   errors     freeFailed() (every cache's failed free), debugReport()
//   walks      debugCheckFree() (validate.ts), quarantineEntry(), debugDestroy() and liveAt() (cache.ts)
// Calls node.ts (the batch seam), slab.ts, cpu.ts (refillBatch, internal allocations), cache.ts.
//
// Debug caches (any F_DEBUG_MASK flag) have no per-CPU arrays (cacheCreate sets the capacity to 0), as
// the kernel's: every alloc and free reaches allocSingle/freeSingle, which dispatch here, so the slab
// bitmap is exact for them and their checks see every operation. Call tree:
//   cacheAlloc ─ allocSlow ─ allocSingle ─ debugAlloc ─ refillBatch (one object)
//                                                     ├ checks: slab consistent (F_CHECKS), red zones
//                                                     │  inactive, poison intact  ── bad: quarantine,
//                                                     │  report, return 0 (the alloc fails; the heap works)
//                                                     └ red zones active, alloc track
//   cacheFree ─ checkObject ─── bad: freeFailed (report) ─ freeSlow/freeRemote ─ freeSingle ─ debugFree
//                                                     ├ quarantined object: report a double free
//                                                     ├ checks: slab consistent, red zones active ── bad:
//                                                     │  free track, quarantine, report, nothing freed
//                                                     └ free track, poison, red zones inactive, to slabs
//
// Slot layout: drawn in layout.ts (left red zone | object | right red zone | alloc track | free track).
// C_OBJ_OFFSET already includes object 0's left red zone, so every "object i is at C_OBJ_OFFSET +
// i × stride" computation (slabTake, resolveObject, freeToSlabs, the constructor loop) is unchanged.
//
// Quarantine: an object whose bytes or slab were found corrupted stays allocated in its slab (bit 0) and
// is never handed out again. C_QUAR_COUNT counts them (liveObjects subtracts it); the first QUAR_CAP are
// remembered in the cache's quarantine array (allocator memory, out of users' reach), so that a later
// free of one is reported as a double free. Destroying a cache discards quarantined objects with their
// slabs (after the live count said 0, every object still allocated in a slab is quarantined).
//
// Reports: every detected error sets H_LAST_ERROR, H_ERR_ADDR (object), H_ERR_CACHE and the debug
// block's offset/found/expected bytes, then calls env.hook(HOOK_REPORT, code, object, cache) with no lock
// held and the heap consistent (the callback may re-enter), then writes the detail again (a re-entrant
// call may have overwritten it).
import {
  C_DEBUG_OFF, C_FLAGS, C_OBJECTS, C_QUAR, C_QUAR_COUNT, C_REPORTS, C_SIZE, C_TRACK_OFF, CC_MAIN, CC_SCRATCH,
  CC_SPARE, CC_ALIEN, CC_SIZE, CN_BARN_FULL, CN_FULL, CN_PARTIAL, CN_TOTAL_OBJECTS, D_BITS, D_CACHE, D_INUSE,
  D_KIND, D_LIST, D_NEXT, D_OBJECTS, DB_CLOCK, DB_DEFAULTS, DB_ERR_EXPECTED, DB_ERR_FOUND, DB_ERR_OFFSET,
  DB_QUAR_CACHE, DB_REPORTS, DB_STAMP, DB_TAG, E_CORRUPT, E_DOUBLE_FREE, E_NOMEM, E_OK, E_POISON, E_REDZONE,
  F_CHECKS, F_CTOR, F_DEBUG_MASK, F_INUSE, F_POISON, F_RECLAIMABLE, F_RED_ZONE, F_STORE_USER, H_DEBUG,
  H_ERR_ADDR, H_ERR_CACHE, H_NCPUS, H_NNODES, HOOK_REPORT, K_SLAB, L_EMPTY, L_FULL, L_NONE, L_PARTIAL,
  MAX_NODES, MAX_SLAB_ORDER, PAGE_SIZE, POISON_END, POISON_FREE, Q_CAP, Q_COUNT, Q_HDR, QUAR_BYTES, QUAR_CAP,
  RZ_ACTIVE, RZ_INACTIVE, RZ_WIDTH, SH_COUNT, SH_HDR, SH_NEXT, T_CLOCK, T_CPU, T_NODE, T_SET, T_STAMP, T_TAG,
  TRACK_SIZE, C_BITMAP_WORDS, CN_LOCK, F_EXACT, H_LAST_ERROR, D_NODE,
} from "./layout";
import { HEAP, alignUp, pageAddr, pageOf } from "./arena";
import { cnAddr, freeToSlabs, lockNode, moveSlab } from "./node";
import { headOf, hook, objectAt, slabBitmap, slabDiscard, slabIsFree } from "./slab";
import { cacheAllocSlab, cacheFreeSlab, currentNode, refillBatch } from "./cpu";
import { cacheCreateInternal, isCache, setError } from "./cache";
import { inuseClearSlab, inuseIsSet, inuseMark } from "./inuse";
import { CPU_OFF, FREE_SLAB, cpuSlot, stat } from "./stats";
import { currentCpu, unlock } from "./sync";

// Detail of the last check that failed (module scratch, copied into the heap header by debugReport).
let chkOffset: i32 = 0;
let chkFound: u8 = 0;
let chkExpected: u8 = 0;

@inline function db(): usize {
  return HEAP + H_DEBUG;
}

// ---- sizing (cache creation) ----------------------------------------------------------------------------

// Bytes from the object's start to the end of its right red zone (where its tracks start).
@inline function inner(size: u32, flags: u32): u32 {
  const s = <u32>alignUp(size, 8);
  return (flags & F_RED_ZONE) != 0 ? s + RZ_WIDTH : s;
}

// Width of the left red zone: the object's offset inside its slot (C_DEBUG_OFF).
export function debugLead(align: u32, flags: u32): u32 {
  return (flags & F_RED_ZONE) != 0 ? <u32>alignUp(RZ_WIDTH, align) : 0;
}

// Offset of the alloc track from the object (C_TRACK_OFF), 0 without F_STORE_USER.
export function debugTrackOff(size: u32, flags: u32): u32 {
  return (flags & F_STORE_USER) != 0 ? inner(size, flags) : 0;
}

// The slot size of a debug cache (its stride).
export function debugStride(size: u32, align: u32, flags: u32): u32 {
  let slot = debugLead(align, flags) + inner(size, flags) + ((flags & F_STORE_USER) != 0 ? 2 * TRACK_SIZE : 0);
  if (slot < 8) slot = 8;
  return <u32>alignUp(slot, align);
}

// The flags a cache really gets: heap defaults added (user caches, unless F_EXACT), poison dropped where free objects
// must keep their bytes (a constructor's state, a reclaimable cache's refcount), the in-use bit dropped
// in debug caches (no arrays there: the slab bitmap is exact), red zones and tracks dropped when the slot
// would not fit in the largest slab (objects near MAX_OBJECT_SIZE).
export function debugFlags(size: u32, align: u32, flags: u32): u32 {
  if ((flags & F_EXACT) != 0) flags &= ~F_EXACT;
  else flags |= load<u32>(db(), DB_DEFAULTS);
  if ((flags & (F_CTOR | F_RECLAIMABLE)) != 0) flags &= ~F_POISON;
  if ((flags & F_DEBUG_MASK) != 0) flags &= ~F_INUSE;
  if (align == 0) align = 8;
  if ((flags & F_DEBUG_MASK) != 0 && debugStride(size, align, flags) > (PAGE_SIZE << MAX_SLAB_ORDER)) {
    flags &= ~(F_RED_ZONE | F_STORE_USER);
  }
  return flags;
}

// ---- slab set-up ----------------------------------------------------------------------------------------

// A new slab of a debug or F_INUSE cache (slabNew, before constructors run): every object gets a free
// object's bytes (inactive red zones, poison, empty tracks); the in-use bitmap is cleared.
export function debugSlabInit(cache: usize, d: usize): void {
  const flags = load<u32>(cache, C_FLAGS);
  if ((flags & F_INUSE) != 0) inuseClearSlab(cache, pageAddr(d));
  if ((flags & F_DEBUG_MASK) == 0) return;
  const objects = load<u32>(cache, C_OBJECTS);
  for (let i: u32 = 0; i < objects; i++) {
    const p = objectAt(cache, d, i);
    paintRedZones(cache, p, flags, RZ_INACTIVE);
    if ((flags & F_POISON) != 0) poison(cache, p);
    const t = load<u32>(cache, C_TRACK_OFF);
    if (t != 0) memory.fill(p + t, 0, 2 * TRACK_SIZE);
  }
}

@inline function paintRedZones(cache: usize, p: usize, flags: u32, v: u8): void {
  if ((flags & F_RED_ZONE) == 0) return;
  const lead = load<u32>(cache, C_DEBUG_OFF);
  const size = load<u32>(cache, C_SIZE);
  memory.fill(p - lead, v, lead);
  memory.fill(p + size, v, inner(size, flags) - size);
}

@inline function poison(cache: usize, p: usize): void {
  const size = load<u32>(cache, C_SIZE);
  memory.fill(p, POISON_FREE, size - 1);
  store<u8>(p + size - 1, POISON_END);
}

// ---- checks ---------------------------------------------------------------------------------------------

// Index of the first byte of [a, a+len) that is not v, or -1. Eight bytes at a time.
function firstMismatch(a: usize, len: u32, v: u8): i32 {
  const pat: u64 = <u64>v * 0x0101010101010101;
  let i: u32 = 0;
  while (i + 8 <= len && load<u64>(a + i) == pat) i += 8;
  while (i < len) {
    if (load<u8>(a + i) != v) return <i32>i;
    i++;
  }
  return -1;
}

// Check object p's red zones against `rz` (RZ_INACTIVE free, RZ_ACTIVE allocated) and, if `withPoison`,
// its poison. E_OK, or E_REDZONE / E_POISON with chkOffset/chkFound/chkExpected set. Writes nothing.
function checkBytes(cache: usize, p: usize, flags: u32, rz: u8, withPoison: bool): i32 {
  const size = load<u32>(cache, C_SIZE);
  if ((flags & F_RED_ZONE) != 0) {
    const lead = load<u32>(cache, C_DEBUG_OFF);
    let k = firstMismatch(p - lead, lead, rz);
    if (k >= 0) return fail(E_REDZONE, k - <i32>lead, load<u8>(p - lead + k), rz);
    k = firstMismatch(p + size, inner(size, flags) - size, rz);
    if (k >= 0) return fail(E_REDZONE, <i32>size + k, load<u8>(p + size + k), rz);
  }
  if (withPoison && (flags & F_POISON) != 0) {
    const k = firstMismatch(p, size - 1, POISON_FREE);
    if (k >= 0) return fail(E_POISON, k, load<u8>(p + k), POISON_FREE);
    const last = load<u8>(p + size - 1);
    if (last != POISON_END) return fail(E_POISON, <i32>size - 1, last, POISON_END);
  }
  return E_OK;
}

@inline function fail(code: i32, off: i32, found: u8, expected: u8): i32 {
  chkOffset = off;
  chkFound = found;
  chkExpected = expected;
  return code;
}

// A free object of a debug cache, for validate: E_OK, E_REDZONE or E_POISON. Writes nothing.
export function debugCheckFree(cache: usize, p: usize): i32 {
  const flags = load<u32>(cache, C_FLAGS);
  if ((flags & (F_RED_ZONE | F_POISON)) == 0) return E_OK;
  return checkBytes(cache, p, flags, RZ_INACTIVE, true);
}

// F_CHECKS: is slab d (holding an object of `cache`) consistent? Its head, owner, bitmap against its
// in-use count, and the list it is on against that count. Reads only.
export function slabConsistent(cache: usize, d: usize): bool {
  if (d == 0 || load<u8>(d, D_KIND) != K_SLAB || <usize>load<u32>(d, D_CACHE) != cache) return false;
  const objects = load<u32>(cache, C_OBJECTS);
  if (<u32>load<u16>(d, D_OBJECTS) != objects) return false;
  const bm = slabBitmap(d);
  const words = load<u32>(cache, C_BITMAP_WORDS);
  if (objects <= 64 && bm != d + D_BITS) return false;
  let free: u32 = 0;
  for (let w: u32 = 0; w < words; w++) {
    const bits = load<u64>(bm + (<usize>w << 3));
    free += <u32>popcnt(bits);
    const left = objects - (w << 6);
    if (left < 64 && (bits >> left) != 0) return false;
  }
  const inuse = <u32>load<u16>(d, D_INUSE);
  if (inuse + free != objects) return false;
  const want: u8 = inuse == objects ? L_FULL : inuse == 0 ? L_EMPTY : L_PARTIAL;
  return load<u8>(d, D_LIST) == want;
}

// ---- reports ----------------------------------------------------------------------------------------------

function writeDetail(code: i32, cache: usize, p: usize, off: i32, found: u8, expected: u8): void {
  setError(code);
  store<u32>(HEAP, <u32>p, H_ERR_ADDR);
  store<u32>(HEAP, <u32>cache, H_ERR_CACHE);
  const b = db();
  store<i32>(b, off, DB_ERR_OFFSET);
  store<u8>(b, found, DB_ERR_FOUND);
  store<u8>(b, expected, DB_ERR_EXPECTED);
}

// Report an error about object (or pointer) p of `cache`, with the detail of the last failed check for
// E_REDZONE / E_POISON (0 otherwise). Returns `code`. No lock may be held: the host is called.
export function debugReport(code: i32, cache: usize, p: usize): i32 {
  let off: i32 = 0, found: u8 = 0, expected: u8 = 0;
  if (code == E_REDZONE || code == E_POISON) { off = chkOffset; found = chkFound; expected = chkExpected; }
  writeDetail(code, cache, p, off, found, expected);
  const b = db();
  store<u32>(b, load<u32>(b, DB_REPORTS) + 1, DB_REPORTS);
  if (safeIsCache(cache)) store<u32>(cache, load<u32>(cache, C_REPORTS) + 1, C_REPORTS);
  hook(HOOK_REPORT, code, <u32>p, <u32>cache);
  writeDetail(code, cache, p, off, found, expected);
  return code;
}

// isCache for a handle that may be garbage (a C caller's): never reads past the end of memory.
function safeIsCache(c: usize): bool {
  return c < (<usize>memory.size() << 16) - C_REPORTS - 4 && isCache(c);
}

// cacheFree's error path (any cache): checkObject refused ptr, or the in-use bit says it is not in a
// user's hands. Nothing has changed; report and return the code.
export function freeFailed(cache: usize, ptr: usize, code: i32): i32 {
  return debugReport(code, cache, ptr);
}

// ---- tracks and clock -----------------------------------------------------------------------------------

@inline function tick(): void {
  const b = db();
  store<u32>(b, load<u32>(b, DB_CLOCK) + 1, DB_CLOCK);
}

function writeTrack(t: usize): void {
  const b = db();
  store<u32>(t, load<u32>(b, DB_TAG), T_TAG);
  store<u16>(t, <u16>currentCpu, T_CPU);
  store<u8>(t, <u8>currentNode, T_NODE);
  store<u8>(t, 1, T_SET);
  store<u32>(t, load<u32>(b, DB_CLOCK), T_CLOCK);
  store<u32>(t, load<u32>(b, DB_STAMP), T_STAMP);
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
  const q = cacheAllocSlab(qc, 0xffffffff);
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

function isQuarantined(cache: usize, p: usize): bool {
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
  const scratch = cpuSlot(cache) + CC_SCRATCH;
  if (refillBatch(cache, node == 0xffffffff ? currentNode : node, scratch, 1) == 0) {
    setError(E_NOMEM);
    return 0;
  }
  const p = <usize>load<u32>(scratch);
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
  const cache = <usize>load<u32>(pageOf(p), D_CACHE);
  const flags = load<u32>(cache, C_FLAGS);
  if ((flags & F_DEBUG_MASK) != 0) return debugHandOut(cache, p) == E_OK;
  inuseMark(cache, p);
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
  if (load<u16>(d, D_INUSE) == 1) sweepBeforeEmpty(cache, d, flags);
  const scratch = cpuSlot(cache) + CC_SCRATCH;
  store<u32>(scratch, <u32>p);
  freeToSlabs(cache, scratch, 1);
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
    takeFree(cache, d, i);
    quarantine(cache, q);
    debugReport(code, cache, q);
  }
}

// Take free object i out of slab d (as if allocated), fixing the slab's count and list.
function takeFree(cache: usize, d: usize, i: u32): void {
  const cn = cnAddr(cache, <u32>load<u8>(d, D_NODE));
  lockNode(cache, cn);
  const wa = slabBitmap(d) + (<usize>(i >> 6) << 3);
  store<u64>(wa, load<u64>(wa) & ~(<u64>1 << (i & 63)));
  const inuse = <u32>load<u16>(d, D_INUSE) + 1;
  store<u16>(d, <u16>inuse, D_INUSE);
  const objects = load<u32>(cache, C_OBJECTS);
  moveSlab(cn, d, inuse == objects ? L_FULL : L_PARTIAL);
  unlock(cn + CN_LOCK);
}

// ---- whole-cache walks -------------------------------------------------------------------------------------

// cacheDestroy, after the live count said 0 and the arrays were drained: forget the quarantine array and
// give back every slab still holding (quarantined) objects.
export function debugDestroy(c: usize): void {
  const q = <usize>load<u32>(c, C_QUAR);
  if (q != 0) {
    cacheFreeSlab(<usize>load<u32>(db(), DB_QUAR_CACHE), q);
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
        store<u32>(cn, load<u32>(cn, CN_TOTAL_OBJECTS) - objects, CN_TOTAL_OBJECTS);
        stat(c, FREE_SLAB);
        slabDiscard(c, d);
        d = <usize>load<u32>(head);
      }
    }
    unlock(cn + CN_LOCK);
  }
  store<u32>(c, 0, C_QUAR_COUNT);
}

// Is p (allocated in its slab) sitting in one of the cache's arrays or barns?
function isParked(c: usize, p: usize): bool {
  const ncpus = load<u32>(HEAP, H_NCPUS);
  for (let cpu: u32 = 0; cpu < ncpus; cpu++) {
    const slot = c + CPU_OFF + <usize>cpu * CC_SIZE;
    if (inSheaf(<usize>load<u32>(slot, CC_MAIN), p) || inSheaf(<usize>load<u32>(slot, CC_SPARE), p)) return true;
    for (let n: u32 = 0; n < MAX_NODES; n++) {
      const a = <usize>load<u32>(slot + CC_ALIEN + (n << 2));
      if (a != 0 && inSheaf(a, p)) return true;
    }
  }
  const nn = load<u32>(HEAP, H_NNODES);
  for (let n: u32 = 0; n < nn; n++) {
    let s = <usize>load<u32>(cnAddr(c, n), CN_BARN_FULL);
    while (s != 0) {
      if (inSheaf(s, p)) return true;
      s = <usize>load<u32>(s, SH_NEXT);
    }
  }
  return false;
}

function inSheaf(s: usize, p: usize): bool {
  const n = load<u32>(s, SH_COUNT);
  for (let k: u32 = 0; k < n; k++) if (<usize>load<u32>(s + SH_HDR + (<usize>k << 2)) == p) return true;
  return false;
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
        d = <usize>load<u32>(d, D_NEXT);
      }
    }
  }
  return 0;
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
