// inuse.ts — per-object double-free state: the in-use bit (cache flag F_INUSE) and the free key
// (F_FREEKEY). Either catches a double free of an object that sits outside its slab — in a per-CPU array,
// a barn, an alien array or a prefill handle — which the slab bitmap cannot see (such an object is
// "allocated" there). harden.ts makes the checks with them; this file owns the state and its encoding.
//
// Owns: the in-use bitmap of every F_INUSE slab; the free key word of every F_FREEKEY object (FREE_KEY,
// keyOf, keyAddr); which mechanism a new cache gets (hardenFlags). Entry points: inuseMark() (an object
// goes to a user), inuseRelease() (a user frees it: test and clear), inuseIsSet() (validate, destroy
// report), inuseClearSlab() (a new slab), hardenFlags() (cache.ts), keyPark() (slab.ts slabTake), keyOf(),
// keyAddr(), keyPresent() (harden.ts, validate.ts), inuseWordSet() / inuseWordTestClear() (bulk.ts: one
// word's update, the compare-and-swap in the threaded build).
//
// The free key (F_FREEKEY: every cache whose free objects may be written — no constructor, not debug —
// chosen by measurement, README "Double frees"): an object not in a user's hands holds its key,
// ptr ^ FREE_KEY, in its first u32 (its second in a reclaimable cache, whose first is the refcount). It is
// written as the object leaves its slab (slabTake: keyPark) and as a user frees it, and cleared (0) as it
// is handed out (harden.ts). A free that finds the key is a double free unless the user stored that very
// value; a walk over every parked object decides (cpu.ts parkedAnywhere). In-use bits (F_INUSE) serve the
// caches whose free objects must keep their bytes (a constructor's state) and those that ask for them;
// debug caches (no arrays: the slab bitmap is exact) and the heap's own caches get neither.
// Called by harden.ts (the checks), slab.ts (keyPark), cache.ts (hardenFlags), bulk.ts, debugslot.ts (a
// new slab), reclaim.ts, destroy.ts, validate.ts. Calls structs.ts (the object index), sync.ts (THREADED).
//
// Slab of an F_INUSE cache (layoutSlab in cache.ts):
//
//   ├─ free bitmap (only when > 64 objects) ─┼─ in-use bitmap ─┼pad┼ obj 0 ┼ obj 1 ┼ ... ┤
//   ↑ slab start = object & ~C_SLAB_MASK       ↑ + C_INUSE_OFF       ↑ + C_OBJ_OFFSET
//
//   bit i (word i>>6, bit i&63) is 1 while object i is in a user's hands; 0 while it is free in its slab
//   or parked in a per-CPU array, a barn or an alien array.
//
// The slab is found by masking, without reading a descriptor: a slab is 2^order pages (order ≤ 3) and
// slab page runs of order ≤ 3 are aligned to their size in absolute addresses (layout.ts), so
// slab start = ptr & ~(slab bytes - 1) = ptr & ~C_SLAB_MASK.
//
// Invariants (checked by validate): in-use bit set ⇒ slab bit 0 (allocated) and the object is in no array;
//   bits ≥ objects are 0.
//
// Threaded build: a bitmap word is shared by 64 neighbouring objects, which different CPUs hold at once,
// and no lock covers the fast paths that write it. A plain load / or / store lost updates there (3 Workers
// each freeing only their own objects: valid frees refused within a second, every run; a lost clear would
// hide a real double free). So every read-modify-write of a word — inuseMark, inuseRelease, bulk.ts's
// markRun and check pass (inuseWordSet, inuseWordTestClear), reclaim.ts through inuseRelease — is a
// compare-and-swap there (wordSetShared, wordTestClearShared: a lost race retries; of two frees of one
// object at the same moment exactly one wins). inuseClearSlab stays a plain fill: a new slab is filled
// under its node's lock before any of its objects is handed out. Reads (inuseIsSet: validate, destroy,
// hardenCheck, reclaim) stay plain loads: a reader's own object's bit is stable while it holds it.
// The CAS is out of line, so the fast paths (cache_alloc, cache_free, malloc, free) carry only a call in
// their F_INUSE branch: caches without in-use bits — every free-key cache and malloc — pay no atomic
// (test/threads-races.test.ts checks the .wat). The single-threaded build compiles to the same bytes.
// Chosen by measurement (node bench/micro.mjs section 6 with main's builds beside these, --build and
// --threaded-build; 7 runs of 5–9): the threaded in-use pair inside Wasm costs 1.9–2.1× the plain cache's
// pair (main's plain update: 1.29–1.48×), i.e. main's in-use pair is 0.59–0.70× this one (two locked
// cmpxchg, about +10 ns a pair). The plain cache's threaded pair runs the same instructions (the .wat
// differs only in the F_INUSE branches): main / this 0.86–1.06, median 0.95, where the byte-identical
// release builds measured 0.94–1.09, median 1.00 — within this machine's noise. The alternative, one
// byte per object (a plain store of the holder's own byte, no shared word), would run at about main's
// figure, but costs 7/8 byte more per object in every slab (a 32-byte cache: 123 objects in a 4 KiB slab
// instead of 127, 3%), a second slab layout for the threaded build only (layoutSlab, validate, bulk.ts),
// and loses exactness for two simultaneous frees of one object (both could read "in use"). In-use caches
// are the minority (constructors, inUseBits): their threaded pair pays for the atomics instead.
import {
  C_FLAGS, C_INUSE_OFF, C_OBJ_OFFSET, C_OBJECTS, C_RECIP, C_SLAB_MASK, F_CTOR, F_DEBUG_MASK, F_FREEKEY,
  F_INTERNAL, F_INUSE, F_KMALLOC, F_RECLAIMABLE,
} from "./layout";
import { objectIndexAt } from "./structs";
import { THREADED } from "./sync";

// ---- the free key -------------------------------------------------------------------------------------

// The key's constant: key(p) = p ^ FREE_KEY. Its low three bits are 101, so a key is never 0 or 1 (a
// cleared word, a refcount of "unused") and never an 8-aligned address.
export const FREE_KEY: u32 = 0x9e3779b5;

@inline export function keyOf(p: usize): u32 {
  return <u32>p ^ FREE_KEY;
}

// Where object p's key lives: its first u32, or its second in a reclaimable cache (F_RECLAIMABLE is bit
// 1, so (flags & F_RECLAIMABLE) << 1 is 4 there and 0 elsewhere: no branch). Objects are ≥ 8 bytes apart.
@inline export function keyAddr(flags: u32, p: usize): usize {
  return p + (<usize>(flags & F_RECLAIMABLE) << 1);
}

// Object p leaves its slab for an array or a handle (slabTake): it is parked, so it carries its key.
// `flags` is the cache's C_FLAGS, read once per batch by the caller.
@inline export function keyPark(flags: u32, p: usize): void {
  if ((flags & F_FREEKEY) != 0) store<u32>(keyAddr(flags, p), keyOf(p));
}

// Does parked object p hold its key? (validate: one without was written after it was freed.) True for
// caches without F_FREEKEY.
export function keyPresent(cache: usize, p: usize): bool {
  const flags = load<u32>(cache, C_FLAGS);
  return (flags & F_FREEKEY) == 0 || load<u32>(keyAddr(flags, p)) == keyOf(p);
}

// The mechanism a new cache gets, added to its flags (cache.ts, after the heap's debug defaults).
export function hardenFlags(flags: u32): u32 {
  if ((flags & F_DEBUG_MASK) != 0) return flags & ~(F_INUSE | F_FREEKEY);   // exact bitmap
  if ((flags & F_CTOR) != 0) flags |= F_INUSE;                             // free objects keep their bytes
  if ((flags & F_INUSE) != 0) return flags & ~F_FREEKEY;
  if ((flags & F_INTERNAL) != 0 && (flags & F_KMALLOC) == 0) return flags;  // the heap's own: no arrays
  return flags | F_FREEKEY;
}

// ---- the in-use bit -----------------------------------------------------------------------------------

// Set the bits m of the in-use word at w (bulk.ts markRun too: the one writer of a set).
@inline export function inuseWordSet(w: usize, m: u64): void {
  if (THREADED) wordSetShared(w, m);
  else store<u64>(w, load<u64>(w) | m);
}

// Test and clear bit m of the in-use word at w: true if it was set (and is clear now); false, and nothing
// changed, if it was clear. (bulk.ts's check pass too.)
@inline export function inuseWordTestClear(w: usize, m: u64): bool {
  if (THREADED) return wordTestClearShared(w, m);
  const v = load<u64>(w);
  if ((v & m) == 0) return false;
  store<u64>(w, v & ~m);
  return true;
}

// Threaded build: the read-modify-write of a word other CPUs update at once — a compare-and-swap, out of
// line. The retry (another CPU changed a neighbour's bit between the load and the swap: it made progress)
// is a call, not a loop, on purpose: binaryen never inlines a function that makes a call once it is above
// its always-inline size, while at -O3 it inlines small functions with loops. So the fast paths, which
// contain the F_INUSE branch, carry a call here and no atomic instruction of their own: a cache without
// in-use bits pays none (test/threads-races.test.ts checks both). The depth is the number of times other
// CPUs won the word meanwhile.
function wordSetShared(w: usize, m: u64): void {
  const v = atomic.load<u64>(w);
  if (atomic.cmpxchg<u64>(w, v, v | m) != v) wordSetShared(w, m);
}

function wordTestClearShared(w: usize, m: u64): bool {
  const v = atomic.load<u64>(w);
  if ((v & m) == 0) return false;
  if (atomic.cmpxchg<u64>(w, v, v & ~m) != v) return wordTestClearShared(w, m);
  return true;
}

// Address of the bitmap word holding object i's bit, in the slab starting at `slab`.
@inline function wordOf(cache: usize, slab: usize, i: u32): usize {
  return slab + load<u32>(cache, C_INUSE_OFF) + (<usize>(i >> 6) << 3);
}

// Index of object p (an object start) in its slab.
@inline function indexOf(cache: usize, p: usize): u32 {
  const off = (<u32>p & load<u32>(cache, C_SLAB_MASK)) - load<u32>(cache, C_OBJ_OFFSET);
  return objectIndexAt(off, load<u32>(cache, C_RECIP));
}

@inline function slabOf(cache: usize, p: usize): usize {
  return p & ~<usize>load<u32>(cache, C_SLAB_MASK);
}

// Mark p (an object of `cache` just handed to a user; 0 passes through) in use. Returns p.
@inline export function inuseMark(cache: usize, p: usize): usize {
  if ((load<u32>(cache, C_FLAGS) & F_INUSE) != 0 && p != 0) {
    const i = indexOf(cache, p);
    const w = wordOf(cache, slabOf(cache, p), i);
    inuseWordSet(w, <u64>1 << (i & 63));
  }
  return p;
}

// A user frees p, an allocated object of `cache` (checkObject said so): true and the bit cleared if it
// was in use; false, and nothing changed, if it was not (a double free of a parked object). Caches
// without F_INUSE: always true.
@inline export function inuseRelease(cache: usize, p: usize): bool {
  if ((load<u32>(cache, C_FLAGS) & F_INUSE) == 0) return true;
  const i = indexOf(cache, p);
  const w = wordOf(cache, slabOf(cache, p), i);
  return inuseWordTestClear(w, <u64>1 << (i & 63));
}

// Is object p (an object start) in use? (validate, destroy report.)
export function inuseIsSet(cache: usize, p: usize): bool {
  const i = indexOf(cache, p);
  return ((load<u64>(wordOf(cache, slabOf(cache, p), i)) >> (i & 63)) & 1) != 0;
}

// Clear the in-use bitmap of a new slab starting at `slab`.
export function inuseClearSlab(cache: usize, slab: usize): void {
  const words = (load<u32>(cache, C_OBJECTS) + 63) >> 6;
  memory.fill(slab + load<u32>(cache, C_INUSE_OFF), 0, <usize>words << 3);
}
