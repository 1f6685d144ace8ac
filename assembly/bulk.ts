// bulk.ts — many objects per call: allocBulk (all or nothing) and freeBulk (checked, then batched).
//
// Owns: nothing persistent. Entry points: cacheAllocBulk(cache, dst, n), cacheFreeBulk(cache, src, n).
// Called by: index.ts (the TS layer passes a staging buffer of u32 object addresses in linear memory).
// Calls sheaf.ts (sheaves, the barn), node.ts (refillBatch, freeToSlabs), slab.ts (locateObject),
// debug.ts (debug caches, one checked object at a time), harden.ts and inuse.ts (every object handed out
// or freed meets its cache's double-free check; a key found is confirmed by cpu.ts parkedAnywhere), report.ts.
//
// allocBulk copies from the arrays first — main, spare, then full arrays from the node's barn, one
// memory.copy per array (counted alloc_fastpath per object) — then refills straight into the caller's
// buffer from the slabs (alloc_slowpath per object). If memory runs out it gives back everything it took:
// n objects or none.
// freeBulk checks every pointer first, in one pass (a duplicate inside the batch is a double free), and
// frees nothing if one is bad. When every object is of the CPU's node (the common case, known from the
// check pass), the free pass moves runs: one memory.copy fills the main array, a full main array goes to
// the barn while it has room, and the rest goes to the slabs in one batch (freeToSlabs: one lock per run
// of same-node objects). A batch that mixes nodes goes object by object.
// Cost of the check (bench/PROFILE.md, "bulk"): an F_INUSE cache finds a duplicate in its in-use bits
// (test and clear: the final state), so one pass suffices; any other cache (F_FREEKEY among them: its
// keys are written only after the whole batch passed) sets each object's free bit provisionally and
// clears it in a second pass.
//
// Call tree: cacheAllocBulk → takeFromSheaf (memory.copy), barnGetFullSheaf → putBack, refillBatch,
//   hardenAlloc;  cacheFreeBulk → locateObject, hardenCheck → parkedAnywhere | inuseRelease (check),
//   hardenReleased → freeRuns (memory.copy,
//   swapMainToBarn → barnGetEmptySheaf | sheafNew, barnPutFullSheaf) → freeToSlabs | debugFreeBulk.
import { C_ARRAY_CAP, C_FLAGS, E_DOUBLE_FREE, E_NOMEM, E_OK, F_DEBUG_MASK, F_FREEKEY, F_INUSE } from "./layout";
import { CacheNode, CpuSlot, Sheaf } from "./structs";
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
  const have = changetype<Sheaf>(s).count;
  const k = have < want ? have : want;
  memory.copy(dst, sheafEntry(s, have - k), <usize>k << 2);
  changetype<Sheaf>(s).count = have - k;
  return k;
}

export function cacheAllocBulk(cache: usize, dst: usize, n: u32): u32 {
  const flags = load<u32>(cache, C_FLAGS);
  if ((flags & F_DEBUG_MASK) != 0) return debugAllocBulk(cache, dst, n); // checked one by one (debug.ts)
  const slot = cpuSlot(cache);
  let got = takeFromSheaf(<usize>changetype<CpuSlot>(slot).main, dst, n);
  if (got < n) got += takeFromSheaf(<usize>changetype<CpuSlot>(slot).spare, dst + (<usize>got << 2), n - got);
  const cn = cnAddr(cache, currentNode);
  while (got < n && changetype<CacheNode>(cn).barnNrFull != 0) {
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
  if (changetype<Sheaf>(s).count != 0) {
    const main = <usize>changetype<CpuSlot>(slot).main;
    changetype<CpuSlot>(slot).main = <u32>s;
    s = main;
    if (s == emptySheaf()) return;
  }
  barnPutEmptySheaf(cache, cn, s);
}

// The bitmap word holding the free bit of the object at loc (locateObject's (head << 32) | index).
@inline function freeBitWord(cache: usize, loc: u64): usize {
  return bitmapWord(cache, <usize>(loc >> 32), <u32>loc);
}

export function cacheFreeBulk(cache: usize, src: usize, n: u32): i32 {
  // Check pass, one per batch: locate each pointer and test its free bit (set: free in its slab, a
  // double free). A second copy of the same pointer in the batch must read as a double free too: an
  // F_INUSE cache sees it in its in-use bit (cleared by the first copy: the final state, nothing to
  // undo); any other cache sets the free bit provisionally and clears it again below. Counts the objects
  // of other nodes on the way (none: the free pass copies whole runs).
  const node = currentNode;
  const flags = load<u32>(cache, C_FLAGS);
  const provisional = (flags & F_INUSE) == 0;
  const keyed = flags & F_FREEKEY;
  let bad: i32 = E_OK;
  let foreign: u32 = 0;
  let k: u32 = 0;
  for (; k < n; k++) {
    const p = <usize>load<u32>(src + (<usize>k << 2));
    const b = chunkByteOf(p);
    const loc = locateObject(cache, p, b);
    if (loc < (<u64>1 << 32)) { bad = <i32>loc; break; }
    const w = freeBitWord(cache, loc);
    const v = load<u64>(w);
    const m = <u64>1 << (<u32>loc & 63);
    if ((v & m) != 0) { bad = E_DOUBLE_FREE; break; }
    if (keyed != 0) {
      // harden.ts: its key is there: parked somewhere (a double free) or the user's own value (cold walk)
      if (hardenCheck(cache, p) != E_OK && parkedAnywhere(cache, p)) { bad = E_DOUBLE_FREE; break; }
    } else if (!inuseRelease(cache, p)) { bad = E_DOUBLE_FREE; break; } // F_INUSE: parked, or twice in the batch
    if (provisional) store<u64>(w, v | m);
    foreign += <u32>(<u32>b != node);
  }
  // Undo pass (the pointers are known good up to k): clear the provisional free bits; after a bad
  // pointer, mark the released in-use bits again.
  if (provisional || bad != E_OK) {
    for (let j: u32 = 0; j < k; j++) {
      const p = <usize>load<u32>(src + (<usize>j << 2));
      if (provisional) {
        const loc = locateObject(cache, p, chunkByteOf(p));
        const w = freeBitWord(cache, loc);
        store<u64>(w, load<u64>(w) & ~(<u64>1 << (<u32>loc & 63)));
      }
      if (bad != E_OK && keyed == 0) inuseMark(cache, p);  // undo the in-use releases too
    }
  }
  if (bad != E_OK) {
    bulkBadIndex = k;
    return freeFailed(cache, <usize>load<u32>(src + (<usize>k << 2)), bad); // reported (report.ts)
  }
  if (keyed != 0) for (let j: u32 = 0; j < n; j++) hardenReleased(cache, <usize>load<u32>(src + (<usize>j << 2))); // keyed: freed
  if ((flags & F_DEBUG_MASK) != 0) {
    const e = debugFreeBulk(cache, src, n);                   // each checked; corrupted ones quarantined
    if (e != E_OK) bulkBadIndex = debugBulkBad;
    return e;
  }

  const slot = cpuSlot(cache);
  const cap = load<u32>(cache, C_ARRAY_CAP);
  let local: u32 = 0;
  if (cap != 0 && foreign == 0) {
    // Free pass by runs: fill the main array with one copy, hand it to the barn when full (while the barn
    // has room), repeat; what is left goes to its slabs in one batch.
    local = freeRuns(cache, slot, cap, src, n);
    freeToSlabs(cache, src + (<usize>local << 2), n - local);
  } else {
    // Mixed nodes (or arrays off): same-node objects into the arrays one by one, the rest compacted to
    // the front of src and freed to their slabs (freeToSlabs takes each node's lock once per run).
    let main = <usize>changetype<CpuSlot>(slot).main;
    let rest: u32 = 0;
    const cn = cnAddr(cache, node);
    for (let i: u32 = 0; i < n; i++) {
      const p = load<u32>(src + (<usize>i << 2));
      if (cap != 0 && <u32>chunkByteOf(p) == node) {
        let count = changetype<Sheaf>(main).count;
        if (count >= changetype<Sheaf>(main).cap) {
          const fresh = changetype<CacheNode>(cn).barnNrFull < barnMaxFull(cache) ? swapMainToBarn(cache, slot, cn, main, cap) : 0;
          if (fresh == 0) { store<u32>(src + (<usize>rest << 2), p); rest++; continue; }
          main = fresh;
          count = 0;
        }
        store<u32>(sheafEntry(main, count), p);
        changetype<Sheaf>(main).count = count + 1;
        local++;
      } else {
        store<u32>(src + (<usize>rest << 2), p);
        rest++;
      }
    }
    freeToSlabs(cache, src, rest);
  }
  statAddAt(slot, FREE_FASTPATH, local);
  statAddAt(slot, FREE_SLOWPATH, n - local);
  return E_OK;
}

// Copy objects of src (all of the CPU's node) into the main array in runs, swapping a full main array
// into the barn while the barn has room. Returns how many went into arrays (a prefix of src).
function freeRuns(cache: usize, slot: usize, cap: u32, src: usize, n: u32): u32 {
  const cn = cnAddr(cache, currentNode);
  let main = <usize>changetype<CpuSlot>(slot).main;
  let done: u32 = 0;
  while (done < n) {
    const count = changetype<Sheaf>(main).count;
    const space = changetype<Sheaf>(main).cap - count;
    if (space == 0) {
      const fresh = changetype<CacheNode>(cn).barnNrFull < barnMaxFull(cache) ? swapMainToBarn(cache, slot, cn, main, cap) : 0;
      if (fresh == 0) break;
      main = fresh;
      continue;
    }
    const k = space < n - done ? space : n - done;
    memory.copy(sheafEntry(main, count), src + (<usize>done << 2), <usize>k << 2);
    changetype<Sheaf>(main).count = count + k;
    done += k;
  }
  return done;
}

// The main array is full: hand it to the barn and install an empty array (from the barn, or new) as
// main. Returns the new main, or 0 when no array could be had (main stays).
function swapMainToBarn(cache: usize, slot: usize, cn: usize, main: usize, cap: u32): usize {
  if (main == emptySheaf()) {
    const s = sheafNew(cache, cap, currentNode);
    if (s != 0) changetype<CpuSlot>(slot).main = <u32>s;
    return s;
  }
  let empty = barnGetEmptySheaf(cache, cn);
  if (empty == 0) empty = sheafNew(cache, cap, currentNode);
  if (empty == 0) return 0;
  barnPutFullSheaf(cache, cn, main);
  changetype<CpuSlot>(slot).main = <u32>empty;
  return empty;
}
