// harden.ts — the fast paths' checks, behind named hooks, gated by a build constant (as mimalloc's and
// snmalloc's are), so that the cost of each check is a build away: `npm run asbuild:unchecked`.
//
// Owns: the HARDENING level and the hooks. Entry points: hardenAlloc() / hardenHandOut() /
// hardenHandOutKm() (an object is handed to a user: its free key cleared, or its in-use bit set; the last
// for kmalloc's classes, whose flags are known: KM_HARDEN_FLAGS), hardenFree() (a user frees ptr, in a page
// of this cache: is it an object start?) and hardenFreeError() (cold: the code of a refusal),
// hardenKeyFound() / hardenReleaseBits() (was it in a user's hands, not parked, not free in its slab? the
// free key written, or the in-use bit cleared; one hook per mechanism), hardenKeyed() (is the free key on for these flags?), hardenReleased() (a key
// found was the user's own value: the free goes on), hardenCheck() (the read-only form of the last two,
// for realloc and malloc_usable_size).
// Called by: cpu.ts (cacheAlloc, cacheFree, cacheAllocNode), kmalloc.ts (malloc's fast path, classify),
// bulk.ts, debug.ts (handOutAny). Calls slab.ts (checkObjectStart, isObjectStart, freeInSlab), inuse.ts
// (the in-use bit, the free key).
//
// Build constant (asc --use HARDEN=n; asconfig.json: every target but "unchecked" leaves it unset, which
// means all checks on):
//   bit          check                                                            refused with
//   HARDEN_OBJECT  free: ptr is the start of an object of this cache, allocated   E_NOT_OURS, E_WRONG_CACHE,
//                  in its slab (table byte and descriptor: cpu.ts cacheFree, or    E_NOT_OBJECT, E_DOUBLE_FREE
//                  kmalloc.ts kfree's dispatch; the start: hardenFree, offset ×
//                  the stride's inverse, rotated; the bitmap bit only for caches
//                  without a free key or in-use bits: hardenReleaseBits)
//   HARDEN_PARKED  free: ptr is in a user's hands, not parked in an array, barn,    E_DOUBLE_FREE
//                  alien array or prefill handle (an F_FREEKEY cache: its free key
//                  is not there, or the walk cpu.ts parkedAnywhere does not find
//                  it — the never-handed-out object included). Replaces the older
//                  "ptr is not on top of the CPU's main array" check, which it covers.
// Per-cache in-use bits (F_INUSE, inuse.ts) are not gated: they are state as well as a check (reclaim and
// validate read them), so they are kept in every build. The free key is gated with HARDEN_PARKED (an
// unchecked build neither writes, clears nor reads it beyond slabTake's write; validate there is moot).
// A new fast-path check goes here, as a bit of its own, and nowhere else: the free side's checks of ptr
// itself go in hardenFree (one place), whether it was in a user's hands in hardenKeyFound / hardenReleaseBits; the one exception
// is the page test (chunk byte, descriptor names the cache), made by cacheFree's own branches under
// HARDEN_OBJECT as kfree makes it to find the cache. The hooks answer bools and the caller branches
// straight to its cold refusal (freeFailed, each on its own branch; the code found again cold by
// hardenFreeError): carrying a code or a bool from one test to the next cost a phi and a test each, 20 x86
// instructions of the malloc pair and 19 of the cache pair (bench/PROFILE.md, "fastpair"); a shared
// report call made the code longer and a free called from JS measurably slower.
// An unchecked build trusts its caller: a bad pointer corrupts the heap. It is for measuring.
import { C_FLAGS, E_DOUBLE_FREE, E_OK, F_FREEKEY, F_INUSE } from "./layout";
import { checkObjectStart, freeInSlab, isObjectStart } from "./slab";
import { inuseIsSet, inuseMark, inuseRelease, keyAddr, keyOf } from "./inuse";

export const HARDEN_OBJECT: i32 = 1;
export const HARDEN_PARKED: i32 = 2;
export const HARDEN_ALL: i32 = HARDEN_OBJECT | HARDEN_PARKED;

// hardenCheck's answer when the free key was found: the caller confirms with its walk (cold: cpu.ts
// parkedAnywhere).
export const HARDEN_CONFIRM: i32 = -1;

// The level this build was made with (a constant: a check that is off compiles to nothing).
// @ts-ignore: HARDEN is defined by `asc --use HARDEN=n` when a target sets it
@inline export const HARDENING: i32 = isDefined(HARDEN) ? HARDEN : HARDEN_ALL;

// Object p (0 passes through) of `cache` goes to a user: its free key cleared (F_FREEKEY), or its in-use
// bit set (F_INUSE). Returns p.
@inline export function hardenAlloc(cache: usize, p: usize): usize {
  return p != 0 ? hardenHandOut(cache, p) : 0;
}

// hardenAlloc for an object p ≠ 0 (a pop from an array: no test of p). hardenHandOutKm: kmalloc's form.
@inline export function hardenHandOut(cache: usize, p: usize): usize {
  const flags = load<u32>(cache, C_FLAGS);
  if ((flags & F_FREEKEY) != 0) {
    if ((HARDENING & HARDEN_PARKED) != 0) store<u32>(keyAddr(flags, p), 0);
  } else if ((flags & F_INUSE) != 0) inuseMark(cache, p);
  return p;
}

// hardenHandOut for an object p of a kmalloc class (F_KMALLOC): never reclaimable (kmalloc.ts
// classCacheLocked asserts it), so a key is p's first u32 (no keyAddr arithmetic). A class has the key,
// or in-use bits (the heap's inUseBits default), or neither (debug).
@inline export function hardenHandOutKm(cache: usize, p: usize): usize {
  const flags = load<u32>(cache, C_FLAGS);
  if ((flags & F_FREEKEY) != 0) {
    if ((HARDENING & HARDEN_PARKED) != 0) store<u32>(p, 0);
  } else if ((flags & F_INUSE) != 0) handOutBits(cache, p);
  return p;
}

// Cold: hardenHandOutKm's in-use bit, out of line (a class with in-use bits is the heap's inUseBits
// option, not the default; inlined, its ~25 instructions sat in every malloc site of a merged C program).
function handOutBits(cache: usize, p: usize): void {
  inuseMark(cache, p);
}

// The C_FLAGS a kmalloc class with the free key has as far as the hooks are concerned (F_FREEKEY, never
// F_RECLAIMABLE): kfree passes them to the hooks for such a class, which then fold to the key's tests at
// the object's first u32.
export const KM_HARDEN_FLAGS: u32 = F_FREEKEY;

// A user frees ptr to `cache`, and ptr's page descriptor names `cache` (the caller tested it: kmalloc.ts
// kfree to find the cache, cpu.ts cacheFree under HARDEN_OBJECT). True when ptr is the start of one of its
// objects (slab.ts isObjectStart); false: refused, nothing changed, and the caller asks hardenFreeError
// for the code (cold). Whether it is allocated is the question of hardenKeyFound and hardenReleaseBits.
// (A bool, and the page test at the caller: a code from each test made every free carry it through phis
// and tests: 20 x86 instructions of the malloc pair, 19 of the cache pair; bench/PROFILE.md, "fastpair".)
@inline export function hardenFree(cache: usize, ptr: usize): bool {
  return (HARDENING & HARDEN_OBJECT) == 0 || isObjectStart(cache, ptr);
}

// Cold: the code a free of ptr (b = chunkByteOf(ptr)) to `cache` is refused with by the page test or by
// hardenFree: E_NOT_OURS, E_WRONG_CACHE (the page names another cache) or E_NOT_OBJECT.
export function hardenFreeError(cache: usize, ptr: usize, b: u8): i32 {
  return checkObjectStart(cache, ptr, b);
}

// The allocated side of a free of ptr, an object start of `cache` (hardenFree): was it in a user's hands?
// Two hooks, one per mechanism, so that the caller branches on the answer itself (one hook answering for
// both merged their bools in a phi: 5 x86 instructions of every pair; bench/PROFILE.md, "pairfloor"):
//   hardenKeyed(flags)      the free key: hardenKeyFound writes ptr's key and answers whether it was
//                           there already — free in its slab, parked, or the user's own value; the caller
//                           confirms (cold: cpu.ts freeConfirm) and, if ptr is neither, the free goes on.
//                           Writing it when it was there changes nothing (the same value).
//   otherwise               hardenReleaseBits: true — it was in a user's hands and is now marked free (its
//                           in-use bit cleared); false — refused, nothing changed: its in-use bit was clear,
//                           or (a cache with neither a key nor in-use bits, HARDEN_OBJECT) it is free in
//                           its slab's bitmap — a double free.
// Whether it is free in its slab is asked of the bitmap only for a cache with neither: a free-key object
// free in its slab holds its key (slabNew writes it), and the cold confirm reads the bitmap; an in-use
// bit is clear for an object free in its slab.
@inline export function hardenKeyFound(flags: u32, ptr: usize): bool {
  const at = keyAddr(flags, ptr);
  const key = keyOf(ptr);
  const was = load<u32>(at);
  store<u32>(at, key);
  return was == key;
}

@inline export function hardenReleaseBits(cache: usize, flags: u32, ptr: usize): bool {
  if ((flags & F_INUSE) != 0) return inuseRelease(cache, ptr);
  return (HARDENING & HARDEN_OBJECT) == 0 || !freeInSlab(cache, ptr);   // the bitmap: free in its slab
}

// The free key is on for a cache with these C_FLAGS (F_FREEKEY, in a build with HARDEN_PARKED).
@inline export function hardenKeyed(flags: u32): bool {
  return (HARDENING & HARDEN_PARKED) != 0 && (flags & F_FREEKEY) != 0;
}

// The key hardenKeyFound found was the user's own value (ptr is parked nowhere): the free goes on, keyed.
// (Also bulk.ts's free pass, after its check pass accepted every object.)
export function hardenReleased(cache: usize, ptr: usize): void {
  const flags = load<u32>(cache, C_FLAGS);
  if ((flags & F_FREEKEY) != 0) store<u32>(keyAddr(flags, ptr), keyOf(ptr));
}

// Read-only form for calls that only look (realloc before it moves or resizes, malloc_usable_size, a bulk
// free's check pass): E_OK when ptr may be in a user's hands, HARDEN_CONFIRM when its key is there (the
// caller confirms), E_DOUBLE_FREE when its in-use bit is clear.
@inline export function hardenCheck(cache: usize, ptr: usize): i32 {
  const flags = load<u32>(cache, C_FLAGS);
  if ((flags & F_FREEKEY) != 0) {
    if ((HARDENING & HARDEN_PARKED) == 0) return E_OK;
    return load<u32>(keyAddr(flags, ptr)) == keyOf(ptr) ? HARDEN_CONFIRM : E_OK;
  }
  if ((flags & F_INUSE) != 0 && !inuseIsSet(cache, ptr)) return E_DOUBLE_FREE;
  return E_OK;
}
