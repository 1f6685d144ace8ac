// validate.ts — the heap's self-check: walks every chunk, free list, cache, slab list, slab and array,
// and every node's medium heap (medium.ts mediumValidate: regions block by block, free lists, counts;
// the pre-chunk region among node 0's: checkPre).
//
// Owns: the report area of the heap header (H_REPORT_COUNT, H_REPORT: up to REPORT_MAX entries of
// {code, address, cache}). Entry point: validate() → number of problems found (0 = consistent).
// Read-only apart from the report. Called by index.ts; calls nothing that changes state (slab.ts's
// bitmapCheck and object checks, node.ts's listFor, debugslot.ts's byte checks, debug.ts's quarantine,
// harden.ts's keyPresent and cpu.ts's parkedTimes: a parked object holds its free key and is parked once).
import {
  C_NEXT, C_OBJECTS, CN_EMPTY, CN_FULL, CN_NR_EMPTY, CN_NR_FULL, CN_NR_PARTIAL, CN_PARTIAL, CS_BUDDY,
  CS_FREE, CS_RUN, CT_NODE, CT_RUN_TAIL, DESC_BYTES, DESC_SHIFT, E_CORRUPT, H_CACHE_HEAD, H_NNODES, H_REPORT,
  H_REPORT_COUNT, K_FREE, K_FREE_TAIL, K_LARGE, K_META, K_NONE, K_SLAB, K_TAIL, L_EMPTY, L_FULL, L_PARTIAL,
  MAX_SLAB_ORDER, NR_PAGE_BINS,
  META_PAGES, PAGES_PER_CHUNK, REPORT_ENTRY, REPORT_MAX, USABLE_PAGES, H_NCPUS, MAX_NODES, E_OK, H_BOOT,
  C_FLAGS, F_RED_ZONE, F_POISON, F_INUSE, C_QUAR_COUNT, E_REDZONE, K_MEDIUM, K_MEDIUM_TAIL, N_MEDIUM, MC_NREGIONS,
  H_PRE_LO, DESC_SIZE,
} from "./layout";
import { CacheNode, ChunkHdr, CpuSlot, NodeHdr, PageDesc, Sheaf } from "./structs";
import { HEAP, chunkByte, chunkStart, memoryEnd, nchunks, nodeOf, pageAddr } from "./arena";
import { binOf, nodeAddr, runCapacity } from "./page";
import { cnAddr, listFor } from "./node";
import { slotOf } from "./percpu";
import { BM_COUNT, BM_TAIL, bitmapCheck, objectAt, resolveObject, slabIsFree } from "./slab";
import { sheafEntry } from "./sheaf";
import { debugCheckFree } from "./debugslot";
import { quarantineEntries, quarantineEntry } from "./debug";
import { inuseIsSet } from "./inuse";
import { keyPresent } from "./inuse";
import { parkedTimes } from "./cpu";
import { handleHolds } from "./sheaf";
import { mediumBadAt, mediumValidate } from "./medium";

// Problem kinds written as `code` in the report (E_CORRUPT family, distinguished by sub-code).
export const V_PAGE_COVER: i32 = 100;     // a chunk's pages are not covered exactly once by blocks
export const V_FREE_LIST: i32 = 101;      // a free-run bin entry is wrong (kind, bin, node), bin map off, runs unmerged
export const V_FREE_COUNT: i32 = 102;     // node or chunk free-page count disagrees with the lists
export const V_SLAB_LIST: i32 = 103;      // slab on the wrong list, wrong cache, or wrong node
export const V_SLAB_COUNT: i32 = 104;     // inuse disagrees with the bitmap, or list counts are off
export const V_TAIL: i32 = 105;           // a tail page does not point to its head (or a free run's inside is not zero)
export const V_ARRAY: i32 = 106;          // an array entry is not an allocated object of that cache/node
export const V_BARN: i32 = 107;           // a barn's counts or sheaves are wrong
export const V_REDZONE: i32 = 108;        // a free object's red zone is clobbered (debug caches)
export const V_POISON: i32 = 109;         // a free object's poison is overwritten (debug caches)
export const V_QUARANTINE: i32 = 110;     // a quarantine entry is not an allocated object of its cache
export const V_INUSE: i32 = 111;          // an in-use bit is set on an object free in its slab
export const V_MEDIUM: i32 = 112;         // a medium region's blocks, free lists or counts are wrong (medium.ts)

// Medium regions found by the chunk walk (checkChunks), compared with the nodes' region counts.
let mediumHeads: u32 = 0;

function report(code: i32, addr: usize, cache: usize): void {
  const n = load<u32>(HEAP, H_REPORT_COUNT);
  if (n < REPORT_MAX) {
    const e = HEAP + H_REPORT + n * REPORT_ENTRY;
    store<i32>(e, code);
    store<u32>(e, <u32>addr, 4);
    store<u32>(e, <u32>cache, 8);
  }
  store<u32>(HEAP, n + 1, H_REPORT_COUNT);
}

function checkChunks(): void {
  const total = nchunks();
  for (let i: u32 = 0; i < total; i++) {
    const b = chunkByte(i);
    if ((b & CT_RUN_TAIL) != 0) continue;
    const ch = chunkStart(i);
    const state = changetype<ChunkHdr>(ch).state;
    if (state == CS_RUN) {                                  // page.ts: its chunks, its block committed
      const count = changetype<ChunkHdr>(ch).runChunks;
      if (count == 0 || count > total - i ||
          <u64>ch + DESC_BYTES + changetype<ChunkHdr>(ch).runBytes > memoryEnd() ||
          <u64>changetype<ChunkHdr>(ch).runBytes > <u64>runCapacity(count)) { report(V_PAGE_COVER, ch, 0); continue; }
      for (let k: u32 = 1; k < count; k++) {
        if (chunkByte(i + k) != ((b & CT_NODE) | CT_RUN_TAIL)) report(V_PAGE_COVER, chunkStart(i + k), 0);
      }
      i += count - 1;
      continue;
    }
    if (changetype<ChunkHdr>(ch).kind != K_META) { report(V_PAGE_COVER, ch, 0); continue; }
    if (state == CS_FREE) continue;
    if (state != CS_BUDDY) { report(V_PAGE_COVER, ch, 0); continue; }
    let p: u32 = META_PAGES;
    let free: u32 = 0;
    let lastFree = false;
    while (p < PAGES_PER_CHUNK) {
      const d = ch + (<usize>p << DESC_SHIFT);
      const k = changetype<PageDesc>(d).kind;
      // pages covered: a slab 2^order aligned to its size; a large block or a free run its `objects`
      let len: u32 = k == K_SLAB ? <u32>1 << changetype<PageDesc>(d).order : <u32>changetype<PageDesc>(d).objects;
      if ((k != K_FREE && k != K_SLAB && k != K_LARGE && k != K_MEDIUM) || len == 0 || p + len > PAGES_PER_CHUNK ||
          (k == K_SLAB && (changetype<PageDesc>(d).order > MAX_SLAB_ORDER || (p & (len - 1)) != 0)) ||
          <u32>changetype<PageDesc>(d).node != (<u32>b & CT_NODE)) {
        report(V_PAGE_COVER, d, 0);
        break;
      }
      if (k == K_FREE) {
        if (lastFree) report(V_FREE_LIST, d, 0);           // two adjacent free runs: a merge was missed
        free += len;
        for (let t: u32 = 1; t + 1 < len; t++) {
          if (changetype<PageDesc>(d + (<usize>t << DESC_SHIFT)).kind != K_NONE) { report(V_TAIL, d + (<usize>t << DESC_SHIFT), 0); break; }
        }
        if (len > 1) {
          const td = d + (<usize>(len - 1) << DESC_SHIFT);
          if (changetype<PageDesc>(td).kind != K_FREE_TAIL || <usize>changetype<PageDesc>(td).aux != d) report(V_TAIL, td, 0);
        }
      } else {
        if (k == K_LARGE && changetype<PageDesc>(d).aux == 0) report(V_PAGE_COVER, d, 0);
        if (k == K_MEDIUM) {                                   // a medium region of its node's heap
          mediumHeads++;
          if (changetype<PageDesc>(d).aux != load<u32>(nodeAddr(<u32>b & CT_NODE) + N_MEDIUM)) report(V_MEDIUM, d, 0);
        }
        const tk = k == K_MEDIUM ? K_MEDIUM_TAIL : K_TAIL;
        for (let t: u32 = 1; t < len; t++) {
          const td = d + (<usize>t << DESC_SHIFT);
          if (changetype<PageDesc>(td).kind != tk || <usize>changetype<PageDesc>(td).aux != d ||
              changetype<PageDesc>(td).cache != (k == K_SLAB ? changetype<PageDesc>(d).cache : 0)) { report(V_TAIL, td, 0); break; }
        }
      }
      lastFree = k == K_FREE;
      p += len;
    }
    if (free != changetype<ChunkHdr>(ch).freePages || free == USABLE_PAGES) report(V_FREE_COUNT, ch, 0);
  }
}

// The pre-chunk medium region (layout.ts), when there is one: a K_MEDIUM region of node 0's medium heap
// (counted with the regions the chunk walk finds; mediumValidate walks its blocks).
function checkPre(): void {
  const lo = <usize>load<u32>(HEAP, H_PRE_LO);
  if (lo == 0) return;
  const d = lo - DESC_SIZE;
  mediumHeads++;
  if (changetype<PageDesc>(d).kind != K_MEDIUM || changetype<PageDesc>(d).node != 0 ||
      changetype<PageDesc>(d).aux != load<u32>(nodeAddr(0) + N_MEDIUM)) report(V_MEDIUM, d, 0);
}

function checkNodes(): void {
  const nn = load<u32>(HEAP, H_NNODES);
  checkNodeList(nn);
  if (mediumHeads != 0) report(V_MEDIUM, HEAP + H_NNODES, 0);  // a region on no node's list, or a count off
}

function checkNodeList(nn: u32): void {
  for (let node: u32 = 0; node < nn; node++) {
    const n = nodeAddr(node);
    let pages: u32 = 0;
    for (let bin: u32 = 0; bin < NR_PAGE_BINS; bin++) {
      let d = <usize>load<u32>(changetype<NodeHdr>(n).freeListAt(bin));
      const mapped = (changetype<NodeHdr>(n).binMap & (<u32>1 << bin)) != 0;
      if (mapped != (d != 0)) report(V_FREE_LIST, n, 0);  // the bin map disagrees with the list
      let guard: u32 = 0;
      while (d != 0 && guard++ < 1 << 24) {
        const len = <u32>changetype<PageDesc>(d).objects;
        if (changetype<PageDesc>(d).kind != K_FREE || len == 0 || binOf(len) != bin || <u32>changetype<PageDesc>(d).node != node ||
            nodeOf(d) != node) {
          report(V_FREE_LIST, d, 0);
          break;
        }
        pages += len;
        d = <usize>changetype<PageDesc>(d).next;
      }
    }
    // The top run (page.ts: a free run on no bin; its run checked with its chunk's): counted when it is a
    // free run's head, so a wrong one (or one on a list too, or another node's) shows as a wrong count below.
    const t = <usize>changetype<NodeHdr>(n).top;
    if (t != 0 && changetype<PageDesc>(t).kind == K_FREE) pages += <u32>changetype<PageDesc>(t).objects;
    let chunks: u32 = 0;
    let ch = <usize>changetype<NodeHdr>(n).freeChunkHead;
    while (ch != 0) {
      if (changetype<ChunkHdr>(ch).state != CS_FREE || nodeOf(ch) != node) { report(V_FREE_LIST, ch, 0); break; }
      chunks++;
      ch = <usize>changetype<ChunkHdr>(ch).next;
    }
    if (chunks != changetype<NodeHdr>(n).nrFreeChunks) report(V_FREE_COUNT, n, 0);
    const mc = <usize>load<u32>(n + N_MEDIUM);                // the node's medium heap, block by block
    if (mc != 0) {
      if (mediumValidate(node) != 0) report(V_MEDIUM, mediumBadAt, 0);
      mediumHeads -= load<u32>(mc + MC_NREGIONS);
    }
    if (pages + chunks * USABLE_PAGES != changetype<NodeHdr>(n).freePages) report(V_FREE_COUNT, n, 0);
  }
}

function checkSlabList(c: usize, node: u32, head: usize, which: u8, countOff: u32): u32 {
  const cn = cnAddr(c, node);
  const objects = load<u32>(c, C_OBJECTS);
  let count: u32 = 0;
  let d = <usize>load<u32>(head);
  while (d != 0) {
    count++;
    if (changetype<PageDesc>(d).kind != K_SLAB || <usize>changetype<PageDesc>(d).cache != c || changetype<PageDesc>(d).list != which ||
        <u32>changetype<PageDesc>(d).node != node || <u32>changetype<PageDesc>(d).objects != objects) {
      report(V_SLAB_LIST, d, c);
      break;
    }
    const bad = bitmapCheck(c, d);                             // slab.ts: the one bitmap check
    if ((bad & BM_TAIL) != 0) report(V_SLAB_COUNT, d, c);      // bits past the last object
    if ((bad & BM_COUNT) != 0) report(V_SLAB_COUNT, d, c);     // inuse disagrees with the bitmap
    if (listFor(<u32>changetype<PageDesc>(d).inuse, objects) != which) report(V_SLAB_LIST, d, c);
    checkObjects(c, d, objects);
    d = <usize>changetype<PageDesc>(d).next;
  }
  if (count != load<u32>(cn + countOff)) report(V_SLAB_COUNT, cn, c);
  return count;
}

// Per object of slab d: red zones and poison of free objects (debug caches), and in-use bits only on
// allocated objects (F_INUSE).
function checkObjects(c: usize, d: usize, objects: u32): void {
  const flags = load<u32>(c, C_FLAGS);
  if ((flags & (F_RED_ZONE | F_POISON | F_INUSE)) == 0) return;
  for (let i: u32 = 0; i < objects; i++) {
    if (!slabIsFree(d, i)) continue;                                                // allocated
    const p = objectAt(c, d, i);
    if ((flags & F_INUSE) != 0 && inuseIsSet(c, p)) report(V_INUSE, p, c);
    const e = debugCheckFree(c, p);
    if (e != E_OK) report(e == E_REDZONE ? V_REDZONE : V_POISON, p, c);
  }
}

// Every entry of a sheaf is an allocated object of cache c (of `node` when ≥ 0) that no user holds.
function checkSheaf(c: usize, s: usize, node: i32, handles: bool): void {
  const n = changetype<Sheaf>(s).count;
  if (n > changetype<Sheaf>(s).cap) { report(V_ARRAY, s, c); return; }
  const inuse = (load<u32>(c, C_FLAGS) & F_INUSE) != 0;
  for (let i: u32 = 0; i < n; i++) {
    const p = <usize>load<u32>(sheafEntry(s, i));
    // allocated in its slab, of the right node, not in a user's hands (in-use bit clear; free key there:
    // harden.ts), and parked exactly once anywhere (arrays, spares, barns, alien arrays, prefill handles)
    if (resolveObject(c, p) == 0 || (node >= 0 && nodeOf(p) != <u32>node) ||
        (inuse && inuseIsSet(c, p)) || !keyPresent(c, p) || parkedTimes(c, p, handles) != 1) {
      report(V_ARRAY, p, c);
      return;
    }
  }
}

// Quarantined objects: allocated objects of c, no more remembered than counted.
function checkQuarantine(c: usize): void {
  const n = quarantineEntries(c);
  if (n > load<u32>(c, C_QUAR_COUNT)) report(V_QUARANTINE, c, c);
  for (let k: u32 = 0; k < n; k++) {
    const p = quarantineEntry(c, k);
    if (resolveObject(c, p) == 0) { report(V_QUARANTINE, p, c); return; }
  }
}

function checkCache(c: usize): void {
  const nn = load<u32>(HEAP, H_NNODES);
  const handles = handleHolds(c, 0) != 0;      // prefill handles out: their entries count as parked too
  for (let node: u32 = 0; node < nn; node++) {
    const cn = cnAddr(c, node);
    let slabs = checkSlabList(c, node, cn + CN_PARTIAL, L_PARTIAL, CN_NR_PARTIAL);
    slabs += checkSlabList(c, node, cn + CN_FULL, L_FULL, CN_NR_FULL);
    slabs += checkSlabList(c, node, cn + CN_EMPTY, L_EMPTY, CN_NR_EMPTY);
    if (slabs * load<u32>(c, C_OBJECTS) != changetype<CacheNode>(cn).totalObjects) report(V_SLAB_COUNT, cn, c);
    let k: u32 = 0;
    let s = <usize>changetype<CacheNode>(cn).barnFull;
    while (s != 0) {
      k++;
      if (changetype<Sheaf>(s).count != changetype<Sheaf>(s).cap) report(V_BARN, s, c);
      checkSheaf(c, s, -1, handles);
      s = <usize>changetype<Sheaf>(s).next;
    }
    if (k != changetype<CacheNode>(cn).barnNrFull) report(V_BARN, cn, c);
    k = 0;
    s = <usize>changetype<CacheNode>(cn).barnEmpty;
    while (s != 0) {
      k++;
      if (changetype<Sheaf>(s).count != 0) report(V_BARN, s, c);
      s = <usize>changetype<Sheaf>(s).next;
    }
    if (k != changetype<CacheNode>(cn).barnNrEmpty) report(V_BARN, cn, c);
  }
  checkQuarantine(c);
  const ncpus = load<u32>(HEAP, H_NCPUS);
  for (let cpu: u32 = 0; cpu < ncpus; cpu++) {
    const slot = slotOf(c, cpu);
    checkSheaf(c, <usize>changetype<CpuSlot>(slot).main, -1, handles);
    checkSheaf(c, <usize>changetype<CpuSlot>(slot).spare, -1, handles);
    for (let n: u32 = 0; n < MAX_NODES; n++) {
      const a = <usize>load<u32>(changetype<CpuSlot>(slot).alienAt(n));
      if (a == 0) continue;
      if (changetype<Sheaf>(a).node != n) report(V_ARRAY, a, c);
      checkSheaf(c, a, <i32>n, handles);
    }
  }
}

// Walk everything; returns the number of problems (the first REPORT_MAX are in the report area).
export function validate(): u32 {
  store<u32>(HEAP, 0, H_REPORT_COUNT);
  mediumHeads = 0;
  checkPre();
  checkChunks();
  checkNodes();
  checkCache(HEAP + H_BOOT);
  let c = <usize>load<u32>(HEAP, H_CACHE_HEAD);
  while (c != 0) {
    if (c != HEAP + H_BOOT) checkCache(c);
    c = <usize>load<u32>(c, C_NEXT);
  }
  return load<u32>(HEAP, H_REPORT_COUNT);
}
