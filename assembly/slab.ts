// slab.ts — one slab: its layout, its free bitmap, object ↔ index math, taking and returning objects.
//
// Owns: the K_SLAB / K_TAIL descriptor fields (cache, inuse, objects, aux = bitmap address, bits) and the
// bitmap itself. Entry points: slabNew() (slabNoPages: why it gave 0), slabReuse() (another cache's empty
// slab made ours), slabDiscard(), slabTake() / slabTakeWith() (the cache's geometry passed in: node.ts's
// refill reads it once per batch), slabCarve() (an empty slab taken whole), slabTakeAt(), slabPut(),
// slabPutRun() (a run of one bitmap word freed at once),
// locateObject() / checkObject() / resolveObject() (is this an object, and is it allocated), slabHeadFrom()
// (a slab's head descriptor by arithmetic),
// checkObjectStart() / isObjectStart() + freeInSlab() (the same split, for the free fast path: harden.ts),
// setObjectDivisor() (cache.ts: the stride's inverse), bitmapCheck() (the bitmap consistency check:
// F_CHECKS and validate).
// Called by: node.ts (under the cache-node lock, except slabNew, which runs unlocked so that a constructor
// may re-enter), harden.ts (checkObjectStart, isObjectStart, freeInSlab), cpu.ts (freeInSlab), kmalloc.ts and index.ts
// (checkObject), cache.ts (setObjectDivisor), bulk.ts, debug.ts, reclaim.ts, validate.ts.
// Calls page.ts (pageAllocReclaiming: a shortage runs the handler reclaim.ts registered; pageAlloc with
// arena.ts's growth held, for node.ts's first try), debugslot.ts (a
// new slab's debug bytes), report.ts (the constructor hook), inuse.ts (an object taken out is keyed).
//
// A slab is 2^order pages. With at most 64 objects the bitmap is inline in the head descriptor (D_BITS);
// otherwise it opens the slab and objects start after it:
//
//   slab with > 64 objects:
//   ├─ bitmap: C_BITMAP_WORDS × u64 ─┼pad┼ obj 0 ┼ obj 1 ┼ ... ┼ obj objects-1 ┼ waste ┤
//   ↑ pageAddr(head)                     ↑ pageAddr(head) + C_OBJ_OFFSET, each C_STRIDE bytes
//
//   bit i of the bitmap (word i>>6, bit i&63) is 1 when object i is free in the slab. An object parked in
//   a per-CPU array counts as allocated here (its bit is 0).
//
// Invariants: inuse = objects - popcount(bitmap);  bits ≥ objects are 0;  0 ≤ inuse ≤ objects.
// Free objects are never written by the slab layer after slabNew: a constructed object keeps its state.
// (Every object of an F_FREEKEY cache gets its key in slabNew, and again as slabTake takes it out:
// inuse.ts; such caches have no ctor.)
import {
  C_BITMAP_WORDS, C_DIV_INV, C_DIV_SHIFT, C_FLAGS, C_ID, C_OBJ_OFFSET, C_OBJECTS, C_ORDER, C_RECIP, C_STRIDE,
  CT_RUN_TAIL, D_BITS, F_FREEKEY,
  DESC_SHIFT, E_NOT_OBJECT, E_NOT_OURS, E_OK, E_WRONG_CACHE, E_DOUBLE_FREE, F_CTOR, HOOK_CTOR,
  INLINE_BITMAP_OBJECTS, K_SLAB, K_TAIL, L_NONE, C_SLAB_MASK, PAGE_SHIFT, F_DEBUG_MASK, F_INUSE,
  F_RECLAIMABLE,
} from "./layout";
import { NodeHdr, PageDesc, objectIndexAt } from "./structs";
import { keyPark } from "./inuse";
import { chunkByte, chunkByteOf, chunkIndex, holdGrowth, nchunks, pageAddr, pageOf } from "./arena";
import { nodeAddr, pageAlloc, pageAllocReclaiming, pageFree } from "./page";
import { debugSlabInit } from "./debugslot";
import { hook } from "./report";

// Result registers of resolveObject (per instance scratch; valid until the next call).
export let resolvedIndex: u32 = 0;
export let resolvedError: i32 = 0;

@inline export function slabBitmap(d: usize): usize {
  return <usize>changetype<PageDesc>(d).aux;
}

@inline export function objectAt(cache: usize, d: usize, i: u32): usize {
  return pageAddr(d) + load<u32>(cache, C_OBJ_OFFSET) + i * load<u32>(cache, C_STRIDE);
}

// Set by slabNew: its last 0 was for want of pages (not a failed constructor).
export let slabNoPages: bool = false;

// Make a slab for `cache` on `node`: pages, descriptors, bitmap, and constructed objects. Runs with no
// lock held (the constructor may re-enter, and a page shortage runs pressure reclaim, which calls
// shrinkers and destructors). Returns the head descriptor, not on any list, or 0: no memory
// (slabNoPages), or a constructor failed (env.hook answered non-zero) and the slab went back unused.
// `mayGrow` false: only pages the heap has without growing memory, and no pressure reclaim (node.ts
// tries this first while empty slabs are kept beyond min_partial). `carved`: the caller takes every object
// at once (slabCarve, node.ts refill), so the free bitmap and the free keys are left to it (slabFormat).
export function slabNew(cache: usize, node: u32, mayGrow: bool = true, carved: bool = false): usize {
  const order = load<u32>(cache, C_ORDER);
  let d: usize = 0;
  if (mayGrow) d = pageAllocReclaiming(node, order);  // on a shortage, reclaim first (page.ts handler)
  else {
    holdGrowth(true);
    d = pageAlloc(node, order);
    holdGrowth(false);
  }
  slabNoPages = d == 0;
  if (d == 0) return 0;
  changetype<NodeHdr>(nodeAddr(node)).slabPages += (1 << order);
  return slabFormat(cache, d, carved);
}

// Make the empty slab d, which node.ts just took off another cache's empty list (same order, same node),
// a slab of `cache`: its pages stay slab pages and skip the page allocator. As slabNew: the head, or 0
// when a constructor failed (the pages went back to the page allocator).
export function slabReuse(cache: usize, d: usize, carved: bool = false): usize {
  slabNoPages = false;
  return slabFormat(cache, d, carved);
}

// Descriptors, bitmap, debug bytes and constructed objects of a new slab of `cache` on pages d (counted
// in the node's slab pages already). The head, or 0 (a constructor failed: the slab was discarded).
// `carved`: the caller (node.ts refill) carves every object out at once, before the slab is on any list
// (slabCarve: it zeroes the bitmap and writes each object's free key), so neither is written here: a
// reused slab's keys went to cold lines twice (binary-bal: ~160 slabs a replay change class).
function slabFormat(cache: usize, d: usize, carved: bool): usize {
  const order = load<u32>(cache, C_ORDER);
  const objects = load<u32>(cache, C_OBJECTS);
  const base = pageAddr(d);
  changetype<PageDesc>(d).cache = <u32>cache;
  changetype<PageDesc>(d).inuse = 0;
  changetype<PageDesc>(d).objects = <u16>objects;
  changetype<PageDesc>(d).kind = K_SLAB;
  changetype<PageDesc>(d).list = L_NONE;
  for (let i: usize = 1, pages: usize = <usize>1 << order; i < pages; i++) {
    const t = d + (i << DESC_SHIFT);
    changetype<PageDesc>(t).cache = <u32>cache;
    changetype<PageDesc>(t).kind = K_TAIL;
    changetype<PageDesc>(t).aux = <u32>d;
  }
  const bm = objects <= INLINE_BITMAP_OBJECTS ? d + D_BITS : base;
  changetype<PageDesc>(d).aux = <u32>bm;
  const words = load<u32>(cache, C_BITMAP_WORDS);
  for (let w: u32 = 0; w < words && !carved; w++) {
    const left = objects - (w << 6);
    store<u64>(bm + (<usize>w << 3), left >= 64 ? <u64>-1 : ((<u64>1 << left) - 1));
  }
  if ((load<u32>(cache, C_FLAGS) & (F_DEBUG_MASK | F_INUSE)) != 0) debugSlabInit(cache, d); // red zones, poison, in-use bits (debugslot.ts)
  const flags = load<u32>(cache, C_FLAGS);
  if (flags & F_RECLAIMABLE) {
    // A reclaimable cache's first u32 is a reference count, and 0 means free (reclaim.ts).
    const stride = load<u32>(cache, C_STRIDE);
    let p = base + load<u32>(cache, C_OBJ_OFFSET);
    for (let i: u32 = 0; i < objects; i++, p += stride) store<u32>(p, 0);
  }
  if ((flags & F_FREEKEY) != 0 && !carved) {
    // inuse.ts: every object of a free-key cache that is not in a user's hands holds its key, free ones
    // in their slab included, so the free fast path needs no slab bitmap (harden.ts hardenFree).
    const stride = load<u32>(cache, C_STRIDE);
    let p = base + load<u32>(cache, C_OBJ_OFFSET);
    for (let i: u32 = 0; i < objects; i++, p += stride) keyPark(flags, p);
  }
  if (load<u32>(cache, C_FLAGS) & F_CTOR) {
    const id = load<u32>(cache, C_ID);
    const stride = load<u32>(cache, C_STRIDE);
    let p = base + load<u32>(cache, C_OBJ_OFFSET);
    for (let i: u32 = 0; i < objects; i++, p += stride) {
      // a constructor that failed (the host says so): no object of this slab is ever handed out
      if (hook(HOOK_CTOR, id, <u32>p, 0) != 0) {
        slabDiscard(cache, d);
        return 0;
      }
    }
  }
  return d;
}

// Give an empty slab's pages back to its node. The slab is on no list.
export function slabDiscard(cache: usize, d: usize): void {
  const order = load<u32>(cache, C_ORDER);
  const n = nodeAddr(<u32>changetype<PageDesc>(d).node);
  changetype<NodeHdr>(n).slabPages -= (1 << order);
  pageFree(d);
}

// Take up to `max` free objects from slab d, writing their addresses as u32 at dst. Returns the count.
export function slabTake(cache: usize, d: usize, dst: usize, max: u32): u32 {
  return slabTakeWith(d, dst, max, load<u32>(cache, C_BITMAP_WORDS), load<u32>(cache, C_STRIDE),
    load<u32>(cache, C_OBJ_OFFSET), load<u32>(cache, C_FLAGS));
}

// slabTake with the cache's geometry read once by the caller (node.ts refillFromNode reads it once per
// batch, not once per slab): `words` bitmap words, objects `stride` bytes apart from `objOff`, `flags`
// for inuse.ts's key. A slab of at most 64 objects (one word) is taken in one pass over its word.
@inline export function slabTakeWith(d: usize, dst: usize, max: u32, words: u32, stride: u32, objOff: u32, flags: u32): u32 {
  const bm = slabBitmap(d);
  const first = pageAddr(d) + objOff;
  let got: u32 = 0;
  for (let w: u32 = 0; w < words && got < max; w++) {
    const wa = bm + (<usize>w << 3);
    let bits = load<u64>(wa);
    if (bits == 0) continue;
    const base = first + <usize>((w << 6) * stride);
    while (bits != 0 && got < max) {
      const p = base + <usize>(<u32>ctz(bits) * stride);
      bits &= bits - 1;
      store<u32>(dst + (<usize>got << 2), <u32>p);
      keyPark(flags, p);
      got++;
    }
    store<u64>(wa, bits);
  }
  changetype<PageDesc>(d).inuse = <u16>(<u32>changetype<PageDesc>(d).inuse + got);
  return got;
}

// Take every object of the empty slab d (all its objects free: consecutive addresses from objOff, each
// `stride` bytes on), writing their addresses at dst: the bitmap's `words` words are zeroed, no bit walked
// (SLUB carves a fresh slab's freelist the same way). `flags` for inuse.ts's key. node.ts takeEmptyRun.
@inline export function slabCarve(d: usize, dst: usize, objects: u32, words: u32, stride: u32, objOff: u32, flags: u32): void {
  let p = pageAddr(d) + objOff;
  for (let i: u32 = 0; i < objects; i++, p += stride) {
    store<u32>(dst + (<usize>i << 2), <u32>p);
    keyPark(flags, p);
  }
  const bm = slabBitmap(d);
  for (let w: u32 = 0; w < words; w++) store<u64>(bm + (<usize>w << 3), 0);
  changetype<PageDesc>(d).inuse = <u16>objects;
}

// Mark object `i` of slab d free: slabPutRun with a run of one. Returns the new in-use count. The caller
// checked it was allocated.
@inline export function slabPut(d: usize, i: u32): u32 {
  return slabPutRun(d, i >> 6, <u64>1 << (i & 63), 1);
}

// Mark free, in one OR, the `run` objects whose bits are `bits` in bitmap word `w` of slab d (node.ts
// freeToSlabs: consecutive entries of a flushed array in one slab and word). Returns the new in-use count.
// The caller checked each was allocated, and that they are distinct.
@inline export function slabPutRun(d: usize, w: u32, bits: u64, run: u32): u32 {
  const wa = slabBitmap(d) + (<usize>w << 3);
  store<u64>(wa, load<u64>(wa) | bits);
  const inuse = <u32>changetype<PageDesc>(d).inuse - run;
  changetype<PageDesc>(d).inuse = <u16>inuse;
  return inuse;
}

// Take free object `i` out of slab d (as if allocated). Returns the new in-use count. The caller checked it
// was free and moves the slab between lists (node.ts takeFreeObject).
@inline export function slabTakeAt(d: usize, i: u32): u32 {
  const wa = slabBitmap(d) + (<usize>(i >> 6) << 3);
  store<u64>(wa, load<u64>(wa) & ~(<u64>1 << (i & 63)));
  const inuse = <u32>changetype<PageDesc>(d).inuse + 1;
  changetype<PageDesc>(d).inuse = <u16>inuse;
  return inuse;
}

@inline export function slabIsFree(d: usize, i: u32): bool {
  return ((load<u64>(slabBitmap(d) + (<usize>(i >> 6) << 3)) >> (i & 63)) & 1) != 0;
}

// Index of the object at p in slab d (p must be an object start; see resolveObject for the checks).
@inline export function objectIndex(cache: usize, d: usize, p: usize): u32 {
  const off = <u32>(p - pageAddr(d)) - load<u32>(cache, C_OBJ_OFFSET);
  return objectIndexAt(off, load<u32>(cache, C_RECIP));
}

// The slab head descriptor of any address inside a slab (or a large block), or 0 for an address that is
// in no chunk, in a run, or on a page that is not part of a slab/large block.
@inline export function headOf(ptr: usize): usize {
  const idx = chunkIndex(ptr);
  if (idx >= nchunks() || (chunkByte(idx) & CT_RUN_TAIL) != 0) return 0;
  let d = pageOf(ptr);
  if (changetype<PageDesc>(d).kind == K_TAIL) d = <usize>changetype<PageDesc>(d).aux;
  return d;
}

// The head descriptor of the slab holding an address whose page descriptor is d and whose offset in its
// slab is inSlab (ptr & C_SLAB_MASK): slabs are naturally aligned, so the offset names the head page.
@inline export function slabHeadFrom(d: usize, inSlab: u32): usize {
  return d - (<usize>(inSlab >> PAGE_SHIFT) << DESC_SHIFT);
}

// Where an object of `cache` lives: (head descriptor << 32) | index, or an error code (< 2^32) when ptr
// is not the start of an object of `cache`. `b` is chunkByteOf(ptr). Changes nothing. Everything is
// found by arithmetic from ptr — the table byte, the page descriptor (which names its cache on every
// page of a slab), the offset in the slab (slabs are naturally aligned) and the head descriptor — so
// the loads run in parallel; the cache's geometry fields are hot.
@inline export function locateObject(cache: usize, ptr: usize, b: u8): u64 {
  if (b >= CT_RUN_TAIL) return <u64>E_NOT_OURS;                  // no chunk, or user bytes of a run
  const d = pageOf(ptr);
  if (<usize>changetype<PageDesc>(d).cache != cache) return <u64>notThisCache(d);
  const inSlab = <u32>ptr & load<u32>(cache, C_SLAB_MASK);
  const off = inSlab - load<u32>(cache, C_OBJ_OFFSET);          // wraps when before object 0
  const i = objectIndexAt(off, load<u32>(cache, C_RECIP));
  if (i >= load<u32>(cache, C_OBJECTS) || i * load<u32>(cache, C_STRIDE) != off) return <u64>E_NOT_OBJECT;
  const head = slabHeadFrom(d, inSlab);
  return (<u64>head << 32) | <u64>i;                             // head ≥ 64 KiB, so this is ≥ 2^32
}

// The bitmap word holding object i's bit, of the slab whose head is `head`.
@inline export function bitmapWord(cache: usize, head: usize, i: u32): usize {
  const bm = load<u32>(cache, C_OBJECTS) <= INLINE_BITMAP_OBJECTS ? head + D_BITS : <usize>changetype<PageDesc>(head).aux;
  return bm + (<usize>(i >> 6) << 3);
}

// The stride's divisor fields (C_DIV_INV, C_DIV_SHIFT), set once with the stride (cache.ts setupCache):
// stride = odd << shift, inv = odd⁻¹ mod 2^32 (Newton's iteration: each step doubles the correct bits).
export function setObjectDivisor(cache: usize, stride: u32): void {
  const shift = <u32>ctz(stride);
  const odd = stride >> shift;
  let inv = odd;                                 // correct to 3 bits: odd × odd ≡ 1 (mod 8)
  for (let k = 0; k < 4; k++) inv *= 2 - odd * inv; // 6, 12, 24, 48 bits
  store<u32>(cache, inv, C_DIV_INV);
  store<u32>(cache, shift, C_DIV_SHIFT);
}

// The index of the object starting `off` bytes after object 0, or a value ≥ 2^32 / stride (so ≥ the
// objects of any slab) when off is not a multiple of the stride: off ↦ rotr(off × inv, shift) is a
// bijection of u32 that sends i × stride to i for every i < 2^32 / stride, so no other offset reaches
// those values. One multiply, one rotate, no reciprocal and no check multiply.
@inline export function objectStartIndex(cache: usize, off: u32): u32 {
  return rotr<u32>(off * load<u32>(cache, C_DIV_INV), load<u32>(cache, C_DIV_SHIFT));
}

// The free path's check, in one glance: is ptr the start of an object of `cache`? E_OK or the code.
// Whether it is allocated is the caller's question (harden.ts hardenKeyFound / hardenReleaseBits: the free key or the in-use
// bit answer it, and the bitmap for caches with neither).
@inline export function checkObjectStart(cache: usize, ptr: usize, b: u8): i32 {
  if (b >= CT_RUN_TAIL) return E_NOT_OURS;
  const d = pageOf(ptr);
  if (<usize>changetype<PageDesc>(d).cache != cache) return notThisCache(d);
  if (!isObjectStart(cache, ptr)) return E_NOT_OBJECT;
  return E_OK;
}

// checkObjectStart's last test as a bool, for the free fast path (harden.ts hardenFree), whose caller has
// made the first two (ptr is in a slab page of `cache`): is ptr where one of its objects starts?
@inline export function isObjectStart(cache: usize, ptr: usize): bool {
  const off = (<u32>ptr & load<u32>(cache, C_SLAB_MASK)) - load<u32>(cache, C_OBJ_OFFSET); // wraps before object 0
  return objectStartIndex(cache, off) < load<u32>(cache, C_OBJECTS);
}

// Object ptr (an object start of `cache`: checkObjectStart said so) is free in its slab.
@inline export function freeInSlab(cache: usize, ptr: usize): bool {
  const inSlab = <u32>ptr & load<u32>(cache, C_SLAB_MASK);
  const i = objectStartIndex(cache, inSlab - load<u32>(cache, C_OBJ_OFFSET));
  const head = slabHeadFrom(pageOf(ptr), inSlab);
  return ((load<u64>(bitmapWord(cache, head, i)) >> (i & 63)) & 1) != 0;
}

// Is ptr an allocated object of `cache` as far as its slab knows? E_OK or the code (an object free in its
// slab: E_DOUBLE_FREE). For callers that do not go through harden.ts (kmalloc.ts classify, callerRange).
@inline export function checkObject(cache: usize, ptr: usize, b: u8): i32 {
  const e = checkObjectStart(cache, ptr, b);
  if (e != E_OK) return e;
  return freeInSlab(cache, ptr) ? E_DOUBLE_FREE : E_OK;
}

// Cold: why a page does not belong to the cache being freed to.
function notThisCache(d: usize): i32 {
  const k = changetype<PageDesc>(d).kind;
  return k == K_SLAB || k == K_TAIL ? E_WRONG_CACHE : E_NOT_OURS;
}

// Check that ptr is the start of an object of `cache` that is allocated as far as the slab knows.
// Returns the slab head descriptor and sets resolvedIndex, or returns 0 and sets resolvedError.
// Changes nothing. (The slow-path form of checkObject, for walks that need the slab and the index.)
export function resolveObject(cache: usize, ptr: usize): usize {
  const loc = locateObject(cache, ptr, chunkByteOf(ptr));
  if (loc < (<u64>1 << 32)) { resolvedError = <i32>loc; return 0; }
  const d = <usize>(loc >> 32);
  const i = <u32>loc;
  if ((load<u64>(bitmapWord(cache, d, i)) >> (i & 63)) & 1) { resolvedError = E_DOUBLE_FREE; return 0; }
  resolvedIndex = i;
  resolvedError = E_OK;
  return d;
}

// The bitmap consistency check (F_CHECKS in debug.ts, and validate.ts): bits past the last object are 0,
// and inuse + free bits == objects. 0, or BM_TAIL | BM_COUNT for what is wrong. Reads only.
export const BM_TAIL: u32 = 1;    // a bit is set past the last object
export const BM_COUNT: u32 = 2;   // the in-use count disagrees with the bitmap
export function bitmapCheck(cache: usize, d: usize): u32 {
  const objects = load<u32>(cache, C_OBJECTS);
  const words = load<u32>(cache, C_BITMAP_WORDS);
  const bm = slabBitmap(d);
  let bad: u32 = 0;
  let free: u32 = 0;
  for (let w: u32 = 0; w < words; w++) {
    const bits = load<u64>(bm + (<usize>w << 3));
    free += <u32>popcnt(bits);
    const left = objects - (w << 6);
    if (left < 64 && (bits >> left) != 0) bad |= BM_TAIL;
  }
  if (<u32>changetype<PageDesc>(d).inuse + free != objects) bad |= BM_COUNT;
  return bad;
}
