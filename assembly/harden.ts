// harden.ts — the fast paths' checks, behind named hooks, gated by a build constant (as mimalloc's and
// snmalloc's are), so that the cost of each check is a build away: `npm run asbuild:unchecked`.
//
// Owns: the HARDENING level and the hooks. Entry points: hardenAlloc() (an object is handed to a user),
// hardenFree() (a user frees ptr: is it an allocated object of this cache?), hardenRelease() (F_INUSE:
// was it in a user's hands?),
// hardenFreeTop() (the push: ptr is not the object on top of the CPU's main array).
// Called by: cpu.ts (cacheAlloc, cacheFree, cacheAllocNode). Calls slab.ts (checkObject), inuse.ts,
// sheaf.ts (sheafEntry).
//
// Build constant (asc --use HARDEN=n; asconfig.json: every target but "unchecked" leaves it unset, which
// means all checks on):
//   bit          check                                                            refused with
//   HARDEN_OBJECT  free: ptr is the start of an object of this cache, allocated   E_NOT_OURS, E_WRONG_CACHE,
//                  in its slab (slab.ts checkObject: table byte, descriptor,       E_NOT_OBJECT, E_DOUBLE_FREE
//                  offset × reciprocal, bitmap bit)
//   HARDEN_TOP     free: ptr is not the last object freed on this CPU (on top of    E_DOUBLE_FREE
//                  the main array: SLUB's "object == freelist head")
// Per-cache hardening chosen at run time is not gated: an F_INUSE cache's in-use bits (inuse.ts) are
// state as well as a check (reclaim and validate read them), so they are kept in every build.
// A new fast-path check goes here, as a bit of its own, and nowhere else: the free side's checks of ptr
// itself go in hardenFree (one place), the checks of the array it goes onto in hardenFreeTop. cacheFree
// reports each refusal on its own branch (freeFailed): a shared report call made its code longer and a
// free called from JS measurably slower.
// An unchecked build trusts its caller: a bad pointer corrupts the heap. It is for measuring.
import { E_DOUBLE_FREE, E_OK } from "./layout";
import { checkObject } from "./slab";
import { inuseMark, inuseRelease } from "./inuse";
import { sheafEntry } from "./sheaf";

export const HARDEN_OBJECT: i32 = 1;
export const HARDEN_TOP: i32 = 2;
export const HARDEN_ALL: i32 = HARDEN_OBJECT | HARDEN_TOP;

// The level this build was made with (a constant: a check that is off compiles to nothing).
// @ts-ignore: HARDEN is defined by `asc --use HARDEN=n` when a target sets it
@inline export const HARDENING: i32 = isDefined(HARDEN) ? HARDEN : HARDEN_ALL;

// Object p (0 passes through) of `cache` goes to a user. Returns p.
@inline export function hardenAlloc(cache: usize, p: usize): usize {
  return inuseMark(cache, p);                                  // F_INUSE: mark it in the user's hands
}

// A user frees ptr to `cache`; b is chunkByteOf(ptr). E_OK, or the code to refuse it with (nothing
// changed; the caller reports it). The one place for the build-gated checks of ptr itself.
@inline export function hardenFree(cache: usize, ptr: usize, b: u8): i32 {
  if ((HARDENING & HARDEN_OBJECT) != 0) return checkObject(cache, ptr, b);
  return E_OK;
}

// The in-use side of a free (F_INUSE caches; the others: always true): true and the bit cleared when ptr
// was in a user's hands, false (a double free of a parked object) with nothing changed. In every build.
@inline export function hardenRelease(cache: usize, ptr: usize): bool {
  return inuseRelease(cache, ptr);
}

// ptr is about to be pushed on main (n entries). True: refuse it, it is the entry on top (a double
// free). With n = 0 the entry read is the SH_NODE word (a node number, never an object address).
@inline export function hardenFreeTop(main: usize, n: u32, ptr: usize): bool {
  if ((HARDENING & HARDEN_TOP) == 0) return false;
  return <usize>load<u32>(sheafEntry(main, n - 1)) == ptr;
}
