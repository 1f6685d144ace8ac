// medium.ts — the medium heap: malloc blocks of any 16-byte multiple inside page runs ("regions") taken
// from page.ts, with boundary tags, immediate coalescing and TLSF-style segregated free lists (a
// two-level bitmap finds a good fit in constant time). One medium heap per node.
//
// Owns: the K_MEDIUM / K_MEDIUM_TAIL descriptors, every byte inside a region (block headers, free-list
// links, footers, the sentinel), the control block of each node (its first block), and the node header's
// N_MEDIUM word. Layout drawn in layout.ts ("medium blocks").
// Entry points:
//   mediumAlloc(node, bytes) → user pointer, or 0 (no free block fits and no region could grow in place:
//       the caller takes a region with its own growth policy and calls mediumAddRegion)
//   mediumAddRegion(node, d, pages, bytes) → user pointer of a `bytes` block in the new region at d (threads:
//       or, when a block fits by now, that block, and the pages go back)
//   mediumCheck(ptr) → E_OK for a live block start, else why not (changes nothing, never traps);
//       mediumLiveSize(d, ptr) → its usual case inlined (the block's size, or 0), kmalloc.ts krealloc;
//       mediumPreHolds(ptr) + mediumPreHeader(ptr) → the same test in two parts for the pre-chunk region
//       (krealloc's front: its bounds without a descriptor); mediumPreKeeps(ptr, want) → the front's
//       usual case (a live block that keeps its block) in one test
//   mediumFree(ptr) → E_OK, or the code mediumCheck gives (then nothing changed)
//   mediumRegionAt(pd) → the region of a page descriptor, and mediumCheckIn / mediumFreeIn / mediumResizeIn:
//       the same three for a caller that has the region already (kmalloc.ts classify read the descriptor)
//   mediumAllocWith(node, bytes, flags) (kmalloc.ts lend / borrow: a plain block, flags 0, off mediumMalloc's path),
//   mediumAllocOwn(node, bytes) / mediumFreeOwn(ptr) / mediumOwnAt(ptr): an own block (O flag,
//       layout.ts), the heap's own structure in a small heap (cache.ts kmem_caches, sheaf.ts sheaves):
//       taken from a free block or a region grown in place only (never a new region), refused by free(),
//       realloc and mediumRange like the control block, counted as internal bytes by the footprint walk
//   mediumResize(ptr, bytes) → true when the block now holds `bytes` in place (shrunk by a split, or grown
//       into the free block after it or into pages after its region)
//   mediumUnparkAll() → node 0's parked blocks back to the free lists (reclaim.ts heapShrink)
//   mediumPages(node), mediumUsable(ptr), mediumBlockSize(bytes), mediumRegionPages(node, bytes), mediumRange(p, bytes),
//   regionOf(ptr) → the region's first descriptor
//   mediumPreInit(from) → the pre-chunk region (layout.ts): node 0's home region in the gap in front of chunk
//       0, in no chunk, with one descriptor of its own just before it (cache.ts heapInit, once)
//   mediumValidate(node) → problems, mediumBadAt (validate.ts); mediumWalkBegin(d) / mediumFreeNext() and
//   the walk totals (footprint.ts)
// Called by: kmalloc.ts (malloc, free, realloc, usable size), validate.ts, footprint.ts, reclaim.ts (shrink), index.ts
// (callerRange, knownCache), cache.ts and sheaf.ts (own blocks). Calls page.ts (pagesExtendUpTo / pagesTrim /
// pagesFree: regions grow, shrink and go back),
// arena.ts (pageOf / pageAddr), list.ts, sync.ts.
//
// Call tree:
//   mediumAlloc ─ lock ─ unpark (a parked block of exactly the size, when the park filter has its bit:
//               │      pre-chunk region only)
//               │      ├ findFit (exact list, then the next non-empty larger list: the best, then lowest,
//               │      │        of the first FIT_SCAN entries; with INLINE_PATHS its body, fitIn, inlined)
//               │      └ none: parkFlush and findFit again; growRegion (a region whose end borders a free page
//               │        run: pagesExtendUpTo)
//               └ takeBlock (split off the rest: linkFree; with INLINE_PATHS its body, takeIn, inlined, its list
//                 operations too), or takeTail (a small block from the end of a free
//                 block of the pre-chunk region: the rest stays first on its list, re-sized in place, when it
//                 can: relink)
//   mediumAddRegion ─ lock ─ findFit: a fit by now (threads) → pagesFree the new pages; else regionInit,
//                   │        findFit (the new region's block)
//                   └ takeBlock
//   mediumFree / mediumFreeIn (kmalloc.ts kfreeSlow) ─ lock ─ checkIn (once; mediumFreeIn with INLINE_PATHS:
//                                      │   its usual case inlined, mediumLiveSize)
//                                      ├ a small block of the pre-chunk region: park (the oldest of a full
//                                      │   list: releaseBlock)
//                                      └ releaseBlock (mediumFreeIn with INLINE_PATHS: its body, release,
//                                                │   inlined) ─ only the block before free, first on a list
//                                                │   the merged block stays on: merged in place
//                                                ├ else coalesce with the next and previous free blocks
//                                                └ its region's last block: releaseEnd ─ a non-home region
//                                                    wholly free: pagesFree (back to page.ts); a free tail of
//                                                    ≥ TRIM_PAGES pages: pagesTrim
//   mediumResize ─ lock ─ grow into the next free block whose rest stays first on its list (relinkFirst
//                │        inlined: realloc's usual grow); anything else resizeRest: shrink: split; grow:
//                │        absorb the next free block (its rest: relink), or extend the region
//   (growRegion: pagesExtendUpTo, the pages it needs and, at the heap's top, up to a 64 KiB boundary; below
//   the top, up to GROW_MORE more when the free run after the region has them)
//
// Hostile pointers: a pointer is a live block start only when it is 16-aligned, its header lies inside its
// region with room for a block, the header's size keeps the block inside the region, the check word is
// keyOf(block, size), and F is clear. Coalescing writes a dead header (F, size 0, keyOf(block, 0)) over
// every header it absorbs, so no header inside a block (free or live) ever passes as a live one; a
// double free finds F (its own free header, or the dead one) and gets E_DOUBLE_FREE. Known limit: a
// program that writes a valid header for an address inside its own block (knowing the constant) forges a
// block, as it could forge any allocator's metadata.
//
// Locking (threaded build): a node's medium heap is guarded by the lock word in its control block
// (MC_LOCK). Its rank is that of a cache-node lock (sync.ts rank 1: it lies outside the node structs):
// held, it may take the node page lock (page.ts, rank 2) and the grow lock (rank 3), never the reverse;
// it is never held across a host call. Creating a node's control block (its first region) takes the heap
// lock (rank 0) first, then the new control lock. kmalloc's checks before the lock (classify for usable size,
// mediumLiveSize / mediumPreHeader for realloc) only read one header inside the region's pages; a realloc that keeps its block
// answers from that read with no lock and writes nothing (a live block's size changes only by its owner's
// realloc or free; the neighbours' frees write only its P flag); mediumFree and mediumResize check under
// the lock (free: once, kfreeSlow classifies a medium page without its header), and in the threaded build first make
// sure the region is still the one found before the lock. The lock they take is named by the region's node
// byte (regionControl), not by its aux, and a tail's aux is followed only within its chunk's descriptors
// (mediumRegionAt): descriptors read before the lock may belong to pages given back and reused since.
//
// Invariants (mediumValidate checks them):
//   the blocks of a region tile [r + 8, r + pages × 4 KiB − 8) exactly; each header passes its check
//   no two free blocks are adjacent; P of a header ⇔ the block before it is free; a free block's last u32
//   is its size
//   a free block is on the list mapping(size) of its node; flMap / slMap bits ⇔ non-empty lists
//   MC_PAGES = Σ region pages, MC_FREE_BYTES = Σ free block sizes (whenever the lock is free: INLINE_PATHS
//   updates it once per take or release), MC_BLOCKS = live blocks (own blocks
//   included; control and sentinels excluded) of the node; an own block is never free
//   a region other than the home one is never wholly free (it goes back to page.ts at once)
//   the pre-chunk region (isPre(d): d = PRE_LO − DESC_SIZE), when there is one, is node 0's home region: its
//   bytes are [PRE_LO, chunkBase) (regionStart / regionEnd), its `objects` their whole pages, it has no
//   tail descriptors, and it is never grown (growRegion), trimmed or given back (releaseBlock); small blocks
//   cut from its free blocks come from their ends (preTop / takeTail)
import {
  CT_RUN_TAIL, E_DOUBLE_FREE, E_NOT_OBJECT, E_NOT_OURS, E_OK, K_MEDIUM, K_MEDIUM_TAIL, MB_F_FREE, MB_F_PREV_FREE,
  MB_F_OWN, MB_F_RESERVED, MB_FL_COUNT, MB_FLAGS, MB_GRAIN, MB_HDR, MB_LIST, MB_MIN, MB_SL_COUNT, MB_SL_SHIFT, MB_SMALL, MC_BLOCKS,
  MC_FL_MAP, MC_FREE_BYTES, MC_HEADS, MC_LOCK, MC_NODE, MC_NREGIONS, MC_PAGES, MC_PARK, MC_PARKED, MC_REGIONS, MC_SIZE, MC_SL_MAP, N_MEDIUM,
  PAGE_SHIFT, PAGE_SIZE, USABLE_PAGES, H_HIGH_WATER, K_FREE, DESC_SHIFT, PAGES_PER_CHUNK, CHUNK_SIZE, DESC_BYTES, MAX_NODES, DESC_SIZE, PRE_MIN_BYTES,
} from "./layout";
import { PageDesc } from "./structs";
import { CHUNK_BASE, HEAP, PRE_FRONT, PRE_LO, chunkByteOf, inPre, pageAddr, pageOf, setPreRegion } from "./arena";
import { nodeAddr, pageIndex, pagesExtendUpTo, pagesFree, pagesTrim } from "./page";
import { listPush, listRemove } from "./list";
import { THREADED, heapLock, heapUnlock, lock, publish, readShared, unlock } from "./sync";

// ---- tuning (measured: README "Medium blocks") -----------------------------------------------------------
// Entries of the exact-size list (and of the next larger one) looked at for a best fit. Measured 1, 8,
// 32, 64: the same utilization on every trace (bench/util-peers.mjs); each entry looked at is a cache
// miss on a block header, so 1 (TLSF's good fit: the list's first block) is the fastest.
const FIT_SCAN: u32 = 1;
// A free block at a region's end of at least this many whole pages goes back to page.ts (pagesTrim).
const TRIM_PAGES: u32 = 16;
// A new region is at least this many pages (the home region: its first request plus the control block),
// and at least 1/2^REGION_GROWTH_SHIFT of the pages the node's regions hold already: a small heap takes
// near-exact pages, a large one fewer, larger regions (fewer region ends that split free space).
// REGION_MIN_PAGES measured 1..4 with the pre-chunk region (bench/util-peers.mjs; bench/PROFILE.md
// "Pre-chunk medium region"): 2 lets a cold class's first loans and the next mid-size block share one
// region instead of leaving two partial-page tails (cp-decl-bal −3.9 → −2.0, amptjp-bal −3.0 → −0.0
// points from dlmalloc); 3 and 4 cost perl a Wasm page. Each of these traces sits within a page of a
// 64 KiB boundary at its peak, so one region's tail decides a whole Wasm page.
const REGION_MIN_PAGES: u32 = 2;
const REGION_GROWTH_SHIFT: u32 = 2;
const REGION_GROWN_MAX: u32 = 64;
// (Measured and not kept, bench/PROFILE.md "Medium heap and page runs, session 5": a designated victim —
// a free block on no list, dlmalloc's dv, or a region's last free block as its top — served almost no
// request here and cost +26 instructions per operation on random-bal; TRIM_PAGES 32 or 64: no gain.)
// Regions tried for growth in place before the caller takes a new region.
const GROW_TRIES: u32 = 64;
// A region grown in place at the heap's top takes the free pages after it up to the next multiple of
// GROW_ALIGN bytes (memory.grow's unit: those pages are committed anyway; page.ts pagesExtendUpTo gives
// pages past the need only above the high-water mark), and at most 1/2^GROW_SLACK_SHIFT of the heap's
// pages more than it needs (a small heap's regions take only what they need: cp-decl-bal −1.9 points
// with 1/32). Measured (bench/util-peers.mjs): random-bal −2.7 → −1.2 points from dlmalloc, no trace
// lower; bench/PROFILE.md "Medium heap and page runs, session 5".
const GROW_ALIGN: usize = 64 << 10;
const GROW_SLACK_SHIFT: u32 = 8;
// Pages a region grown in place below the heap's top takes past its need, when they follow it free
// (fewer grows when a heap grows back: the pages were handed out before, so the footprint is the same;
// they are the region's free tail until its last block is freed, then trimmed at TRIM_PAGES as any tail).
// Measured 8 and 15 (bench/PROFILE.md "Big medium blocks, session 7"): random-bal 442.8 → 439.3 → 426.7
// allocator instructions per operation; 15, 47 and 111 (bench/PROFILE.md "Region tops, session 10"):
// 290.5 → 284.1 → 281.8, utilization the same on every trace (bench/util-peers.mjs). 47 keeps a region's
// spare pages under 200 KB.
const GROW_MORE: u32 = 47;
// Build constant (asc --use MEDIUM_INLINE=1; asconfig.json: the merge target, dist/slab-merge.wasm, the
// C programs' malloc): the usual malloc and free each in one function, their list work inlined
// (allocBlock's fitIn / takeIn, freeIn's release: bench/PROFILE.md "Medium blocks in one function"). The
// other targets leave it unset and call findFit / takeBlock / releaseBlock: the browser bundle's bytes
// (test/package-size.test.ts).
// @ts-ignore: MEDIUM_INLINE is defined by `asc --use MEDIUM_INLINE=n` when a target sets it
@inline export const INLINE_PATHS: bool = isDefined(MEDIUM_INLINE) ? MEDIUM_INLINE != 0 : false;
// Blocks up to this size taken from the pre-chunk region's last free block come from its end (preTop).
const PRE_TAIL_MAX: u32 = 2048;
// Parked blocks (layout.ts "Parked blocks"; park / unpark): a block of the pre-chunk region of at most
// PARK_MAX bytes (every loan and chunkless block of kmalloc.ts lend / borrow, whose classes end at 4 KiB,
// and the medium blocks up to 8 KiB) freed while fewer than PARK_DEPTH are parked stays whole for the next
// request of its size; the oldest goes back (releaseBlock) when a ninth comes, all of them when a request
// finds no fit. bench/PROFILE.md "Parked loans": short1-bal's loan pair without the free lists and the
// merging; "Parked 8 KiB blocks" (session 13): coalescing-bal's 8190-byte block, split off the free space
// on every malloc and merged back on every free before (allocator 101.2 → 66.9 x86 instructions an
// operation; random-bal's utilization 93.8% → 93.0%, every other trace's unchanged).
const PARK_MAX: u32 = 2 * PAGE_SIZE + MB_GRAIN;
const PARK_DEPTH: u32 = 8;

const MB_KEY: u32 = 0x6d656421;                       // 'med!'
const CTRL_BLOCK: u32 = (MC_SIZE + MB_HDR + MB_GRAIN - 1) & ~(MB_GRAIN - 1);

// The check word of a header at block address b for a block of `size` bytes.
@inline function keyOf(b: usize, size: u32): u32 {
  return (<u32>b ^ MB_KEY) ^ (size * 0x9e3779b1);
}

@inline function hdrWord(b: usize): u32 { return load<u32>(b); }
@inline function sizeOf(b: usize): u32 { return load<u32>(b) & ~MB_FLAGS; }
@inline function setHeader(b: usize, word: u32): void {
  store<u32>(b, word);
  store<u32>(b, keyOf(b, word & ~MB_FLAGS), 4);
}
// A header absorbed by coalescing: F with size 0 (a later free of it is a double free).
@inline function killHeader(b: usize): void {
  store<u32>(b, MB_F_FREE);
  store<u32>(b, keyOf(b, 0), 4);
}

// The block size serving a request of `bytes` (header included, a multiple of MB_GRAIN, ≥ MB_MIN).
@inline export function mediumBlockSize(bytes: usize): u32 {
  const s = mediumBlockBytes(bytes);
  return s < MB_MIN ? MB_MIN : s;
}
// The same without the MB_MIN floor: for a request of at least MB_MIN − MB_HDR bytes (kmalloc.ts krealloc).
@inline export function mediumBlockBytes(bytes: usize): u32 {
  return <u32>((bytes + MB_HDR + MB_GRAIN - 1) & ~(<usize>MB_GRAIN - 1));
}

// ---- the node's control block and its free lists ----------------------------------------------------------

@inline function controlOf(node: u32): usize {
  return <usize>readShared(nodeAddr(node) + N_MEDIUM);
}

// The control block whose lock guards region d, read from d's node byte (bounded to a node slot), never
// from d's aux: a caller's d comes from a read without the lock (kmalloc.ts classify), and in the threaded
// build the region may have been given back and its pages reused since, with anything in aux. 0 when that
// node has no medium heap. Under the lock the caller checks that d is still a region of this heap
// (aux == c, and regionOf(ptr) == d in the threaded build).
@inline function regionControl(d: usize): usize {
  return controlOf(<u32>changetype<PageDesc>(d).node & (MAX_NODES - 1));
}

// Pages of node's medium regions (0: no medium heap yet).
export function mediumPages(node: u32): u32 {
  const c = controlOf(node);
  return c == 0 ? 0 : load<u32>(c, MC_PAGES);
}

// The list of a block of `size` bytes: fl × MB_SL_COUNT + sl.
@inline function listOf(size: u32): u32 {
  if (size < MB_SMALL) return size >> 4;
  const f = 31 - <u32>clz(size);
  return ((f - 7) << MB_SL_SHIFT) | ((size >> (f - MB_SL_SHIFT)) & (MB_SL_COUNT - 1));
}

// A listed free block's list index (listOf of its size) at MB_LIST (layout.ts), written where it is linked
// (pushFree, relinkFirst), read where it is unlinked first on its list (unlinkFree: no listOf there; session 12).
// Like the links beside it, a free block's word the allocator trusts (a write after free can corrupt both).
if (MB_LIST + 4 > MB_MIN - 4) ERROR("medium.ts MB_LIST: the list index must lie between a smallest free block's links and footer");

@inline function headAt(c: usize, i: u32): usize {
  return c + MC_HEADS + (<usize>i << 2);
}

function insertFree(c: usize, b: usize, size: u32): void {
  const nx = b + size;
  store<u32>(nx, hdrWord(nx) | MB_F_PREV_FREE);                     // flags only: the check stays
  linkFree(c, b, size);
}

// insertFree without the next block's P flag (the caller knows it is set: the rest of a split free block).
function linkFree(c: usize, b: usize, size: u32): void {
  pushFree(c, b, size);
  store<u32>(c, load<u32>(c, MC_FREE_BYTES) + size, MC_FREE_BYTES);
}

function removeFree(c: usize, b: usize, size: u32): void {
  unlinkFree(c, b, size);
  store<u32>(c, load<u32>(c, MC_FREE_BYTES) - size, MC_FREE_BYTES);
}

// linkFree / removeFree without MC_FREE_BYTES (their bodies).
@inline function pushFree(c: usize, b: usize, size: u32): void {
  setHeader(b, size | MB_F_FREE);
  store<u32>(b + size - 4, size);                                  // footer
  const i = listOf(size);
  const h = headAt(c, i);
  const first = load<u32>(h);
  store<u32>(b, first, 8);
  store<u32>(b, 0, 12);
  store<u32>(b, i, MB_LIST);                                        // its list, for unlinkFree
  store<u32>(h, <u32>b);
  if (first != 0) store<u32>(<usize>first, <u32>b, 12);
  else {                                                         // the list was empty: its map bits
    const fl = i >> MB_SL_SHIFT;
    const sm = c + MC_SL_MAP + (<usize>fl << 1);
    store<u16>(sm, <u16>(<u32>load<u16>(sm) | (<u32>1 << (i & (MB_SL_COUNT - 1)))));
    store<u32>(c, load<u32>(c, MC_FL_MAP) | (<u32>1 << fl), MC_FL_MAP);
  }
}

@inline function unlinkFree(c: usize, b: usize, size: u32): void {
  const nx = load<u32>(b, 8);
  const pv = load<u32>(b, 12);
  if (nx != 0) store<u32>(<usize>nx, pv, 12);
  if (pv != 0) store<u32>(<usize>pv, nx, 8);
  else {                                                         // the list's first: its head (and maps)
    const i = load<u32>(b, MB_LIST);                                // (pushFree's listOf(size))
    store<u32>(headAt(c, i), nx);
    if (nx == 0) {                                               // the list is empty now
      const fl = i >> MB_SL_SHIFT;
      const sm = c + MC_SL_MAP + (<usize>fl << 1);
      const m = <u16>(<u32>load<u16>(sm) & ~(<u32>1 << (i & (MB_SL_COUNT - 1))));
      store<u16>(sm, m);
      if (m == 0) store<u32>(c, load<u32>(c, MC_FL_MAP) & ~(<u32>1 << fl), MC_FL_MAP);
    }
  }
}

// The list operations of the usual malloc and free (takeIn, release). With INLINE_PATHS: inlined, and
// MC_FREE_BYTES updated once per take or release, by its net change (pathBytes); else removeFree /
// linkFree, each updating it (pathBytes does nothing), as every other caller does.
@inline function pathUnlink(c: usize, b: usize, size: u32): void {
  if (INLINE_PATHS) unlinkFree(c, b, size);
  else removeFree(c, b, size);
}

@inline function pathLink(c: usize, b: usize, size: u32): void {
  if (INLINE_PATHS) pushFree(c, b, size);
  else linkFree(c, b, size);
}

@inline function pathBytes(c: usize, add: u32, sub: u32): void {
  if (INLINE_PATHS) store<u32>(c, load<u32>(c, MC_FREE_BYTES) + add - sub, MC_FREE_BYTES);
}

// Can the free block b of `have` bytes, first on its list, stay there as a free block of `size` bytes
// (the same list)? Then re-sizing or moving it in place leaves every list, map and link as removeFree +
// linkFree would: the block linked again first on the same list.
// (listOf(have) == listOf(size) without either: below MB_SMALL each list is one size, and two sizes that
// differ never share it; above, a list is the sizes that agree from the top bit down to MB_SL_SHIFT bits
// below it: (have ^ size) < 2^(fls(have) − MB_SL_SHIFT), which is also false when their top bits differ.)
@inline function staysFirst(b: usize, have: u32, size: u32): bool {
  return <u32>clz(have ^ size) > <u32>clz(have) + MB_SL_SHIFT && load<u32>(b, 12) == 0;
}

// The free block b of `have` bytes (on its list) becomes the free block nb (b itself, or a block over
// part of it) of `size` bytes, whose next block has P already; a header of b's that nb does not cover is
// the caller's. When it stays first on its list (staysFirst), nb takes b's place there; else b is removed
// and nb linked.
function relink(c: usize, b: usize, have: u32, nb: usize, size: u32): void {
  if (!staysFirst(b, have, size)) {
    removeFree(c, b, have);
    linkFree(c, nb, size);
    return;
  }
  relinkFirst(c, b, have, nb, size);
}

// relink's case where the block stays first on its list (staysFirst said so); also inlined into
// mediumResizeIn's usual grow.
@inline function relinkFirst(c: usize, b: usize, have: u32, nb: usize, size: u32): void {
  const nx = load<u32>(b, 8);
  setHeader(nb, size | MB_F_FREE);
  store<u32>(nb + size - 4, size);                                 // footer
  if (nb != b) {
    const i = listOf(size);
    store<u32>(nb, nx, 8);
    store<u32>(nb, 0, 12);
    store<u32>(nb, i, MB_LIST);
    store<u32>(headAt(c, i), <u32>nb);
    if (nx != 0) store<u32>(<usize>nx, <u32>nb, 12);
  }
  store<u32>(c, load<u32>(c, MC_FREE_BYTES) + size - have, MC_FREE_BYTES);
}

// A free block of at least `size` bytes: the best of the first FIT_SCAN entries of its own list, else
// the first block of the next non-empty larger list (every block there is larger). 0 when none.
function findFit(c: usize, size: u32): usize {
  return fitIn(c, size);
}

// findFit's body, inlined into mediumAlloc's usual path (allocBlock with `fast`) and into findFit.
@inline function fitIn(c: usize, size: u32): usize {
  const i = listOf(size);
  let b = <usize>load<u32>(headAt(c, i));
  if (FIT_SCAN == 1) {                                             // (folded at compile time)
    if (b != 0 && sizeOf(b) >= size) return b;
  } else {
    let best: usize = 0;
    let bestSize: u32 = 0xffffffff;
    for (let k: u32 = 0; b != 0 && k < FIT_SCAN; k++) {
      const s = sizeOf(b);
      if (s >= size && (s < bestSize || (s == bestSize && b < best))) {
        best = b;
        bestSize = s;
      }
      b = <usize>load<u32>(b, 8);
    }
    if (best != 0) return best;
  }
  let fl = i >> MB_SL_SHIFT;
  const sl = i & (MB_SL_COUNT - 1);
  let m = <u32>load<u16>(c + MC_SL_MAP + (<usize>fl << 1)) & (<u32>0xfffe << sl);
  if (m == 0) {
    const fm = load<u32>(c, MC_FL_MAP) & ~((<u32>2 << fl) - 1);
    if (fm == 0) return 0;
    fl = <u32>ctz(fm);
    m = <u32>load<u16>(c + MC_SL_MAP + (<usize>fl << 1));
  }
  // the larger list: its best (then lowest) of the first FIT_SCAN entries
  b = <usize>load<u32>(headAt(c, (fl << MB_SL_SHIFT) | <u32>ctz(m)));
  let best = b;
  let bestSize = sizeOf(b);
  for (let k: u32 = 1; k < FIT_SCAN; k++) {
    b = <usize>load<u32>(b, 8);
    if (b == 0) break;
    const s = sizeOf(b);
    if (s < bestSize || (s == bestSize && b < best)) { best = b; bestSize = s; }
  }
  return best;
}

// Hand out `size` bytes from the free block b (on its list): split off the rest when it makes a block.
function takeBlock(c: usize, b: usize, size: u32): usize {
  return takeIn(c, b, size);
}

// takeBlock's body, inlined into mediumAlloc's usual path (allocBlock with `fast`, INLINE_PATHS) and
// into takeBlock; with INLINE_PATHS one MC_FREE_BYTES update for the block's removal and its rest's link
// (the net change: −size, or −have).
@inline function takeIn(c: usize, b: usize, size: u32): usize {
  const have = sizeOf(b);
  pathUnlink(c, b, have);
  let taken = have;
  if (have - size >= MB_MIN) {
    setHeader(b, size);
    pathLink(c, b + size, have - size);                   // its next block keeps P
    taken = size;
  } else {
    setHeader(b, have);
    const nx = b + have;
    store<u32>(nx, hdrWord(nx) & ~MB_F_PREV_FREE);
  }
  pathBytes(c, 0, taken);
  store<u32>(c, load<u32>(c, MC_BLOCKS) + 1, MC_BLOCKS);
  return b + MB_HDR;
}

// Is b (a free block that fits `size`, with room for a free block more) in the pre-chunk region, and
// `size` a small block? Those are cut from its end (takeTail), so small blocks (loans, own blocks) gather
// at the top of the free space and a larger block before them grows in place into the free bytes that
// follow it (realloc2-bal: a block grown 5 bytes at a time among 16-byte loans stays in the region
// instead of moving, and then moving to chunk 0).
@inline function preTop(b: usize, size: u32): bool {
  return size <= PRE_TAIL_MAX && inPre(b) && sizeOf(b) - size >= MB_MIN;
}

// Hand out `size` bytes from the end of the free block b (on its list; at least MB_MIN bytes stay free).
function takeTail(c: usize, b: usize, size: u32): usize {
  const have = sizeOf(b);
  relink(c, b, have, b, have - size);                         // its P stays clear: the block before is live
  const a = b + have - size;
  setHeader(a, size | MB_F_PREV_FREE);
  const nx = a + size;
  store<u32>(nx, hdrWord(nx) & ~MB_F_PREV_FREE);              // flags only: the check stays
  store<u32>(c, load<u32>(c, MC_BLOCKS) + 1, MC_BLOCKS);
  return a + MB_HDR;
}

// ---- parked blocks (the pre-chunk region; layout.ts "Parked blocks") ------------------------------------

// The filter bit of a parked block of `size` bytes (bits 16..31 of MC_PARKED).
@inline function parkBit(size: u32): u32 {
  return <u32>0x10000 << (((size >> 4) * 0x9e3779b1) >> 28);
}

// Park the block b of `size` bytes (live until now, counted out of MC_BLOCKS by the caller) of the
// pre-chunk region: F and R set, first on the park list; a full list gives its oldest back first.
// Lock held.
function park(c: usize, b: usize, size: u32): void {
  let w = load<u32>(c, MC_PARKED);
  if ((w & 0xffff) >= PARK_DEPTH) w = parkEvict(c, w);
  store<u32>(b, hdrWord(b) | MB_F_FREE | MB_F_RESERVED);         // flags only: the check stays
  store<u32>(b, load<u32>(c, MC_PARK), 8);
  store<u32>(c, <u32>b, MC_PARK);
  store<u32>(c, (w + 1) | parkBit(size), MC_PARKED);
}

// A parked block of exactly `size` bytes taken off the park list (live again: its flags cleared, then
// `flags` set, counted in MC_BLOCKS): its user pointer, or 0. Lock held.
function unpark(c: usize, size: u32, flags: u32): usize {
  const w = load<u32>(c, MC_PARKED);
  if ((w & parkBit(size)) == 0) return 0;
  let at = c + MC_PARK;                                          // the link that names b
  let b = <usize>load<u32>(at);
  while (b != 0) {
    if (sizeOf(b) == size) {
      store<u32>(at, load<u32>(b, 8));
      store<u32>(b, (hdrWord(b) & ~(MB_F_FREE | MB_F_RESERVED)) | flags);
      store<u32>(c, (w & 0xffff) == 1 ? 0 : w - 1, MC_PARKED);
      store<u32>(c, load<u32>(c, MC_BLOCKS) + 1, MC_BLOCKS);
      return b + MB_HDR;
    }
    at = b + 8;
    b = <usize>load<u32>(at);
  }
  return 0;
}

// Give the oldest parked block back (releaseBlock; the list holds PARK_DEPTH of them) and return the new
// MC_PARKED word (the filter rebuilt from the rest). Lock held.
function parkEvict(c: usize, w: u32): u32 {
  let at = c + MC_PARK;
  let b = <usize>load<u32>(at);
  let bits: u32 = 0;
  while (load<u32>(b, 8) != 0) {
    bits |= parkBit(sizeOf(b));
    at = b + 8;
    b = <usize>load<u32>(at);
  }
  store<u32>(at, 0);
  parkRelease(c, b);
  return bits | ((w & 0xffff) - 1);
}

// Every parked block back to the free lists (a request found no fit). Lock held.
function parkFlush(c: usize): void {
  let b = <usize>load<u32>(c, MC_PARK);
  store<u32>(c, 0, MC_PARK);
  store<u32>(c, 0, MC_PARKED);
  while (b != 0) {
    const nx = <usize>load<u32>(b, 8);
    parkRelease(c, b);
    b = nx;
  }
}

// Give node 0's parked blocks back to its free lists (reclaim.ts heapShrink: a shrunk heap parks nothing).
export function mediumUnparkAll(): void {
  const c = controlOf(0);
  if (c == 0) return;
  lock(c + MC_LOCK);
  if (load<u32>(c, MC_PARKED) != 0) parkFlush(c);
  unlock(c + MC_LOCK);
}

// The parked block b (off the list) freed for real: merged with its free neighbours (releaseBlock).
@inline function parkRelease(c: usize, b: usize): void {
  store<u32>(b, hdrWord(b) & ~(MB_F_FREE | MB_F_RESERVED));
  releaseBlock(c, PRE_LO - DESC_SIZE, b, sizeOf(b));
}

// ---- regions ------------------------------------------------------------------------------------------

// The pre-chunk region (layout.ts): its descriptor lies just before its first byte, PRE_LO (when there is
// none, PRE_LO is chunkBase and this names no descriptor of any region).
@inline function isPre(d: usize): bool {
  return d == PRE_LO - DESC_SIZE;
}

// The first byte of the region at d (pageAddr of its first descriptor; the pre-chunk region's PRE_LO).
@inline function regionStart(d: usize): usize {
  return isPre(d) ? PRE_LO : pageAddr(d);
}

// Whole pages of the pre-chunk region (its descriptor's `objects`; 0 when there is none: PRE_LO = chunkBase).
@inline function prePages(): u32 {
  return <u32>((CHUNK_BASE - PRE_LO) >> PAGE_SHIFT);
}

// The end of the region at d (the pre-chunk region ends at chunkBase, maybe not on a page boundary of it).
@inline function regionEnd(d: usize): usize {
  return isPre(d) ? CHUNK_BASE : pageAddr(d) + (<usize>changetype<PageDesc>(d).objects << PAGE_SHIFT);
}

// Mark descriptors [from, to) of the region at d (zero: page.ts hands out and extends runs so) as its
// tails: kind K_MEDIUM_TAIL and aux d, with order, node and list (zero) between them, in one u64 store
// at the offset of kind (structs.ts PageDesc: kind, order, node, list, aux).
function markTails(d: usize, from: u32, to: u32): void {
  if (offsetof<PageDesc>("aux") != offsetof<PageDesc>("kind") + 4) ERROR("markTails: PageDesc's aux is not 4 bytes after kind");
  const w = <u64>K_MEDIUM_TAIL | (<u64>d << 32);
  for (let td = d + (<usize>from << 5), e = d + (<usize>to << 5); td < e; td += DESC_SIZE) store<u64>(td, w, offsetof<PageDesc>("kind"));
}

// Grow the region at d in place by the pages its end needs for a free block of `size` bytes (taking the
// free page run after it; below the heap's top, up to GROW_MORE pages more of it), and, at the heap's
// top, by more of that run up to the next 64 KiB boundary
// (GROW_ALIGN: memory grows by 64 KiB anyway, so those pages cost no footprint; at most GROW_SLACK_SHIFT of
// the heap more): true when its last block is now a free block of at least `size`. Lock held.
function growRegion(c: usize, d: usize, size: u32): bool {
  if (isPre(d)) return false;                                    // bounded by chunk 0: never grows
  const pages = <u32>changetype<PageDesc>(d).objects;
  // single-threaded: a region that ends its chunk, or whose next page is no free run's first, cannot grow
  // (what pagesExtendUpTo would find under its lock), so no page.ts call; threads: the read is a hint only.
  // Tested first: most of allocBlock's calls (one per region tried) end here.
  if (!THREADED && (pageIndex(d) + pages >= PAGES_PER_CHUNK ||
      changetype<PageDesc>(d + (<usize>pages << DESC_SHIFT)).kind != K_FREE)) return false;
  const end = regionEnd(d);
  const sent = end - MB_HDR;
  let tail: u32 = 0;
  if ((hdrWord(sent) & MB_F_PREV_FREE) != 0) tail = load<u32>(sent - 4);
  const need = <u32>((<usize>(size - tail) + PAGE_SIZE - 1) >> PAGE_SHIFT);
  if (pages + need > USABLE_PAGES) return false;
  let most = pages + <u32>((((end + (<usize>need << PAGE_SHIFT) + GROW_ALIGN - 1) & ~(<usize>GROW_ALIGN - 1)) - end) >> PAGE_SHIFT);
  const cap = pages + need + (load<u32>(c, MC_PAGES) >> GROW_SLACK_SHIFT);
  if (most > cap) most = cap;
  if (most > USABLE_PAGES) most = USABLE_PAGES;
  // below the heap's top (pages handed out before: a heap that shrank and grows back), up to GROW_MORE
  // pages more than need, as many as the free run after the region has below the high-water mark (its
  // length read without the node lock: a hint, which pagesExtendUpTo checks under it): fewer, larger grows
  let want = pages + need;
  if (pageIndex(d) + pages < PAGES_PER_CHUNK) {
    const rd = d + (<usize>pages << DESC_SHIFT);
    let more = <u32>changetype<PageDesc>(rd).objects;
    if (more > need + GROW_MORE) more = need + GROW_MORE;
    // only the run's pages below the high-water mark (end + more pages < it), as many as lie there
    const hw = <usize>load<u32>(HEAP, H_HIGH_WATER);
    const room = end < hw ? <u32>((hw - end - 1) >> PAGE_SHIFT) : 0;
    if (more > room) more = room;
    // (a free run ends in its chunk: pages + more stays within USABLE_PAGES)
    if (changetype<PageDesc>(rd).kind == K_FREE && more > need) want = pages + more;
  }
  // (below the high-water mark, as here, pagesExtendUpTo takes want exactly; past want only at the top)
  let now = pagesExtendUpTo(d, pages, want, most, true);
  if (THREADED && now == 0 && want > pages + need) now = pagesExtendUpTo(d, pages, pages + need, most, true); // (the run changed)
  if (now == 0) return false;
  const extra = now - pages;
  changetype<PageDesc>(d).objects = <u16>(pages + extra);
  markTails(d, pages, pages + extra);
  store<u32>(c, load<u32>(c, MC_PAGES) + extra, MC_PAGES);
  const nend = end + (<usize>extra << PAGE_SHIFT);
  setHeader(nend - MB_HDR, MB_F_RESERVED);                       // the new sentinel
  let b = sent;
  let s = <u32>(extra << PAGE_SHIFT);
  if (tail != 0) {                                               // merge with the free block before
    b = sent - tail;
    removeFree(c, b, tail);
    killHeader(sent);
    s += tail;
  }
  insertFree(c, b, s);
  return true;
}

// Set up the region whose first descriptor is d (pages from page.ts, descriptors zero, node set) for the
// heap with control block c (0: this is the node's home region and c goes at its start). Lock held (or,
// for a home region, the heap lock). Returns c.
function regionInit(c: usize, node: u32, d: usize, pages: u32): usize {
  changetype<PageDesc>(d).objects = <u16>pages;
  const r = regionStart(d);
  const end = regionEnd(d);
  let first = r + MB_HDR;
  setHeader(end - MB_HDR, MB_F_RESERVED);                        // the sentinel
  store<u32>(r, 0);                                               // the 8 bytes before the first block
  store<u32>(r, 0, 4);
  if (c == 0) {                                                   // the home region: the control block
    c = first + MB_HDR;
    memory.fill(c, 0, MC_SIZE);
    store<u32>(c, node, MC_NODE);
    setHeader(first, CTRL_BLOCK | MB_F_RESERVED);
    first += CTRL_BLOCK;
  }
  changetype<PageDesc>(d).kind = K_MEDIUM;
  changetype<PageDesc>(d).aux = <u32>c;
  if (!isPre(d)) markTails(d, 1, pages);                         // (the pre-chunk region has no tails)
  listPush(c + MC_REGIONS, d);
  store<u32>(c, load<u32>(c, MC_NREGIONS) + 1, MC_NREGIONS);
  store<u32>(c, load<u32>(c, MC_PAGES) + pages, MC_PAGES);
  store<u32>(first, 0);                                           // no P: the block before is not free
  insertFree(c, first, <u32>(end - MB_HDR - first));
  return c;
}

// Pages of a new region for a block of `bytes` on `node`: the block, the region's 16 bytes and, for the
// node's first region, its control block; at least REGION_MIN_PAGES (capped at a chunk's usable pages).
export function mediumRegionPages(node: u32, bytes: usize): u32 {
  let need = <usize>mediumBlockSize(bytes) + 2 * MB_HDR;
  if (controlOf(node) == 0) need += CTRL_BLOCK;
  let pages = <u32>((need + PAGE_SIZE - 1) >> PAGE_SHIFT);
  if (pages < REGION_MIN_PAGES) pages = REGION_MIN_PAGES;
  const c = controlOf(node);
  if (c != 0) {
    // (the pre-chunk region's pages do not count: they are no region grown for this heap's size)
    const pre = node == 0 ? prePages() : 0;
    let grown = (load<u32>(c, MC_PAGES) - pre) >> REGION_GROWTH_SHIFT;
    if (grown > REGION_GROWN_MAX) grown = REGION_GROWN_MAX;
    if (pages < grown) pages = grown;
  }
  return pages > USABLE_PAGES ? USABLE_PAGES : pages;
}

// Set up the pre-chunk region (layout.ts) in the bytes from `from` (the end of the header cache slots) to
// chunkBase, as node 0's home region, when they make at least PRE_MIN_BYTES (else there is none and node
// 0's medium heap starts in a chunk, as every other node's). At init, before anything is handed out
// (cache.ts heapInit); the bytes are zero (arena.ts arenaInit).
export function mediumPreInit(from: usize): void {
  const lo = (from + DESC_SIZE + MB_GRAIN - 1) & ~(<usize>MB_GRAIN - 1);
  if (lo + PRE_MIN_BYTES > CHUNK_BASE) return;
  setPreRegion(lo);
  const d = lo - DESC_SIZE;
  changetype<PageDesc>(d).node = 0;
  const c = regionInit(0, 0, d, prePages());
  publish(nodeAddr(0) + N_MEDIUM, <u32>c);
}

// ---- allocation -----------------------------------------------------------------------------------------

// A block of `bytes` from node's medium heap: a free block, or one made by growing a region in place.
// 0 when neither works (or the node has no medium heap yet).
export function mediumAlloc(node: u32, bytes: usize): usize {
  return allocBlock(node, bytes, 0, true);
}

// mediumAlloc inlined (kmalloc.ts mediumMallocIn with INLINE_PATHS: kmallocSlow's path above KMALLOC_MAX).
@inline export function mediumAllocIn(node: u32, bytes: usize): usize {
  return allocBlock(node, bytes, 0, true);
}

// mediumAlloc's body, for a block whose header gets `flags` (0, or MB_F_OWN) under the same lock. Inlined
// into each of its two callers (mediumAlloc keeps a single caller, kmalloc.ts, which inlines it in turn).
// `fast` (mediumAlloc's copy only: kmalloc's path) with INLINE_PATHS: the first fit and its take inlined
// (fitIn, takeIn); else, as in the other copy, findFit and takeBlock.
@inline function allocBlock(node: u32, bytes: usize, flags: u32, fast: bool): usize {
  const c = controlOf(node);
  if (c == 0) return 0;
  const size = mediumBlockSize(bytes);
  lock(c + MC_LOCK);
  // (node 0 with a pre-chunk region only) a parked block maybe of this size: its filter bit, tested here
  // (no unpark call for the sizes never parked: coalescing-bal's 8 KiB blocks beside parked 4 KiB ones)
  const pw = load<u32>(c, MC_PARKED);
  if (pw != 0 && (pw & parkBit(size)) != 0) {
    const q = unpark(c, size, flags);
    if (q != 0) {
      unlock(c + MC_LOCK);
      return q;
    }
  }
  let b = INLINE_PATHS && fast ? fitIn(c, size) : findFit(c, size);
  if (b == 0 && load<u32>(c, MC_PARKED) != 0) {                 // no fit: the parked blocks go back first
    parkFlush(c);
    b = findFit(c, size);
  }
  if (b == 0) {
    let d = <usize>load<u32>(c, MC_REGIONS);
    for (let k: u32 = 0; d != 0 && k < GROW_TRIES; k++) {
      if (growRegion(c, d, size)) { b = findFit(c, size); break; }
      d = <usize>changetype<PageDesc>(d).next;
    }
  }
  const p: usize = b == 0 ? 0 : preTop(b, size) ? takeTail(c, b, size) : INLINE_PATHS && fast ? takeIn(c, b, size) : takeBlock(c, b, size);
  if (flags != 0 && p != 0) store<u32>(p - MB_HDR, hdrWord(p - MB_HDR) | flags); // flags only: the check stays
  unlock(c + MC_LOCK);
  return p;
}

// An own block of `bytes` (O set: the heap's own structure) from node's medium heap, as mediumAlloc
// (a free block, or a region grown in place; never a new region), or 0.
// O is set under the lock that took the block (threads: a free of the block before it writes P into the
// same header word).
@inline export function mediumAllocOwn(node: u32, bytes: usize): usize {
  return mediumAllocWith(node, bytes, MB_F_OWN);
}

// allocBlock for the callers other than kmalloc's mediumMalloc (which keeps mediumAlloc's single inlined
// copy on its path): own blocks (flags MB_F_OWN), and kmalloc.ts lend / borrow taking a plain block (0)
// from a chunkless heap's pre-chunk region.
export function mediumAllocWith(node: u32, bytes: usize, flags: u32): usize {
  return allocBlock(node, bytes, flags, false);
}

// Make the pages at d (`pages` of them from page.ts on `node`, descriptors zero) a region of node's
// medium heap (its home region when it has none) and hand out a block of `bytes` from it.
export function mediumAddRegion(node: u32, d: usize, pages: u32, bytes: usize): usize {
  const size = mediumBlockSize(bytes);
  let c = controlOf(node);
  if (c == 0) {
    heapLock();                                     // threads: one instance makes the home region
    c = controlOf(node);
    if (c == 0) {
      c = regionInit(0, node, d, pages);
      const b = findFit(c, size);
      if (ASC_NO_ASSERT == false) assert(b != 0);                  // mediumRegionPages made room for it
      const p = takeBlock(c, b, size);
      publish(nodeAddr(node) + N_MEDIUM, <u32>c);
      heapUnlock();
      return p;
    }
    heapUnlock();
  }
  lock(c + MC_LOCK);
  // Threads: since the caller's mediumAlloc missed, another thread may have freed a block that fits, or
  // added a region with room: the pages go back and that block serves. (Added anyway, the region would
  // stay wholly free: findFit takes the smallest fit, the other block.) Otherwise nothing but the new
  // region's block fits, at the head of its list.
  let b = findFit(c, size);
  if (b != 0) pagesFree(d, pages, true);
  else {
    regionInit(c, node, d, pages);
    b = findFit(c, size);
  }
  if (ASC_NO_ASSERT == false) assert(b != 0);                      // mediumRegionPages made room for it
  const p = takeBlock(c, b, size);
  unlock(c + MC_LOCK);
  return p;
}

// ---- checks ---------------------------------------------------------------------------------------------

// The first descriptor of the region holding ptr (whose page descriptor is K_MEDIUM or K_MEDIUM_TAIL),
// or 0 when the descriptors say otherwise.
export function regionOf(ptr: usize): usize {
  if (inPre(ptr)) return PRE_LO - DESC_SIZE;
  if (chunkByteOf(ptr) >= CT_RUN_TAIL) return 0;
  return mediumRegionAt(pageOf(ptr));
}

// The first descriptor of the region whose page descriptor is pd (a page in a chunk; kmalloc's classify
// has read it already), or 0 when pd is no K_MEDIUM / K_MEDIUM_TAIL page of a region.
export function mediumRegionAt(pd: usize): usize {
  let d = pd;
  const k = changetype<PageDesc>(d).kind;
  if (k == K_MEDIUM_TAIL) {
    d = <usize>changetype<PageDesc>(d).aux;
    // a tail's aux names a descriptor of its own chunk; a tail read without the lock (threads: given back
    // and reused since its kind was read) may hold anything there, and a load there could leave memory
    if (d - (pd - ((pd - CHUNK_BASE) & (CHUNK_SIZE - 1))) >= DESC_BYTES) return 0;
  } else if (k != K_MEDIUM) return 0;
  return changetype<PageDesc>(d).kind == K_MEDIUM ? d : 0;
}

// The size of the block at ptr in the region at d when ptr is the start of a live block there (an own
// block when `own`, else a plain one), else 0 (checkIn then says why). checkIn's usual case in one branch:
// 16-aligned, no F or R and O as asked, its own check word (one OR of the differences), in
// [lo, end − MB_MIN] (one unsigned compare: below lo wraps), and MB_MIN ≤ size ≤ what the region holds
// from b. Reads only inside the region (b lies in it or just before it: inside linear memory wherever ptr
// points); changes nothing. Inlined into checkIn and into kmalloc.ts krealloc, which reads the header once.
@inline export function mediumLiveSize(d: usize, ptr: usize, own: bool = false): u32 {
  let r: usize, end: usize;                                      // regionStart / regionEnd, one test
  if (isPre(d)) { r = PRE_LO; end = CHUNK_BASE; }
  else { r = pageAddr(d); end = r + (<usize>changetype<PageDesc>(d).objects << PAGE_SHIFT); }
  return liveSize(r, end, ptr, own);
}

// mediumLiveSize in two parts for a pointer of the pre-chunk region, whose bounds need no descriptor
// (kmalloc.ts krealloc's front): mediumPreHolds(ptr), the range test (ptr in the region, and in
// [lo, end − MB_MIN]: its header and a smallest block lie in the region; one compare against arena.ts
// PRE_FRONT, which is 0 when there is no region), then mediumPreHeader(ptr), the header test. A block
// whose header gives a size ≥ MB_MIN, in range, is exactly what mediumLiveSize accepts.
// (Before session 10: inPre(ptr) && ptr − lo ≤ end − MB_MIN − lo, two compares on three globals.)
@inline export function mediumPreHolds(ptr: usize): bool {
  return ptr - (PRE_LO + 2 * MB_HDR) < PRE_FRONT;
}
@inline export function mediumPreHeader(ptr: usize): u32 {
  return headerSize(CHUNK_BASE, ptr, false);
}

// For ptr with mediumPreHolds(ptr) and a block size `want` ≥ MB_MIN (a multiple of MB_GRAIN): is ptr a
// live plain block of the pre-chunk region whose block holds `want` bytes with less than a free block
// (MB_MIN) to spare? The same answer as mediumPreHeader(ptr) − want < MB_MIN, in fewer instructions
// (krealloc's front: a realloc that keeps its block): MB_MIN is two grains, so the header word less P
// minus want is 0 or MB_GRAIN exactly when F, R and O are clear (want's low bits are 0: they pass into the
// difference) and the size is want or want + MB_GRAIN; with ptr's low bits in the same test, then the
// check word and the region's end as headerSize has them. Changes nothing.
@inline export function mediumPreKeeps(ptr: usize, want: u32): bool {
  const b = ptr - MB_HDR;
  const w = hdrWord(b);
  const size = w & ~MB_FLAGS;
  // (nested tests, not one && chain: binaryen made the last two a select, 6 x86 instructions more)
  let keeps = false;
  if (((((w & ~MB_F_PREV_FREE) - want) | <u32>(ptr & (MB_GRAIN - 1))) & ~MB_GRAIN) == 0) {
    if (load<u32>(b, 4) == keyOf(b, size)) {
      if (size <= <u32>(CHUNK_BASE - ptr)) keeps = true;
    }
  }
  return keeps;
}
// (mediumPreKeeps's arithmetic holds for these values only)
if (MB_MIN != 2 * MB_GRAIN || MB_FLAGS != MB_GRAIN - 1) ERROR("medium.ts mediumPreKeeps: MB_MIN must be two grains");

// The check of both, for the region [r, end) that holds ptr: in range, and a header that passes with at
// least MB_MIN bytes.
@inline function liveSize(r: usize, end: usize, ptr: usize, own: bool): u32 {
  const lo = r + 2 * MB_HDR;
  const size = headerSize(end, ptr, own);
  return (ptr - lo <= end - MB_MIN - lo) & (size >= MB_MIN) ? size : 0;
}

// The header at ptr − MB_HDR, for a ptr whose header lies in linear memory (the caller's range test, or
// b inside the region or just before it): its size when ptr is 16-aligned, F and R are clear and O is as
// asked, its check word is its own (one OR of the differences), and the block ends by `end` (size ≤
// end − ptr: the sentinel's MB_HDR bytes stay out); else 0. Changes nothing.
@inline function headerSize(end: usize, ptr: usize, own: bool): u32 {
  const b = ptr - MB_HDR;
  const w = hdrWord(b);
  const size = w & ~MB_FLAGS;
  const ok = (<u32>(ptr & (MB_GRAIN - 1)) | ((w & (MB_F_FREE | MB_F_RESERVED | MB_F_OWN)) ^ (own ? MB_F_OWN : 0)) |
    (load<u32>(b, 4) ^ keyOf(b, size))) == 0;
  return ok & (size <= <u32>(end - ptr)) ? size : 0;
}

// Is ptr the start of a live block of the region at d? E_OK, E_DOUBLE_FREE (a free block's start or an
// absorbed header), E_NOT_OURS (the control block, or an own block unless `own`; with `own`, any block
// that is not one) or E_NOT_OBJECT. Reads only inside the region.
function checkIn(d: usize, ptr: usize, own: bool = false): i32 {
  if (mediumLiveSize(d, ptr, own) != 0) return E_OK;             // the usual case
  // anything else: the tests in their order, for its code
  const end = regionEnd(d);
  const lo = regionStart(d) + 2 * MB_HDR;
  const b = ptr - MB_HDR;
  const w = hdrWord(b);
  const size = w & ~MB_FLAGS;
  const check = load<u32>(b, 4);
  if ((ptr & (MB_GRAIN - 1)) != 0 || ptr - lo > end - MB_MIN - lo) return E_NOT_OBJECT;
  if (size == 0) return (w & MB_F_FREE) != 0 && check == keyOf(b, 0) ? E_DOUBLE_FREE : E_NOT_OBJECT;
  if (size < MB_MIN || size > <u32>(end - MB_HDR - b) || check != keyOf(b, size)) return E_NOT_OBJECT;
  if ((w & MB_F_FREE) != 0) return E_DOUBLE_FREE;                 // free or parked (a free block never has O)
  if ((w & MB_F_RESERVED) != 0) return E_NOT_OURS;
  return ((w & MB_F_OWN) != 0) != own ? E_NOT_OURS : E_OK;
}

// Is ptr (on a K_MEDIUM / K_MEDIUM_TAIL page) a live medium block? Changes nothing.
export function mediumCheck(ptr: usize): i32 {
  const d = regionOf(ptr);
  return d == 0 ? E_NOT_OURS : checkIn(d, ptr);
}

// mediumCheck for a pointer whose region (first descriptor d, from mediumRegionAt) is known.
export function mediumCheckIn(d: usize, ptr: usize): i32 {
  return checkIn(d, ptr);
}

// Is ptr a live own block (mediumAllocOwn)? Changes nothing, never traps (index.ts knownCache).
export function mediumOwnAt(ptr: usize): bool {
  const d = regionOf(ptr);
  return d != 0 && checkIn(d, ptr, true) == E_OK;
}

// Usable bytes of the live block at ptr (mediumCheck said E_OK).
export function mediumUsable(ptr: usize): usize {
  return <usize>(sizeOf(ptr - MB_HDR) - MB_HDR);
}

// [p, p + bytes) lies inside one live medium block (index.ts callerRange).
export function mediumRange(p: usize, bytes: usize): bool {
  const d = regionOf(p);
  if (d == 0) return false;
  // walk from the region start: a pointer inside a block has no header of its own to check
  let b = regionStart(d) + MB_HDR;
  const sent = regionEnd(d) - MB_HDR;
  while (b < sent) {
    const s = sizeOf(b);
    if (s == 0) return false;                                   // a broken region: refuse
    if (p < b + s) {
      const w = hdrWord(b);
      return p >= b + MB_HDR && p + bytes <= b + s && (w & (MB_F_FREE | MB_F_RESERVED | MB_F_OWN)) == 0;
    }
    b += s;
  }
  return false;
}

// ---- free, resize ---------------------------------------------------------------------------------------

// Free the live block b of `size` bytes in the region at d: merge with free neighbours, then give back a
// wholly free non-home region, or a long free tail, to page.ts. Lock held.
function releaseBlock(c: usize, d: usize, b: usize, size: u32): void {
  release(c, d, b, size);
}

// releaseBlock's body, inlined into releaseBlock and, with INLINE_PATHS, into kfreeSlow's free
// (mediumFreeIn): the merge (with INLINE_PATHS one MC_FREE_BYTES update, its net change), a region's last
// block in releaseEnd.
@inline function release(c: usize, d: usize, b: usize, size: u32): void {
  const nx = b + size;
  const nw = hdrWord(nx);
  const nextFree = (nw & MB_F_FREE) != 0 && (nw & MB_F_RESERVED) == 0;
  const prevFree = (hdrWord(b) & MB_F_PREV_FREE) != 0;
  const freed = size;
  // Only the block before free (the free space a small block was cut from: takeTail), the next one live
  // or parked (F and R equal: not on a free list, not the sentinel, so not a region's last block, which
  // may go back to page.ts), and the merged block on that block's list, first there: merged in place, the
  // lists as the general path below leaves them (staysFirst).
  let merged = false;
  if (prevFree && ((nw ^ (nw >> 2)) & MB_F_FREE) == 0) {
    const ps = load<u32>(b - 4);
    const pb = b - ps;
    if (staysFirst(pb, ps, ps + size)) {
      killHeader(b);
      setHeader(pb, (ps + size) | MB_F_FREE);
      store<u32>(nx - 4, ps + size);                               // footer
      store<u32>(c, load<u32>(c, MC_FREE_BYTES) + size, MC_FREE_BYTES);
      store<u32>(nx, nw | MB_F_PREV_FREE);                         // flags only: the check stays
      merged = true;
    }
  }
  if (!merged) {
    if (nextFree) {                                               // the next block is free
      const ns = nw & ~MB_FLAGS;
      pathUnlink(c, nx, ns);
      killHeader(nx);
      size += ns;
    }
    if (prevFree) {                                               // the block before is free
      const ps = load<u32>(b - 4);
      const pb = b - ps;
      pathUnlink(c, pb, ps);
      killHeader(b);
      b = pb;
      size += ps;
    }
    const after = b + size;
    const aw = hdrWord(after);
    // the region's last block: the sentinel follows it (the only reserved header after a block that is
    // not a parked one)
    if ((aw & (MB_F_RESERVED | MB_F_FREE)) == MB_F_RESERVED) {
      pathBytes(c, 0, size - freed);                              // the neighbours unlinked
      releaseEnd(c, d, b, size);
    } else {
      store<u32>(after, aw | MB_F_PREV_FREE);                     // flags only: the check stays
      pathLink(c, b, size);
      pathBytes(c, freed, 0);
    }
  }
}

// release's end for the merged free block b of `size` bytes (on no list, not in MC_FREE_BYTES) that is
// its region's last: a non-home region wholly free goes back to page.ts, a free tail of at least
// TRIM_PAGES pages is trimmed, and the rest goes on its list. Lock held.
function releaseEnd(c: usize, d: usize, b: usize, size: u32): void {
  const r = regionStart(d);
  const end = b + size + MB_HDR;
  if (b == r + MB_HDR) {                                          // the whole region: back to page.ts
    const pages = <u32>changetype<PageDesc>(d).objects;
    listRemove(c + MC_REGIONS, d);
    store<u32>(c, load<u32>(c, MC_NREGIONS) - 1, MC_NREGIONS);
    store<u32>(c, load<u32>(c, MC_PAGES) - pages, MC_PAGES);
    killHeader(b);
    pagesFree(d, pages, true);                                    // descriptors reset, pages merged
    return;
  }
  // keep the pages up to the first boundary that leaves a whole free block, give the rest back
  const keepEnd = (b + MB_MIN + MB_HDR + PAGE_SIZE - 1) & ~(<usize>PAGE_SIZE - 1);
  if (keepEnd + (<usize>TRIM_PAGES << PAGE_SHIFT) <= end && !isPre(d)) {
    const pages = <u32>changetype<PageDesc>(d).objects;
    const keep = <u32>((keepEnd - r) >> PAGE_SHIFT);
    setHeader(keepEnd - MB_HDR, MB_F_RESERVED);
    size = <u32>(keepEnd - MB_HDR - b);
    changetype<PageDesc>(d).objects = <u16>keep;
    store<u32>(c, load<u32>(c, MC_PAGES) - (pages - keep), MC_PAGES);
    pagesTrim(d, pages, keep, true);
  }
  insertFree(c, b, size);
}

// free(ptr) for a pointer on a medium region's page: E_OK, or why it is not a live block (nothing changed).
export function mediumFree(ptr: usize): i32 {
  return freeBlock(ptr, false);
}

// Free the own block at ptr (mediumAllocOwn; its O flag goes): E_OK, or why it is not one (any other
// block is refused: E_NOT_OURS; nothing changed).
export function mediumFreeOwn(ptr: usize): i32 {
  return freeBlock(ptr, true);
}

// The body of both frees (inlined into each: mediumFreeIn keeps a single caller, kmalloc.ts kfreeSlow).
@inline function freeBlock(ptr: usize, own: bool): i32 {
  const d = regionOf(ptr);
  return d == 0 ? E_NOT_OURS : freeIn(d, ptr, own, false);
}

// mediumFree for a pointer whose region (first descriptor d, from mediumRegionAt) is known: kfreeSlow,
// which read ptr's page descriptor already. With INLINE_PATHS the usual free's whole path: the header's
// check (checkIn's usual case, mediumLiveSize) and the merge (release) inlined.
export function mediumFreeIn(d: usize, ptr: usize): i32 {
  return freeIn(d, ptr, false, true);
}

// `fast` (mediumFreeIn's copy only) with INLINE_PATHS: the check's usual case (mediumLiveSize) and the
// release inlined; else checkIn and releaseBlock, as the other copies.
@inline function freeIn(d: usize, ptr: usize, own: bool, fast: bool): i32 {
  const c = regionControl(d);
  if (c == 0) return E_NOT_OBJECT;
  lock(c + MC_LOCK);
  // threads: the region may have gone before the lock (single-threaded: d is still the region)
  let e = E_NOT_OBJECT;
  let size: u32 = 0;
  if ((!THREADED || regionOf(ptr) == d) && <usize>changetype<PageDesc>(d).aux == c) {
    if (INLINE_PATHS && fast) size = mediumLiveSize(d, ptr, own); // the usual case: a live block, its size
    if (size != 0) e = E_OK;
    else {
      e = checkIn(d, ptr, own);                                  // (the tests in their order, for the code)
      if (e == E_OK) size = sizeOf(ptr - MB_HDR);
    }
  }
  if (e == E_OK) {
    const b = ptr - MB_HDR;
    if (own) store<u32>(b, hdrWord(b) & ~MB_F_OWN);
    store<u32>(c, load<u32>(c, MC_BLOCKS) - 1, MC_BLOCKS);
    if (size <= PARK_MAX && isPre(d)) park(c, b, size);
    else if (INLINE_PATHS && fast) release(c, d, b, size);
    else releaseBlock(c, d, b, size);
  }
  unlock(c + MC_LOCK);
  return e;
}

// Resize the live block at ptr in place to hold `bytes`: shrink by splitting off the rest (merged with a
// free block after it), or grow into the free block after it, or into pages after its region. True when
// done; false (nothing changed) when the caller must move it. `checked`: the caller's mediumCheck said
// E_OK just before, with nothing run in between (krealloc's classify): the single-threaded build then
// does not check the header again (the threaded build checks under the lock in any case).
export function mediumResize(ptr: usize, bytes: usize, checked: bool = false): bool {
  const d = regionOf(ptr);
  return d != 0 && mediumResizeIn(d, ptr, bytes, checked);
}

// mediumResize for a pointer whose region (first descriptor d, from mediumRegionAt) is known: krealloc,
// which answers a block that keeps its size itself (mediumLiveSize read it) and calls this one to split
// or grow it.
export function mediumResizeIn(d: usize, ptr: usize, bytes: usize, checked: bool): bool {
  const c = regionControl(d);
  if (c == 0) return false;
  const want = mediumBlockSize(bytes);
  lock(c + MC_LOCK);
  // (the header test is checkIn's usual case, inlined: the same blocks pass, and no call here makes the
  // usual grow below spill its values)
  if ((THREADED && regionOf(ptr) != d) || <usize>changetype<PageDesc>(d).aux != c ||
      ((THREADED || !checked) && mediumLiveSize(d, ptr) == 0)) {
    unlock(c + MC_LOCK);
    return false;
  }
  const b = ptr - MB_HDR;
  const w = hdrWord(b);
  const size = w & ~MB_FLAGS;
  if (want <= size) return resizeRest(c, d, b, w, want, false);  // a split, or nothing to do
  // the usual grow (realloc2-bal): into the free block after it, whose rest stays first on its list —
  // relink's staysFirst case inlined, with no call and no look at the region's end (every other case is
  // resizeRest's, called in tail position: this path keeps its values in registers)
  const nx = b + size;
  const nw = hdrWord(nx);
  const ns = nw & ~MB_FLAGS;
  if ((nw & (MB_F_FREE | MB_F_RESERVED)) == MB_F_FREE && size + ns >= want + MB_MIN &&
      staysFirst(nx, ns, size + ns - want)) {
    relinkFirst(c, nx, ns, b + want, size + ns - want);         // the rest (the block after it has P)
    killHeader(nx);
    setHeader(b, want | (w & MB_F_PREV_FREE));
    unlock(c + MC_LOCK);
    return true;
  }
  return resizeRest(c, d, b, w, want, true);
}

// mediumResizeIn's other cases, out of line (two call sites), for the live block b (header word w) of
// region d whose control block c is locked, to become `want` bytes: !grow, a split when it shrinks by a
// free block's worth (else nothing); grow, into the free block after it (the region grown first when the
// block is its last, or followed by its last free block that is too short). Unlocks; true when done.
function resizeRest(c: usize, d: usize, b: usize, w: u32, want: u32, grow: bool): bool {
  const size = w & ~MB_FLAGS;
  let ok = true;
  if (!grow) {
    if (size - want >= MB_MIN) {                                 // split; the rest is a free block
      setHeader(b, want | (w & MB_F_PREV_FREE));
      const rest = b + want;
      setHeader(rest, size - want);                              // a live header, freed at once
      releaseBlock(c, d, rest, size - want);
    }
  } else {
    const nx = b + size;
    let nw = hdrWord(nx);
    let ns = nw & ~MB_FLAGS;
    const sent = regionEnd(d) - MB_HDR;
    // the last block, or followed by the last (free) one that is too short: grow the region first
    if ((nx == sent || ((nw & MB_F_FREE) != 0 && nx + (nw & ~MB_FLAGS) == sent && size + (nw & ~MB_FLAGS) < want)) &&
        growRegion(c, d, want - size)) { nw = hdrWord(nx); ns = nw & ~MB_FLAGS; }
    if ((nw & MB_F_FREE) != 0 && (nw & MB_F_RESERVED) == 0 && size + ns >= want) {
      const total = size + ns;
      if (total - want >= MB_MIN) {
        relink(c, nx, ns, b + want, total - want);              // the rest (the block after it has P)
        killHeader(nx);
        setHeader(b, want | (w & MB_F_PREV_FREE));
      } else {
        removeFree(c, nx, ns);
        killHeader(nx);
        setHeader(b, total | (w & MB_F_PREV_FREE));
        const after = b + total;
        store<u32>(after, hdrWord(after) & ~MB_F_PREV_FREE);
      }
    } else ok = false;
  }
  unlock(c + MC_LOCK);
  return ok;
}

// ---- validate and walks ---------------------------------------------------------------------------------

// The address of the first problem mediumValidate found.
export let mediumBadAt: usize = 0;

function bad(n: u32, at: usize): u32 {
  if (n == 0) mediumBadAt = at;
  return n + 1;
}

// Check node's medium heap against the invariants above: every region block by block, then every free
// list. Returns the number of problems (0: consistent). Read-only. Caller holds no lock (a quiescent heap).
export function mediumValidate(node: u32): u32 {
  const c = controlOf(node);
  let n: u32 = 0;
  if (c == 0) return 0;
  let freeBlocks: u32 = 0, freeBytes: u32 = 0, live: u32 = 0, regions: u32 = 0, allPages: u32 = 0, parked: u32 = 0;
  let d = <usize>load<u32>(c, MC_REGIONS);
  while (d != 0 && regions < 1 << 16) {
    regions++;
    if (changetype<PageDesc>(d).kind != K_MEDIUM || <usize>changetype<PageDesc>(d).aux != c ||
        <u32>changetype<PageDesc>(d).node != node) { n = bad(n, d); break; }
    const pages = <u32>changetype<PageDesc>(d).objects;
    allPages += pages;
    if (isPre(d) && pages != prePages()) n = bad(n, d);
    for (let t: u32 = 1; t < pages && !isPre(d); t++) {
      const td = d + (<usize>t << 5);
      if (changetype<PageDesc>(td).kind != K_MEDIUM_TAIL || <usize>changetype<PageDesc>(td).aux != d) n = bad(n, td);
    }
    const r = regionStart(d);
    const sent = regionEnd(d) - MB_HDR;
    let b = r + MB_HDR;
    let prevFree = false;
    let blocks: u32 = 0;
    let allFree = true;
    while (b < sent) {
      const w = hdrWord(b);
      const s = w & ~MB_FLAGS;
      if (s < MB_MIN || (s & MB_FLAGS) != 0 || b + s > sent || load<u32>(b, 4) != keyOf(b, s) ||
          ((w & MB_F_PREV_FREE) != 0) != prevFree) { n = bad(n, b); break; }
      let f = (w & MB_F_FREE) != 0;
      if ((w & MB_F_RESERVED) != 0) {
        if (f) {                                                  // parked: small, in the pre-chunk region
          if (!isPre(d) || s > PARK_MAX || (w & MB_F_OWN) != 0) n = bad(n, b);
          parked++;
          f = false;                                              // (no P after it)
        } else if (b != r + MB_HDR || s != CTRL_BLOCK || b + MB_HDR != c) n = bad(n, b);
        allFree = false;
      } else if (f) {
        if (prevFree || (w & MB_F_OWN) != 0 || load<u32>(b + s - 4) != s) n = bad(n, b);
        freeBlocks++;
        freeBytes += s;
      } else { live++; allFree = false; }
      prevFree = f;
      blocks++;
      b += s;
    }
    if (b != sent || (hdrWord(sent) & ~MB_FLAGS) != 0 || (hdrWord(sent) & MB_F_RESERVED) == 0 ||
        ((hdrWord(sent) & MB_F_PREV_FREE) != 0) != prevFree || load<u32>(sent, 4) != keyOf(sent, 0)) n = bad(n, sent);
    if (allFree && blocks != 0) n = bad(n, d);                  // a wholly free region should have gone back
    d = <usize>changetype<PageDesc>(d).next;
  }
  if (regions != load<u32>(c, MC_NREGIONS)) n = bad(n, c + MC_NREGIONS);
  if (allPages != load<u32>(c, MC_PAGES)) n = bad(n, c + MC_PAGES);
  if (freeBytes != load<u32>(c, MC_FREE_BYTES)) n = bad(n, c + MC_FREE_BYTES);
  if (live != load<u32>(c, MC_BLOCKS)) n = bad(n, c + MC_BLOCKS);
  // the free lists: every entry a free block of its list's size, maps exact, as many entries as blocks
  let listed: u32 = 0;
  const flMap = load<u32>(c, MC_FL_MAP);
  for (let fl: u32 = 0; fl < MB_FL_COUNT; fl++) {
    const sm = <u32>load<u16>(c + MC_SL_MAP + (<usize>fl << 1));
    if (((flMap >> fl) & 1) != (sm != 0 ? 1 : 0)) n = bad(n, c + MC_FL_MAP);
    for (let sl: u32 = 0; sl < MB_SL_COUNT; sl++) {
      const i = (fl << MB_SL_SHIFT) | sl;
      let b = <usize>load<u32>(headAt(c, i));
      if (((sm >> sl) & 1) != (b != 0 ? 1 : 0)) n = bad(n, headAt(c, i));
      let prev: usize = 0;
      while (b != 0 && listed <= freeBlocks) {
        const owner = regionOf(b);
        if (owner == 0 || <usize>changetype<PageDesc>(owner).aux != c || (hdrWord(b) & MB_F_FREE) == 0 ||
            listOf(sizeOf(b)) != i || load<u32>(b, MB_LIST) != i || <usize>load<u32>(b, 12) != prev) { n = bad(n, b); break; }
        listed++;
        prev = b;
        b = <usize>load<u32>(b, 8);
      }
    }
  }
  if (listed != freeBlocks) n = bad(n, c + MC_HEADS);
  // the park list: parked blocks (the walk found them in the pre-chunk region), each once, counted, each
  // size in the filter
  const pw = load<u32>(c, MC_PARKED);
  let b = <usize>load<u32>(c, MC_PARK);
  let onList: u32 = 0;
  while (b != 0 && onList <= parked) {
    if ((hdrWord(b) & (MB_F_FREE | MB_F_RESERVED)) != (MB_F_FREE | MB_F_RESERVED) || (pw & parkBit(sizeOf(b))) == 0) break;
    onList++;
    b = <usize>load<u32>(b, 8);
  }
  if (b != 0 || onList != parked || (pw & 0xffff) != parked || parked > PARK_DEPTH) n = bad(n, c + MC_PARK);
  return n;
}

// Footprint walk of the region at d (footprint.ts): results in the globals below, in bytes.
export let walkMeta: usize = 0;     // the 8 bytes before the first block, the sentinel, headers, control
export let walkUsable: usize = 0;   // usable bytes of live blocks (own blocks excluded)
export let walkOwn: usize = 0;      // usable bytes of own blocks (the heap's own structures)
export let walkBlocks: u32 = 0;     // live blocks
export let walkParked: usize = 0;   // parked blocks, headers included (layout.ts "Parked blocks")
// Free blocks of the region at d, one per call: set cursor with mediumWalkBegin(d), then mediumFreeNext()
// returns each free block's address (its size: mediumFreeSize) and 0 at the end, after filling the
// totals above.
let cursor: usize = 0;
let cursorEnd: usize = 0;
export let mediumFreeSize: u32 = 0;

export function mediumWalkBegin(d: usize): void {
  walkMeta = 2 * MB_HDR;
  walkUsable = 0;
  walkOwn = 0;
  walkBlocks = 0;
  walkParked = 0;
  cursor = regionStart(d) + MB_HDR;
  cursorEnd = regionEnd(d) - MB_HDR;
}

export function mediumFreeNext(): usize {
  while (cursor < cursorEnd) {
    const b = cursor;
    const w = hdrWord(b);
    const s = w & ~MB_FLAGS;
    if (s == 0) { cursor = cursorEnd; return 0; }              // a broken region: stop (validate says so)
    cursor = b + s;
    if ((w & MB_F_RESERVED) != 0) {
      if ((w & MB_F_FREE) != 0) walkParked += s;
      else walkMeta += s;
    } else if ((w & MB_F_FREE) != 0) { mediumFreeSize = s; return b; }
    else if ((w & MB_F_OWN) != 0) { walkMeta += MB_HDR; walkOwn += s - MB_HDR; }
    else { walkMeta += MB_HDR; walkUsable += s - MB_HDR; walkBlocks++; }
  }
  return 0;
}
