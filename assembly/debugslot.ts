// debugslot.ts — the bytes of a debug cache's slot: its size, red zones, poison and empty tracks, and the
// checks that read them. Memory only: no lists, no bitmaps, no locks.
//
// Owns: the debug bytes of every debug slot (red zones, poison, zeroed tracks), the heap's debug
// defaults word (DB_DEFAULTS) and the sizing rules that turn a cache's flags into its slot layout.
// Entry points:
//   sizing     debugFlags(), debugLead(), debugStride(), debugTrackOff()    (cache.ts, at creation)
//   slabs      debugSlabInit()                                              (slab.ts slabNew)
//   bytes      paintRedZones(), poison(), checkBytes()                      (debug.ts, alloc and free)
//   walks      debugCheckFree()                                             (validate.ts)
// Called by: cache.ts, slab.ts, debug.ts, validate.ts. Calls inuse.ts (a new slab's in-use bits) and
// report.ts (a failed check records the bad byte).
//
// Slot layout (drawn in layout.ts): left red zone | object | right red zone | alloc track | free track.
// C_OBJ_OFFSET already includes object 0's left red zone, so every "object i is at C_OBJ_OFFSET +
// i × stride" computation (slabTake, resolveObject, freeToSlabs, the constructor loop) is unchanged.
import {
  C_DEBUG_OFF, C_FLAGS, C_OBJ_OFFSET, C_OBJECTS, C_SIZE, C_STRIDE, C_TRACK_OFF, DB_DEFAULTS, E_OK, E_POISON, E_REDZONE, F_CTOR,
  F_DEBUG_MASK, F_EXACT, F_INUSE, F_POISON, F_RECLAIMABLE, F_RED_ZONE, F_STORE_USER, H_DEBUG,
  MAX_SLAB_ORDER, PAGE_SIZE, POISON_END, POISON_FREE, RZ_INACTIVE, RZ_WIDTH, TRACK_SIZE,
} from "./layout";
import { HEAP, alignUp, pageAddr } from "./arena";
import { inuseClearSlab } from "./inuse";
import { checkFailed } from "./report";

// The heap's debug block (heap header).
@inline export function debugBlock(): usize {
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
  else flags |= load<u32>(debugBlock(), DB_DEFAULTS);
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
  const stride = load<u32>(cache, C_STRIDE);
  let p = pageAddr(d) + load<u32>(cache, C_OBJ_OFFSET);      // object i at C_OBJ_OFFSET + i × stride
  for (let i: u32 = 0; i < objects; i++, p += stride) {
    paintRedZones(cache, p, flags, RZ_INACTIVE);
    if ((flags & F_POISON) != 0) poison(cache, p);
    const t = load<u32>(cache, C_TRACK_OFF);
    if (t != 0) memory.fill(p + t, 0, 2 * TRACK_SIZE);
  }
}

// ---- the bytes ------------------------------------------------------------------------------------------

@inline export function paintRedZones(cache: usize, p: usize, flags: u32, v: u8): void {
  if ((flags & F_RED_ZONE) == 0) return;
  const lead = load<u32>(cache, C_DEBUG_OFF);
  const size = load<u32>(cache, C_SIZE);
  memory.fill(p - lead, v, lead);
  memory.fill(p + size, v, inner(size, flags) - size);
}

@inline export function poison(cache: usize, p: usize): void {
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
// its poison. E_OK, or E_REDZONE / E_POISON with the bad byte recorded (report.ts checkFailed). Writes
// nothing else.
export function checkBytes(cache: usize, p: usize, flags: u32, rz: u8, withPoison: bool): i32 {
  const size = load<u32>(cache, C_SIZE);
  if ((flags & F_RED_ZONE) != 0) {
    const lead = load<u32>(cache, C_DEBUG_OFF);
    let k = firstMismatch(p - lead, lead, rz);
    if (k >= 0) return checkFailed(E_REDZONE, k - <i32>lead, load<u8>(p - lead + k), rz);
    k = firstMismatch(p + size, inner(size, flags) - size, rz);
    if (k >= 0) return checkFailed(E_REDZONE, <i32>size + k, load<u8>(p + size + k), rz);
  }
  if (withPoison && (flags & F_POISON) != 0) {
    const k = firstMismatch(p, size - 1, POISON_FREE);
    if (k >= 0) return checkFailed(E_POISON, k, load<u8>(p + k), POISON_FREE);
    const last = load<u8>(p + size - 1);
    if (last != POISON_END) return checkFailed(E_POISON, <i32>size - 1, last, POISON_END);
  }
  return E_OK;
}

// A free object of a debug cache, for validate: E_OK, E_REDZONE or E_POISON. Writes nothing.
export function debugCheckFree(cache: usize, p: usize): i32 {
  const flags = load<u32>(cache, C_FLAGS);
  if ((flags & (F_RED_ZONE | F_POISON)) == 0) return E_OK;
  return checkBytes(cache, p, flags, RZ_INACTIVE, true);
}
