// bulk.ts — many objects per call: allocBulk (all or nothing) and freeBulk (checked, then batched).
//
// Owns: nothing persistent. Entry points: cacheAllocBulk(cache, dst, n), cacheFreeBulk(cache, src, n).
// Called by: index.ts (the TS layer passes a staging buffer of u32 object addresses in linear memory).
// Calls sheaf.ts (sheaves, the barn), node.ts (refillBatch, freeToSlabs), slab.ts (locateObject),
// debug.ts (debug caches, one checked object at a time), harden.ts and inuse.ts (every object handed out
// or freed meets its cache's double-free check; a key found is confirmed by cpu.ts parkedAnywhere), report.ts.
//
// allocBulk copies from the arrays first — main, spare, then full arrays from the node's barn (each
// counted alloc_fastpath per object) — then refills straight into the caller's buffer from the slabs
// (alloc_slowpath per object). If memory runs out it gives back everything it took: n objects or none.
// freeBulk checks every pointer first (a duplicate inside the batch is a double free) and frees nothing
// if one is bad; then objects of the CPU's node fill the main array, then full arrays go to the barn
// while it has room, and the rest go to their slabs in batches, one lock per run of same-node objects.
import { C_ARRAY_CAP, C_FLAGS, CC_MAIN, CC_SPARE, CN_BARN_NR_FULL, E_DOUBLE_FREE, E_NOMEM, E_OK, F_DEBUG_MASK, F_FREEKEY, F_INUSE, SH_CAP, SH_COUNT } from "./layout";
import { chunkByteOf } from "./arena";
import { cnAddr, freeToSlabs, refillBatch } from "./node";
import { bitmapWord, locateObject } from "./slab";
import {
  barnGetEmptySheaf, barnGetFullSheaf, barnMaxFull, barnPutEmptySheaf, barnPutFullSheaf, sheafEntry, sheafNew,
} from "./sheaf";
import { ALLOC_FASTPATH, ALLOC_SLOWPATH, FREE_FASTPATH, FREE_SLOWPATH, statAddAt } from "./stats";
import { cpuSlot, currentNode, emptySheaf } from "./percpu";
import { freeFailed, setError } from "./report";
import { debugAllocBulk, debugBulkBad, debugFreeBulk } from "./debug";
import { inuseMark, inuseRelease } from "./inuse";
import { hardenAlloc, hardenCheck, hardenReleased } from "./harden";
import { parkedAnywhere } from "./cpu";

// Index of the bad pointer after a failed cacheFreeBulk.
export let bulkBadIndex: u32 = 0;

// Move up to `want` objects from the top of sheaf s to dst. Returns how many.
@inline function takeFromSheaf(s: usize, dst: usize, want: u32): u32 {
  const have = load<u32>(s, SH_COUNT);
  const k = have < want ? have : want;
  memory.copy(dst, sheafEntry(s, have - k), <usize>k << 2);
  store<u32>(s, have - k, SH_COUNT);
  return k;
}

export function cacheAllocBulk(cache: usize, dst: usize, n: u32): u32 {
  const flags = load<u32>(cache, C_FLAGS);
  if ((flags & F_DEBUG_MASK) != 0) return debugAllocBulk(cache, dst, n); // checked one by one (debug.ts)
  const slot = cpuSlot(cache);
  let got = takeFromSheaf(<usize>load<u32>(slot, CC_MAIN), dst, n);
  if (got < n) got += takeFromSheaf(<usize>load<u32>(slot, CC_SPARE), dst + (<usize>got << 2), n - got);
  const cn = cnAddr(cache, currentNode);
  while (got < n && load<u32>(cn, CN_BARN_NR_FULL) != 0) {
    const full = barnGetFullSheaf(cache, cn);
    if (full == 0) break;
    got += takeFromSheaf(full, dst + (<usize>got << 2), n - got);
    putBack(cache, slot, cn, full);
  }
  const fromArrays = got;
  while (got < n) {
    const r = refillBatch(cache, currentNode, dst + (<usize>got << 2), n - got);
    if (r == 0) {
      freeToSlabs(cache, dst, got); // all or nothing
      setError(E_NOMEM);
      return 0;
    }
    got += r;
  }
  statAddAt(slot, ALLOC_FASTPATH, fromArrays);
  statAddAt(slot, ALLOC_SLOWPATH, n - fromArrays);
  // harden.ts: each object handed out loses its key or gets its in-use bit
  if ((flags & (F_INUSE | F_FREEKEY)) != 0) for (let k: u32 = 0; k < n; k++) hardenAlloc(cache, <usize>load<u32>(dst + (<usize>k << 2)));
  return n;
}

// An array taken from the barn after use: if objects are left, it becomes the CPU's main array (which
// the bulk call emptied first) and the old main goes back as an empty array; an empty one goes back to
// the barn's empty list, or is freed when that list is at its limit.
function putBack(cache: usize, slot: usize, cn: usize, s: usize): void {
  if (load<u32>(s, SH_COUNT) != 0) {
    const main = <usize>load<u32>(slot, CC_MAIN);
    store<u32>(slot, <u32>s, CC_MAIN);
    s = main;
    if (s == emptySheaf()) return;
  }
  barnPutEmptySheaf(cache, cn, s);
}

// Flip object `ptr`'s bit (located at loc) in its slab's bitmap.
@inline function flip(cache: usize, loc: u64): void {
  const i = <u32>loc;
  const w = bitmapWord(cache, <usize>(loc >> 32), i);
  store<u64>(w, load<u64>(w) ^ (<u64>1 << (i & 63)));
}

export function cacheFreeBulk(cache: usize, src: usize, n: u32): i32 {
  // Check pass: locate each pointer and provisionally mark it free, so that a second copy of the same
  // pointer in the batch reads as a double free; then undo the marks.
  let bad: i32 = E_OK;
  let k: u32 = 0;
  const keyed = load<u32>(cache, C_FLAGS) & F_FREEKEY;
  for (; k < n; k++) {
    const p = <usize>load<u32>(src + (<usize>k << 2));
    const loc = locateObject(cache, p, chunkByteOf(p));
    if (loc < (<u64>1 << 32)) { bad = <i32>loc; break; }
    const i = <u32>loc;
    if ((load<u64>(bitmapWord(cache, <usize>(loc >> 32), i)) >> (i & 63)) & 1) { bad = E_DOUBLE_FREE; break; }
    if (keyed != 0) {
      // harden.ts: its key is there: parked somewhere (a double free) or the user's own value (cold walk)
      if (hardenCheck(cache, p) != E_OK && parkedAnywhere(cache, p)) { bad = E_DOUBLE_FREE; break; }
    } else if (!inuseRelease(cache, p)) { bad = E_DOUBLE_FREE; break; } // F_INUSE: parked, or twice in the batch
    flip(cache, loc);
  }
  for (let j: u32 = 0; j < k; j++) {
    const p = <usize>load<u32>(src + (<usize>j << 2));
    flip(cache, locateObject(cache, p, chunkByteOf(p)));
    if (bad != E_OK && keyed == 0) inuseMark(cache, p);      // undo the in-use releases too
  }
  if (bad != E_OK) {
    bulkBadIndex = k;
    return freeFailed(cache, <usize>load<u32>(src + (<usize>k << 2)), bad); // reported (report.ts)
  }
  if (keyed != 0) for (let j: u32 = 0; j < n; j++) hardenReleased(cache, <usize>load<u32>(src + (<usize>j << 2))); // keyed: freed
  if ((load<u32>(cache, C_FLAGS) & F_DEBUG_MASK) != 0) {
    const e = debugFreeBulk(cache, src, n);                   // each checked; corrupted ones quarantined
    if (e != E_OK) bulkBadIndex = debugBulkBad;
    return e;
  }

  // Free pass: same-node objects into the main array, then into full arrays for the barn.
  const slot = cpuSlot(cache);
  const cap = load<u32>(cache, C_ARRAY_CAP);
  let main = <usize>load<u32>(slot, CC_MAIN);
  let rest: u32 = 0; // objects for the slabs are compacted to the front of src
  let local: u32 = 0;
  const cn = cnAddr(cache, currentNode);
  for (let i: u32 = 0; i < n; i++) {
    const p = load<u32>(src + (<usize>i << 2));
    if (cap != 0 && <u32>chunkByteOf(p) == currentNode) {
      let count = load<u32>(main, SH_COUNT);
      if (count >= load<u32>(main, SH_CAP)) {
        const fresh = cap != 0 && load<u32>(cn, CN_BARN_NR_FULL) < barnMaxFull(cache) ? swapMainToBarn(cache, slot, cn, main, cap) : 0;
        if (fresh == 0) { store<u32>(src + (<usize>rest << 2), p); rest++; continue; }
        main = fresh;
        count = 0;
      }
      store<u32>(sheafEntry(main, count), p);
      store<u32>(main, count + 1, SH_COUNT);
      local++;
    } else {
      store<u32>(src + (<usize>rest << 2), p);
      rest++;
    }
  }
  freeToSlabs(cache, src, rest);
  statAddAt(slot, FREE_FASTPATH, local);
  statAddAt(slot, FREE_SLOWPATH, rest);
  return E_OK;
}

// The main array is full: hand it to the barn and install an empty array (from the barn, or new) as
// main. Returns the new main, or 0 when no array could be had (main stays).
function swapMainToBarn(cache: usize, slot: usize, cn: usize, main: usize, cap: u32): usize {
  if (main == emptySheaf()) {
    const s = sheafNew(cache, cap, currentNode);
    if (s != 0) store<u32>(slot, <u32>s, CC_MAIN);
    return s;
  }
  let empty = barnGetEmptySheaf(cache, cn);
  if (empty == 0) empty = sheafNew(cache, cap, currentNode);
  if (empty == 0) return 0;
  barnPutFullSheaf(cache, cn, main);
  store<u32>(slot, <u32>empty, CC_MAIN);
  return empty;
}
