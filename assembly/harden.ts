// harden.ts — the double-free hardening of objects that sit outside their slabs: the one named place for
// every check an object meets as it goes to a user and comes back (hardenAlloc, hardenFree, hardenCheck,
// hardenPark). Why: an object parked in a per-CPU array, a barn, an alien array or a prefill handle is
// "allocated" in its slab's bitmap, so the bitmap alone cannot tell a second free of it from a first one.
//
// Owns: the free key of objects of F_FREEKEY caches (their first u32 while not in a user's hands), the
// choice of mechanism per cache (hardenFlags, at creation), and FREE_KEY. Entry points: hardenFlags()
// (cache.ts), hardenPark() (slab.ts slabTake: an object leaves its slab), hardenAlloc() (every hand-out:
// cpu.ts, kmalloc.ts, bulk.ts, debug.ts handOutAny), hardenFree() (cpu.ts cacheFree, bulk.ts), hardenCheck()
// (kmalloc.ts classify: realloc, usable size; read-only), keyPresent() (validate.ts).
// Calls inuse.ts. The confirm walk over every place an object can be parked is cpu.ts parkedAnywhere().
//
// Mechanisms, by cache (chosen by measurement: bench/harden.mjs, README "Double frees"):
//   F_FREEKEY   every cache whose free objects may be written (no constructor, not debug): an object not
//               in a user's hands holds its key, ptr ^ FREE_KEY, in its first u32 (the second for a
//               reclaimable cache, whose first is the refcount: keyAddr). It is
//               written as the object leaves its slab (slabTake) and as a user frees it, and cleared (0)
//               as it is handed out. A free that finds the key is a double free unless the user stored
//               that very value: the cold walk (cpu.ts parkedAnywhere) decides, and a valid free goes on.
//               Cost on the fast paths: one store on alloc; one load, compare and store on free (the
//               object's own line, which the user just touched).
//   F_INUSE     caches whose free objects keep their bytes (a constructor's state) and caches that ask
//               for it (inUseBits): one bit per object in the slab's in-use bitmap (inuse.ts), set on
//               hand-out, tested and cleared on free. Never writes the object.
//   neither     debug caches (no per-CPU arrays: the slab bitmap is exact, and a key would break the
//               poison) and the heap's own caches (no arrays): the slab bitmap decides.
//
// Invariants (validate.ts checks the first two): an object of an F_FREEKEY cache that is parked (array,
//   barn, alien array, prefill handle) holds its key; no object is parked twice; an object in a user's
//   hands holds its key only if the user wrote it there.
import { C_FLAGS, E_DOUBLE_FREE, E_OK, F_CTOR, F_DEBUG_MASK, F_FREEKEY, F_INTERNAL, F_INUSE, F_KMALLOC, F_RECLAIMABLE } from "./layout";
import { inuseIsSet, inuseMark, inuseRelease } from "./inuse";

// The key's constant: key(p) = p ^ FREE_KEY. Its low three bits are 101, so a key is never 0 or 1 (a
// cleared word, a refcount of "unused") and never an 8-aligned address.
export const FREE_KEY: u32 = 0x9e3779b5;

// hardenFree's answer when the key was found: the caller confirms with its walk (cold).
export const HARDEN_CONFIRM: i32 = -1;

@inline export function keyOf(p: usize): u32 {
  return <u32>p ^ FREE_KEY;
}

// Where object p's key lives: its first u32, or its second in a reclaimable cache (F_RECLAIMABLE is bit
// 1, so (flags & F_RECLAIMABLE) << 1 is 4 there and 0 elsewhere: no branch). Objects are ≥ 8 bytes apart.
@inline export function keyAddr(flags: u32, p: usize): usize {
  return p + (<usize>(flags & F_RECLAIMABLE) << 1);
}

// The mechanism a new cache gets, added to its flags (cache.ts, after the heap's debug defaults).
export function hardenFlags(flags: u32): u32 {
  if ((flags & F_DEBUG_MASK) != 0) return flags & ~(F_INUSE | F_FREEKEY);   // exact bitmap
  if ((flags & F_CTOR) != 0) flags |= F_INUSE;                             // free objects keep their bytes
  if ((flags & F_INUSE) != 0) return flags & ~F_FREEKEY;
  if ((flags & F_INTERNAL) != 0 && (flags & F_KMALLOC) == 0) return flags;  // the heap's own: no arrays
  return flags | F_FREEKEY;
}

// Object p of `cache` leaves its slab for an array or a handle (slabTake): it is parked, so it carries
// its key. `flags` is the cache's C_FLAGS, read once per batch by the caller.
@inline export function hardenPark(flags: u32, p: usize): void {
  if ((flags & F_FREEKEY) != 0) store<u32>(keyAddr(flags, p), keyOf(p));
}

// Object p (0 passes through) goes to a user: clear its key, or set its in-use bit. Returns p.
@inline export function hardenAlloc(cache: usize, p: usize): usize {
  const flags = load<u32>(cache, C_FLAGS);
  if ((flags & F_FREEKEY) != 0) {
    if (p != 0) store<u32>(keyAddr(flags, p), 0);
  } else if ((flags & F_INUSE) != 0) inuseMark(cache, p);
  return p;
}

// A user frees p, an allocated object of `cache` (checkObject said so). E_OK: accepted and marked free
// (key written, or in-use bit cleared). E_DOUBLE_FREE: the in-use bit was clear (nothing changed).
// HARDEN_CONFIRM: the key is there: the caller walks the parked objects (cold) and, if p is not among
// them, calls hardenFreeConfirmed.
@inline export function hardenFree(cache: usize, p: usize): i32 {
  const flags = load<u32>(cache, C_FLAGS);
  if ((flags & F_FREEKEY) != 0) {
    const at = keyAddr(flags, p);
    const key = keyOf(p);
    if (load<u32>(at) == key) return HARDEN_CONFIRM;
    store<u32>(at, key);
    return E_OK;
  }
  return inuseRelease(cache, p) ? E_OK : E_DOUBLE_FREE;
}

// The key was the user's own value after all (p is parked nowhere): the free goes on. (Also bulk.ts's
// free pass, which checked every object first.)
export function hardenFreeConfirmed(cache: usize, p: usize): void {
  store<u32>(keyAddr(load<u32>(cache, C_FLAGS), p), keyOf(p));
}

// Read-only form for calls that only look (realloc before it moves or resizes, malloc_usable_size):
// E_OK when p may be in a user's hands, HARDEN_CONFIRM when its key is there (the caller confirms),
// E_DOUBLE_FREE when its in-use bit is clear.
@inline export function hardenCheck(cache: usize, p: usize): i32 {
  const flags = load<u32>(cache, C_FLAGS);
  if ((flags & F_FREEKEY) != 0) return load<u32>(keyAddr(flags, p)) == keyOf(p) ? HARDEN_CONFIRM : E_OK;
  if ((flags & F_INUSE) != 0 && !inuseIsSet(cache, p)) return E_DOUBLE_FREE;
  return E_OK;
}

// Does parked object p of an F_FREEKEY cache hold its key? (validate: a parked object without it was
// written after it was freed.) True for caches of the other mechanisms.
export function keyPresent(cache: usize, p: usize): bool {
  const flags = load<u32>(cache, C_FLAGS);
  return (flags & F_FREEKEY) == 0 || load<u32>(keyAddr(flags, p)) == keyOf(p);
}
