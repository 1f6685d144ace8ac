// bulk.ts — many objects per call: allocBulk (all or nothing) and freeBulk (checked, then batched).
//
// Owns: nothing persistent. Entry points: cacheAllocBulk(cache, dst, n), cacheFreeBulk(cache, src, n).
// Called by: index.ts (the TS layer passes a staging buffer of u32 object addresses in linear memory).
// Calls cpu.ts (arrays, refillBatch) and node.ts (freeToSlabs).
//
// allocBulk takes what the CPU's main array holds first (counted as alloc_fastpath per object), then
// refills straight into the caller's buffer in batches from the slabs (alloc_slowpath per object); if
// memory runs out it gives back everything it took and fails: the caller gets n objects or none.
// freeBulk checks every pointer first (a duplicate inside the batch is a double free) and frees nothing
// if one is bad; then objects of the CPU's node fill the main array and the rest go to their slabs in
// batches, one lock acquisition per run of same-node objects.
import { C_ARRAY_CAP, CC_MAIN, E_NOMEM, E_OK, SH_CAP, SH_COUNT, SH_HDR } from "./layout";
import { nodeOf } from "./arena";
import { freeToSlabs } from "./node";
import { headOf, objectIndex, resolveObject, resolvedError, resolvedIndex, slabBitmap } from "./slab";
import { currentNode, refillBatch } from "./cpu";
import { ALLOC_FASTPATH, ALLOC_SLOWPATH, FREE_FASTPATH, FREE_SLOWPATH, cpuSlot, statAddAt } from "./stats";
import { setError } from "./cache";

// Index of the bad pointer after a failed cacheFreeBulk.
export let bulkBadIndex: u32 = 0;

export function cacheAllocBulk(cache: usize, dst: usize, n: u32): u32 {
  const slot = cpuSlot(cache);
  const main = <usize>load<u32>(slot, CC_MAIN);
  const have = load<u32>(main, SH_COUNT);
  const fromMain = have < n ? have : n;
  // pop the hottest objects first, as n single allocs would
  for (let i: u32 = 0; i < fromMain; i++) {
    store<u32>(dst + (<usize>i << 2), load<u32>(main + SH_HDR + (<usize>(have - 1 - i) << 2)));
  }
  store<u32>(main, have - fromMain, SH_COUNT);
  let got = fromMain;
  while (got < n) {
    const r = refillBatch(cache, currentNode, dst + (<usize>got << 2), n - got);
    if (r == 0) {
      freeToSlabs(cache, dst, got); // all or nothing
      setError(E_NOMEM);
      return 0;
    }
    got += r;
  }
  statAddAt(slot, ALLOC_FASTPATH, fromMain);
  statAddAt(slot, ALLOC_SLOWPATH, n - fromMain);
  return n;
}

// Mark object i of slab d free / allocated in its bitmap, without touching counts (check pass only).
@inline function flipBit(d: usize, i: u32): void {
  const wa = slabBitmap(d) + (<usize>(i >> 6) << 3);
  store<u64>(wa, load<u64>(wa) ^ (<u64>1 << (i & 63)));
}

export function cacheFreeBulk(cache: usize, src: usize, n: u32): i32 {
  // Check pass: resolve each pointer and provisionally mark it free, so a second copy of the same
  // pointer in the batch is caught as a double free; then undo the marks.
  let bad: i32 = E_OK;
  let k: u32 = 0;
  for (; k < n; k++) {
    const p = <usize>load<u32>(src + (<usize>k << 2));
    const d = resolveObject(cache, p);
    if (d == 0) { bad = resolvedError; break; }
    flipBit(d, resolvedIndex);
  }
  for (let j: u32 = 0; j < k; j++) {
    const p = <usize>load<u32>(src + (<usize>j << 2));
    const d = headOf(p);
    flipBit(d, objectIndex(cache, d, p));
  }
  if (bad != E_OK) { bulkBadIndex = k; return bad; }
  // Free pass.
  const slot = cpuSlot(cache);
  const main = <usize>load<u32>(slot, CC_MAIN);
  let count = load<u32>(main, SH_COUNT);
  const cap: u32 = load<u32>(cache, C_ARRAY_CAP) == 0 ? 0 : load<u32>(main, SH_CAP);
  let rest: u32 = 0; // objects that do not fit the main array are compacted to the front of src
  for (let i: u32 = 0; i < n; i++) {
    const p = load<u32>(src + (<usize>i << 2));
    if (count < cap && nodeOf(p) == currentNode) {
      store<u32>(main + SH_HDR + (<usize>count << 2), p);
      count++;
    } else {
      store<u32>(src + (<usize>rest << 2), p);
      rest++;
    }
  }
  store<u32>(main, count, SH_COUNT);
  freeToSlabs(cache, src, rest);
  statAddAt(slot, FREE_FASTPATH, n - rest);
  statAddAt(slot, FREE_SLOWPATH, rest);
  return E_OK;
}
