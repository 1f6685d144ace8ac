// harden.ts — the fast paths' checks, behind named hooks, gated by a build constant (as mimalloc's and
// snmalloc's are), so that the cost of each check is a build away: `npm run asbuild:unchecked`.
//
// Owns: the HARDENING level and the hooks. Entry points: hardenAlloc() / hardenHandOut() (an object is
// handed to a user: its free key cleared, or its in-use bit set), hardenFree() (a user frees ptr: is it an allocated object
// of this cache?), hardenRelease() (was it in a user's hands, not parked? the free key written, or the
// in-use bit cleared), hardenReleased() (a key found was the user's own value: the free goes on),
// hardenCheck() (the read-only form of both, for realloc and malloc_usable_size).
// Called by: cpu.ts (cacheAlloc, cacheFree, cacheAllocNode), kmalloc.ts (malloc's fast path, classify),
// bulk.ts, debug.ts (handOutAny). Calls slab.ts (checkObjectStart, freeInSlab), inuse.ts (the in-use bit,
// the free key).
//
// Build constant (asc --use HARDEN=n; asconfig.json: every target but "unchecked" leaves it unset, which
// means all checks on):
//   bit          check                                                            refused with
//   HARDEN_OBJECT  free: ptr is the start of an object of this cache, allocated   E_NOT_OURS, E_WRONG_CACHE,
//                  in its slab (slab.ts checkObjectStart: table byte, descriptor,  E_NOT_OBJECT, E_DOUBLE_FREE
//                  offset × the stride's inverse, rotated; the bitmap bit only
//                  for caches without a free key or in-use bits: hardenFree)
//   HARDEN_PARKED  free: ptr is in a user's hands, not parked in an array, barn,    E_DOUBLE_FREE
//                  alien array or prefill handle (an F_FREEKEY cache: its free key
//                  is not there, or the walk cpu.ts parkedAnywhere does not find
//                  it — the never-handed-out object included). Replaces the older
//                  "ptr is not on top of the CPU's main array" check, which it covers.
// Per-cache in-use bits (F_INUSE, inuse.ts) are not gated: they are state as well as a check (reclaim and
// validate read them), so they are kept in every build. The free key is gated with HARDEN_PARKED (an
// unchecked build neither writes, clears nor reads it beyond slabTake's write; validate there is moot).
// A new fast-path check goes here, as a bit of its own, and nowhere else: the free side's checks of ptr
// itself go in hardenFree (one place), whether it was in a user's hands in hardenRelease. cacheFree
// reports each refusal on its own branch (freeFailed): a shared report call made its code longer and a
// free called from JS measurably slower.
// An unchecked build trusts its caller: a bad pointer corrupts the heap. It is for measuring.
import { C_FLAGS, E_DOUBLE_FREE, E_OK, F_FREEKEY, F_INUSE } from "./layout";
import { checkObjectStart, freeInSlab } from "./slab";
import { inuseIsSet, inuseMark, inuseRelease, keyAddr, keyOf } from "./inuse";

export const HARDEN_OBJECT: i32 = 1;
export const HARDEN_PARKED: i32 = 2;
export const HARDEN_ALL: i32 = HARDEN_OBJECT | HARDEN_PARKED;

// hardenRelease's and hardenCheck's answer when the free key was found: the caller confirms with its
// walk (cold: cpu.ts freeConfirm / parkedAnywhere).
export const HARDEN_CONFIRM: i32 = -1;

// The level this build was made with (a constant: a check that is off compiles to nothing).
// @ts-ignore: HARDEN is defined by `asc --use HARDEN=n` when a target sets it
@inline export const HARDENING: i32 = isDefined(HARDEN) ? HARDEN : HARDEN_ALL;

// Object p (0 passes through) of `cache` goes to a user: its free key cleared (F_FREEKEY), or its in-use
// bit set (F_INUSE). Returns p.
@inline export function hardenAlloc(cache: usize, p: usize): usize {
  return p != 0 ? hardenHandOut(cache, p) : 0;
}

// hardenAlloc for an object p ≠ 0 (a pop from an array: no test of p).
@inline export function hardenHandOut(cache: usize, p: usize): usize {
  const flags = load<u32>(cache, C_FLAGS);
  if ((flags & F_FREEKEY) != 0) {
    if ((HARDENING & HARDEN_PARKED) != 0) store<u32>(keyAddr(flags, p), 0);
  } else if ((flags & F_INUSE) != 0) inuseMark(cache, p);
  return p;
}

// A user frees ptr to `cache`; b is chunkByteOf(ptr). E_OK, or the code to refuse it with (nothing
// changed; the caller reports it). The one place for the build-gated checks of ptr itself.
// Is ptr the start of an object of this cache (slab.ts checkObjectStart)? Whether it is allocated in its
// slab is asked of the bitmap only for a cache that has neither a free key nor in-use bits: a free-key
// object free in its slab holds its key (slabNew writes it), so hardenRelease finds the key and the cold
// confirm (cpu.ts freeConfirm) reads the bitmap; an in-use bit is clear for an object free in its slab.
// `flags` is the cache's C_FLAGS (read once by the caller for both hooks); pageNamesCache: the caller
// found `cache` in ptr's page descriptor (slab.ts checkObjectStart skips that test).
@inline export function hardenFree(cache: usize, flags: u32, ptr: usize, b: u8, pageNamesCache: bool): i32 {
  if ((HARDENING & HARDEN_OBJECT) != 0) {
    const e = checkObjectStart(cache, ptr, b, pageNamesCache);
    if (e != E_OK) return e;
    const mech = (HARDENING & HARDEN_PARKED) != 0 ? F_FREEKEY | F_INUSE : F_INUSE;
    if ((flags & mech) == 0 && freeInSlab(cache, ptr)) return E_DOUBLE_FREE; // free in its slab
  }
  return E_OK;
}

// The parked side of a free of ptr, an allocated object of `cache`: was it in a user's hands?
//   E_OK           yes: now marked free (its key written, or its in-use bit cleared)
//   E_DOUBLE_FREE  no: its in-use bit was clear (nothing changed)
//   HARDEN_CONFIRM its key is there: free in its slab, parked, or the user's own value. The caller
//                  confirms (cold: cpu.ts freeConfirm) and, if ptr is neither, calls hardenReleased.
@inline export function hardenRelease(cache: usize, flags: u32, ptr: usize): i32 {
  if ((flags & F_FREEKEY) != 0) {
    if ((HARDENING & HARDEN_PARKED) == 0) return E_OK;
    const at = keyAddr(flags, ptr);
    const key = keyOf(ptr);
    if (load<u32>(at) == key) return HARDEN_CONFIRM;
    store<u32>(at, key);
    return E_OK;
  }
  return inuseRelease(cache, ptr) ? E_OK : E_DOUBLE_FREE;
}

// The key hardenRelease found was the user's own value (ptr is parked nowhere): the free goes on, keyed.
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
