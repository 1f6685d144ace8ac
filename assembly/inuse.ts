// inuse.ts — the per-object in-use bit (cache flag F_INUSE): catches a double free of an object that sits
// in a per-CPU array, which the slab bitmap cannot see (a parked object is "allocated" there).
//
// Owns: the in-use bitmap of every F_INUSE slab. Entry points: inuseMark() (an object goes to a user),
// inuseRelease() (a user frees it: test and clear), inuseIsSet() (validate, destroy report),
// inuseClearSlab() (a new slab). Called by cpu.ts (fast and slow paths), bulk.ts, debugslot.ts (a new
// slab), debug.ts, reclaim.ts, destroy.ts, validate.ts. Calls nothing.
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
// buddy blocks of order ≤ 3 are aligned to their size in absolute addresses (layout.ts), so
// slab start = ptr & ~(slab bytes - 1) = ptr & ~C_SLAB_MASK.
//
// Invariants (checked by validate): in-use bit set ⇒ slab bit 0 (allocated) and the object is in no array;
//   bits ≥ objects are 0.
import { C_FLAGS, C_INUSE_OFF, C_OBJ_OFFSET, C_OBJECTS, C_RECIP, C_SLAB_MASK, F_INUSE } from "./layout";
import { objectIndexAt } from "./structs";

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
    store<u64>(w, load<u64>(w) | (<u64>1 << (i & 63)));
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
  const v = load<u64>(w);
  const m = <u64>1 << (i & 63);
  if ((v & m) == 0) return false;
  store<u64>(w, v & ~m);
  return true;
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
