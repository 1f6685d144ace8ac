// footprint.ts — where every byte above the heap base goes: a read-only walk of the whole heap.
//
// Owns: the footprint results (FP_* slots below, per-instance globals) and nothing in memory: it writes
// no byte. Entry points: footprintWalk(), then footprintResult(slot).
// Called by: index.ts (heap_footprint), read by bindings/footprint.ts. Calls arena/page/cpu/slab reads
// only (nchunks, chunkStart, parkedObjects) and medium.ts's region walk (mediumWalkBegin / mediumFreeNext).
//
// Call tree:
//   footprintWalk ─ header: [heapBase, chunkBase), or [heapBase, the pre-chunk region's descriptor), the
//                 │   descriptor, then the region (mediumWalk) up to chunkBase
//                 ├ per chunk ─ run (CS_RUN): descriptors, requested bytes, tail of its chunks
//                 │           ├ free chunk (CS_FREE): descriptors, free pages
//                 │           └ page-run chunk: descriptors, then block by block by descriptor kind:
//                 │                 K_FREE → free pages (a run); K_LARGE → requested bytes + tail; K_SLAB → slabWalk;
//                 │                 K_MEDIUM → mediumWalk (free blocks, live blocks' usable bytes, headers,
//                 │                 parked blocks)
//                 ├ per cache (the heap's list): parked objects (arrays, barns, quarantine) move from
//                 │   allocated to parked
//                 └ memory past the last chunk
//
// Every range is clipped to memory.size(): the top chunk is committed lazily, so a free block there, or
// the tail of a run whose last chunk it is (committed to the block's end: page.ts), may reach past the
// end of memory, and only the committed part is counted. A free range that lies above
// the heap's high-water mark (arena.ts: the end of every block ever handed out) is "untouched": grown
// (in 64 KiB steps by memory.grow, or present before init) but never handed out.
//
// The categories sum exactly to memory bytes − heapBase (FP_TOTAL): each byte is counted once, by the
// one range that covers it. FP_OTHER holds bytes the walk could not name; it stays 0 on a sound heap
// (test/footprint.test.ts checks it).
import {
  C_DEBUG_OFF, C_FLAGS, C_NEXT, C_OBJ_OFFSET, C_OBJECTS, C_ORDER, C_QUAR_COUNT, C_SIZE, C_STRIDE,
  CHUNK_SHIFT, CS_FREE, CS_RUN, DESC_BYTES, DESC_SHIFT, F_INTERNAL, F_KMALLOC, H_CACHE_HEAD, H_CHUNK_BASE,
  H_HEAP_BASE, H_HIGH_WATER, K_FREE, K_LARGE, K_SLAB, PAGE_SHIFT, PAGE_SIZE, PAGES_PER_CHUNK,
  META_PAGES, K_MEDIUM, H_PRE_LO, DESC_SIZE,
} from "./layout";
import { ChunkHdr, PageDesc } from "./structs";
import { HEAP, chunkStart, memoryEnd, nchunks } from "./arena";
import { BOOT } from "./cache";
import { parkedObjects } from "./cpu";
import { mediumFreeNext, mediumFreeSize, mediumWalkBegin, walkBlocks, walkMeta, walkOwn, walkParked, walkUsable } from "./medium";

// Result slots (f64 each), in the order bindings/footprint.ts reads them.
export const FP_TOTAL: u32 = 0;        // memory bytes − heapBase
export const FP_HEADER: u32 = 1;       // [heapBase, chunkBase): alignment, heap header, boot cache struct,
                                       // kmem_caches in the header cache slots (cache.ts); not the
                                       // pre-chunk medium region (walked as a region) or its descriptor
export const FP_META: u32 = 2;         // descriptor pages of every chunk; in-slab bitmaps (before slot 0)
export const FP_INTERNAL: u32 = 3;     // slabs of the heap's own caches (kmem_cache structs, sheaves, quarantine),
                                       // and own medium blocks (a small heap's kmem_caches and sheaves)
export const FP_LIVE: u32 = 4;         // user caches: object size × objects handed out; large blocks: requested
export const FP_ROUNDING: u32 = 5;     // (stride − size) × objects handed out: alignment, debug extras
export const FP_KM_USABLE: u32 = 6;    // malloc classes: class size × objects handed out (requested: unknown here)
export const FP_SLAB_TAIL: u32 = 7;    // slab bytes after the last object
export const FP_SLAB_FREE: u32 = 8;    // free objects in slabs (stride each)
export const FP_PARKED: u32 = 9;       // objects in per-CPU main/spare/alien arrays, barns, quarantine;
                                       // parked medium blocks (medium.ts park: whole blocks)
export const FP_FREE: u32 = 10;        // free page runs and free chunks, below the high-water mark
export const FP_LARGE_TAIL: u32 = 11;  // large blocks and runs: bytes kept beyond the request
export const FP_UNTOUCHED: u32 = 12;   // grown, never handed out (above the high-water mark)
export const FP_OTHER: u32 = 13;       // bytes no category names (0 on a sound heap)
export const FP_KM_OBJECTS: u32 = 14;  // malloc class objects handed out (a count, not bytes)
export const FP_LARGE_REQUESTED: u32 = 15; // part of FP_LIVE: requested bytes of malloc's large blocks and runs
export const FP_SLOTS: u32 = 16;

// The results live in per-instance globals, not in memory: the walk writes no byte anywhere (a static
// data segment would sit below the heap base, in the embedder's memory).
let r0: f64 = 0, r1: f64 = 0, r2: f64 = 0, r3: f64 = 0, r4: f64 = 0, r5: f64 = 0, r6: f64 = 0, r7: f64 = 0;
let r8: f64 = 0, r9: f64 = 0, r10: f64 = 0, r11: f64 = 0, r12: f64 = 0, r13: f64 = 0, r14: f64 = 0, r15: f64 = 0;

// Per-walk state (one walk at a time; the walk calls nothing that re-enters).
let memEnd: u64 = 0;          // 2^32 for a 65536-page memory (arena.ts memoryEnd)
let highWater: usize = 0;

function put(slot: u32, v: f64): void {
  switch (slot) {
    case 0: r0 += v; break;   case 1: r1 += v; break;   case 2: r2 += v; break;   case 3: r3 += v; break;
    case 4: r4 += v; break;   case 5: r5 += v; break;   case 6: r6 += v; break;   case 7: r7 += v; break;
    case 8: r8 += v; break;   case 9: r9 += v; break;   case 10: r10 += v; break; case 11: r11 += v; break;
    case 12: r12 += v; break; case 13: r13 += v; break; case 14: r14 += v; break; default: r15 += v;
  }
}

// Result slot `slot` of the last walk.
export function footprintResult(slot: u32): f64 {
  switch (slot) {
    case 0: return r0;   case 1: return r1;   case 2: return r2;   case 3: return r3;
    case 4: return r4;   case 5: return r5;   case 6: return r6;   case 7: return r7;
    case 8: return r8;   case 9: return r9;   case 10: return r10; case 11: return r11;
    case 12: return r12; case 13: return r13; case 14: return r14; case 15: return r15;
  }
  return 0;
}

// Count [a, a + len) in `slot`, clipped to memory (in u64: the range may end at 2^32).
function range(slot: u32, a: usize, len: usize): void {
  if (<u64>a >= memEnd) return;
  const end = <u64>a + len > memEnd ? memEnd : <u64>a + len;
  put(slot, <f64>(end - a));
}

// A free range: the part below the high-water mark is free, the rest untouched.
function freeRange(a: usize, len: usize): void {
  if (<u64>a + len <= <u64>highWater) { range(FP_FREE, a, len); return; }
  if (a >= highWater) { range(FP_UNTOUCHED, a, len); return; }
  range(FP_FREE, a, highWater - a);
  range(FP_UNTOUCHED, highWater, <usize>(<u64>a + len - highWater));
}

// A slab of `cache` whose head descriptor is d, at address a. Parked objects are counted as handed out
// here and moved to FP_PARKED per cache afterwards.
function slabWalk(cache: usize, d: usize, a: usize): void {
  const bytes = <usize>PAGE_SIZE << load<u32>(cache, C_ORDER);
  const flags = load<u32>(cache, C_FLAGS);
  if ((flags & (F_INTERNAL | F_KMALLOC)) == F_INTERNAL) { range(FP_INTERNAL, a, bytes); return; }
  // slots start at the object offset less a debug cache's left red zone (C_DEBUG_OFF, debug.ts)
  const off = <usize>(load<u32>(cache, C_OBJ_OFFSET) - load<u32>(cache, C_DEBUG_OFF));
  const objects = <usize>load<u32>(cache, C_OBJECTS);
  const stride = <usize>load<u32>(cache, C_STRIDE);
  const size = <usize>load<u32>(cache, C_SIZE);
  const inuse = <usize>changetype<PageDesc>(d).inuse;
  range(FP_META, a, off);
  range(FP_SLAB_TAIL, a + off + objects * stride, bytes - off - objects * stride);
  put(FP_SLAB_FREE, <f64>((objects - inuse) * stride));
  put(FP_ROUNDING, <f64>(inuse * (stride - size)));     // alignment and debug extras (red zones, tracks)
  if ((flags & F_KMALLOC) != 0) {
    put(FP_KM_USABLE, <f64>(inuse * size));
    put(FP_KM_OBJECTS, <f64>inuse);
  } else put(FP_LIVE, <f64>(inuse * size));
}

// Objects allocated in slabs but handed to nobody: move them from the handed-out slots to FP_PARKED.
function parkedWalk(): void {
  let c = <usize>load<u32>(HEAP, H_CACHE_HEAD);
  while (c != 0) {
    const flags = load<u32>(c, C_FLAGS);
    if (c != BOOT && (flags & (F_INTERNAL | F_KMALLOC)) != F_INTERNAL) {
      const k = <usize>(parkedObjects(c) + load<u32>(c, C_QUAR_COUNT));
      const stride = <usize>load<u32>(c, C_STRIDE);
      const size = <usize>load<u32>(c, C_SIZE);
      put(FP_PARKED, <f64>(k * stride));
      put(FP_ROUNDING, -<f64>(k * (stride - size)));
      if ((flags & F_KMALLOC) != 0) {
        put(FP_KM_USABLE, -<f64>(k * size));
        put(FP_KM_OBJECTS, -<f64>k);
      } else put(FP_LIVE, -<f64>(k * size));
    }
    c = <usize>load<u32>(c, C_NEXT);
  }
}

// A medium region: free blocks are free (or untouched) bytes; live blocks count their usable bytes as
// malloc class bytes (requested: unknown here, as for a class object), own blocks (the heap's own
// kmem_caches and sheaves: medium.ts mediumAllocOwn) as internal bytes, and their 8-byte header as
// metadata, as are the control block, the region's first 8 bytes and its sentinel.
function mediumWalk(d: usize): void {
  mediumWalkBegin(d);
  for (let b = mediumFreeNext(); b != 0; b = mediumFreeNext()) freeRange(b, <usize>mediumFreeSize);
  put(FP_META, <f64>walkMeta);
  put(FP_KM_USABLE, <f64>walkUsable);
  put(FP_INTERNAL, <f64>walkOwn);
  put(FP_KM_OBJECTS, <f64>walkBlocks);
  put(FP_PARKED, <f64>walkParked);
}

// The pages of the chunk at ch (pages META_PAGES..255): free runs, slabs, large blocks.
function chunkWalk(ch: usize): void {
  let p: u32 = META_PAGES;
  while (p < PAGES_PER_CHUNK) {
    const d = ch + (<usize>p << DESC_SHIFT);
    const a = ch + (<usize>p << PAGE_SHIFT);
    const kind = changetype<PageDesc>(d).kind;
    let pages: u32 = 1;
    if (kind == K_FREE) {
      pages = <u32>changetype<PageDesc>(d).objects;             // a free page run: its length
      freeRange(a, <usize>pages << PAGE_SHIFT);
    } else if (kind == K_SLAB) {
      const cache = <usize>changetype<PageDesc>(d).cache;
      pages = <u32>1 << load<u32>(cache, C_ORDER);
      slabWalk(cache, d, a);
    } else if (kind == K_LARGE && changetype<PageDesc>(d).aux != 0) {
      pages = <u32>changetype<PageDesc>(d).objects;           // the whole block
      const bytes = <usize>changetype<PageDesc>(d).aux;
      range(FP_LIVE, a, bytes);
      range(FP_LARGE_TAIL, a + bytes, (<usize>pages << PAGE_SHIFT) - bytes);
      put(FP_LARGE_REQUESTED, <f64>bytes);
    } else if (kind == K_MEDIUM) {
      pages = <u32>changetype<PageDesc>(d).objects;           // a medium region (medium.ts)
      mediumWalk(d);
    } else {
      range(FP_OTHER, a, PAGE_SIZE);                 // a page no block covers: a broken heap
    }
    p += pages;
  }
}

// Walk the heap; footprintResult(slot) reads the FP_SLOTS results.
export function footprintWalk(): void {
  r0 = r1 = r2 = r3 = r4 = r5 = r6 = r7 = r8 = r9 = r10 = r11 = r12 = r13 = r14 = r15 = 0;
  memEnd = memoryEnd();
  highWater = <usize>load<u32>(HEAP, H_HIGH_WATER);
  const heapBase = <usize>load<u32>(HEAP, H_HEAP_BASE);
  const chunkBase = <usize>load<u32>(HEAP, H_CHUNK_BASE);
  put(FP_TOTAL, <f64>(memEnd - heapBase));
  const pre = <usize>load<u32>(HEAP, H_PRE_LO);                 // the pre-chunk medium region (0: none)
  if (pre != 0) {
    range(FP_HEADER, heapBase, pre - DESC_SIZE - heapBase);
    range(FP_META, pre - DESC_SIZE, DESC_SIZE);                 // its descriptor
    mediumWalk(pre - DESC_SIZE);                                // [pre, chunkBase)
  } else range(FP_HEADER, heapBase, chunkBase - heapBase);
  const n = nchunks();
  let i: u32 = 0;
  while (i < n) {
    const ch = chunkStart(i);
    const state = changetype<ChunkHdr>(ch).state;
    range(FP_META, ch, DESC_BYTES);
    if (state == CS_RUN) {
      const count = changetype<ChunkHdr>(ch).runChunks;
      const bytes = <usize>changetype<ChunkHdr>(ch).runBytes;
      range(FP_LIVE, ch + DESC_BYTES, bytes);
      range(FP_LARGE_TAIL, ch + DESC_BYTES + bytes, (<usize>count << CHUNK_SHIFT) - DESC_BYTES - bytes);
      put(FP_LARGE_REQUESTED, <f64>bytes);
      i += count;
      continue;
    }
    if (state == CS_FREE) freeRange(ch + DESC_BYTES, (<usize>1 << CHUNK_SHIFT) - DESC_BYTES);
    else chunkWalk(ch);
    i++;
  }
  freeRange(chunkStart(n), memEnd > <u64>chunkStart(n) ? <usize>(memEnd - chunkStart(n)) : 0); // past the last chunk
  parkedWalk();
}
