// page.ts — the per-node page allocator: a buddy system inside each chunk, whole free chunks, and runs of
// chunks for huge blocks.
//
// Owns: the node headers' page fields (NodeHdr: free lists, free pages, free chunks), the chunk headers
// (ChunkHdr), and the K_FREE / K_NONE / K_META / K_RUN descriptor kinds (PageDesc.kind); all read through
// the classes of structs.ts.
// Entry points: pageAlloc(node, order) → descriptor, pageFree(desc); runAlloc(node, chunks, bytes) → user
// pointer, runFree(chunkIdx); pageAllocReclaiming / runAllocReclaiming (the same, with the shortage
// handler that reclaim.ts registers run between a failure and the answer).
// Called by: slab.ts (slabs of order 0..3), kmalloc (large blocks and runs), reclaim. Calls arena.ts, and
// on a shortage the handler a higher layer registered (reclaim.ts: pressure reclaim), never by import.
//
// Inside a chunk (256 pages) pages 0-1 hold the descriptors, so a fresh chunk is seven free blocks:
//
//   page: 0 1 2 3 4   7 8      15 16         31 32   63 64      127 128                        255
//         ├meta┼o1─┼─o2──┼───o3───┼─────o4──────┼──o5───┼───o6─────┼────────────o7─────────────┤
//
// A block of order o starts at a page index that is a multiple of 2^o, and its buddy is index ^ 2^o.
// Allocation takes the lowest-addressed block of the smallest order that fits (popLowest: address-
// ordered first fit, bounded scan). pageExtend grows a block in place over the free blocks after it.
// When every usable page of a chunk is free again (chunk free pages == 254) the blocks above are exactly
// what is left; they leave the buddy lists and the chunk goes on the node's free-chunk list (state
// CS_FREE, "order 8"), where any cache of that node, or a run, can take it whole.
//
// Invariants (checked by validate):
//   node.freePages = Σ 2^order over its K_FREE blocks + USABLE_PAGES × node.nrFreeChunks
//   chunk.freePages = Σ 2^order over the K_FREE blocks inside that chunk
//   a K_FREE block's buddy is never a K_FREE block of the same order (merging is eager)
//   every descriptor inside a free block, and of a free chunk, is K_NONE except the block head
import {
  CHUNK_SHIFT, CHUNK_SIZE, CS_BUDDY, CS_FREE, CS_RUN, CT_RUN_TAIL, DESC_BYTES,
  DESC_SHIFT, DESC_SIZE, H_NODES, K_FREE, K_META, K_NONE, K_RUN, MAX_BUDDY_ORDER, META_PAGES,
  N_FREE_CHUNK_HEAD, N_LOCK, NODE_SIZE, PAGE_SHIFT, PAGES_PER_CHUNK, USABLE_PAGES, H_NNODES,
  PAGE_SIZE,
} from "./layout";
import { ChunkHdr, NodeHdr, PageDesc } from "./structs";
import { CHUNK_BASE, HEAP, chunkByte, chunkIndex, chunkStart, commitTo, growChunks, nchunks, setChunkByte, pageAddr } from "./arena";
import { listPop, listPush, listRemove } from "./list";
import { lock, unlock } from "./sync";

@inline export function nodeAddr(node: u32): usize {
  return HEAP + H_NODES + <usize>node * NODE_SIZE;
}

@inline export function nnodes(): u32 {
  return load<u32>(HEAP, H_NNODES);
}

// The chunk header (descriptor 0) of the chunk holding descriptor or address `p`.
@inline export function chunkHeaderOf(p: usize): usize {
  return p - ((p - CHUNK_BASE) & (CHUNK_SIZE - 1));
}

@inline function freeList(n: usize, order: u32): usize {
  return changetype<NodeHdr>(n).freeListAt(order);
}

// Page indices [lo, hi) of a chunk whose first usable page is lo form free blocks of maximal order.
function chunkToBuddy(n: usize, ch: usize, node: u32): void {
  changetype<ChunkHdr>(ch).kind = K_META;
  changetype<ChunkHdr>(ch).state = CS_BUDDY;
  changetype<ChunkHdr>(ch).node = <u8>node;
  changetype<PageDesc>(ch + DESC_SIZE).kind = K_META;
  changetype<ChunkHdr>(ch).freePages = USABLE_PAGES;
  for (let o: u32 = 1; o <= MAX_BUDDY_ORDER; o++) {
    const d = ch + ((<usize>1 << o) << DESC_SHIFT); // the block of order o starts at page 2^o
    changetype<PageDesc>(d).kind = K_FREE;
    changetype<PageDesc>(d).order = <u8>o;
    changetype<PageDesc>(d).node = <u8>node;
    listPush(freeList(n, o), d);
  }
}

// Take a whole chunk off the buddy lists (all its usable pages are free) onto the free-chunk list.
function buddyToFreeChunk(n: usize, ch: usize): void {
  for (let o: u32 = 1; o <= MAX_BUDDY_ORDER; o++) {
    const d = ch + ((<usize>1 << o) << DESC_SHIFT);
    if (ASC_NO_ASSERT == false) assert(changetype<PageDesc>(d).kind == K_FREE && changetype<PageDesc>(d).order == <u8>o); // chunk not fully merged
    listRemove(freeList(n, o), d);
    changetype<PageDesc>(d).kind = K_NONE;
    changetype<PageDesc>(d).order = 0;
  }
  changetype<ChunkHdr>(ch).state = CS_FREE;
  changetype<ChunkHdr>(ch).discarded = 0;                   // its pages were used since any discard
  listPush(n + N_FREE_CHUNK_HEAD, ch);
  changetype<NodeHdr>(n).nrFreeChunks += 1;
}

// A chunk for `node`: a free one of that node, else a freshly grown one. Node lock held. 0 on failure.
function takeChunk(n: usize, node: u32): usize {
  let ch = listPop(n + N_FREE_CHUNK_HEAD);
  if (ch != 0) {
    changetype<NodeHdr>(n).nrFreeChunks -= 1;
    changetype<NodeHdr>(n).freePages -= USABLE_PAGES;
    return ch;
  }
  const idx = growChunks(1, node);
  if (idx < 0) return 0;
  changetype<NodeHdr>(n).nchunks += 1;
  return chunkStart(<u32>idx);
}

// Take the free block at the lowest address off a free list (address-ordered first fit: the blocks
// in use pack towards the bottom of the heap and the holes above them merge, so fragmentation stays
// low and the lazily committed top of the heap is reached late). Walks at most LOWEST_SCAN entries.
const LOWEST_SCAN: u32 = 64;
function popLowest(head: usize): usize {
  let best = <usize>load<u32>(head);
  if (best == 0) return 0;
  let cur = <usize>changetype<PageDesc>(best).next;
  for (let k: u32 = 1; cur != 0 && k < LOWEST_SCAN; k++) {
    if (cur < best) best = cur;
    cur = <usize>changetype<PageDesc>(cur).next;
  }
  listRemove(head, best);
  return best;
}

// Allocate a block of 2^order pages on `node` (no fallback: the caller decides about other nodes).
// Returns its head descriptor with order and node set and kind = K_NONE for the caller to set, or
// 0 when the node has no such block and cannot grow.
export function pageAlloc(node: u32, order: u32): usize {
  const n = nodeAddr(node);
  lock(n + N_LOCK);
  let o = order;
  let d: usize = 0;
  while (o <= MAX_BUDDY_ORDER) {
    d = popLowest(freeList(n, o));
    if (d != 0) break;
    o++;
  }
  if (d == 0) {
    const ch = takeChunk(n, node);
    if (ch == 0) { unlock(n + N_LOCK); return 0; }
    chunkToBuddy(n, ch, node);
    changetype<NodeHdr>(n).freePages += USABLE_PAGES;
    o = order;
    while ((d = listPop(freeList(n, o))) == 0) o++;
  }
  // Split down to the wanted order; the upper halves go back on the lists.
  while (o > order) {
    o--;
    const half = d + ((<usize>1 << o) << DESC_SHIFT);
    changetype<PageDesc>(half).kind = K_FREE;
    changetype<PageDesc>(half).order = <u8>o;
    changetype<PageDesc>(half).node = <u8>node;
    listPush(freeList(n, o), half);
  }
  changetype<PageDesc>(d).kind = K_NONE;
  changetype<PageDesc>(d).order = <u8>order;
  changetype<PageDesc>(d).node = <u8>node;
  const ch = chunkHeaderOf(d);
  changetype<ChunkHdr>(ch).freePages -= (1 << order);
  changetype<NodeHdr>(n).freePages -= (1 << order);
  if (!commitTo(pageAddr(d) + (PAGE_SIZE << order))) {  // the top chunk is committed lazily
    mergeFreeLocked(n, ch, d, order, node);             // the engine said no: put the block back
    unlock(n + N_LOCK);
    return 0;
  }
  unlock(n + N_LOCK);
  return d;
}

// Return the block whose head descriptor is d (order from PageDesc.order). Every descriptor of the block is
// reset; the block merges with free buddies, and a chunk that becomes wholly free leaves the buddy lists.
export function pageFree(d: usize): void {
  const order = <u32>changetype<PageDesc>(d).order;
  const node = <u32>changetype<PageDesc>(d).node;
  const n = nodeAddr(node);
  const ch = chunkHeaderOf(d);
  memory.fill(d, 0, DESC_SIZE << order); // head and tails back to K_NONE, no stale links
  lock(n + N_LOCK);
  mergeFreeLocked(n, ch, d, order, node);
  unlock(n + N_LOCK);
}

// Give block d (order `order`, in chunk ch of node n) back to the buddy lists, merging it with free
// buddies; a chunk that becomes wholly free leaves the buddy lists. Node lock held.
function mergeFreeLocked(n: usize, ch: usize, d: usize, order: u32, node: u32): void {
  let pi = <u32>((d - ch) >> DESC_SHIFT);
  let o = order;
  while (o < MAX_BUDDY_ORDER) {
    const bi = pi ^ (1 << o);
    const bd = ch + (<usize>bi << DESC_SHIFT);
    if (changetype<PageDesc>(bd).kind != K_FREE || <u32>changetype<PageDesc>(bd).order != o) break;
    listRemove(freeList(n, o), bd);
    changetype<PageDesc>(bd).kind = K_NONE;
    changetype<PageDesc>(bd).order = 0;
    if (bi < pi) pi = bi;
    o++;
  }
  const head = ch + (<usize>pi << DESC_SHIFT);
  changetype<PageDesc>(head).kind = K_FREE;
  changetype<PageDesc>(head).order = <u8>o;
  changetype<PageDesc>(head).node = <u8>node;
  listPush(freeList(n, o), head);
  const chFree = changetype<ChunkHdr>(ch).freePages + (1 << order);
  changetype<ChunkHdr>(ch).freePages = chFree;
  changetype<NodeHdr>(n).freePages += (1 << order);
  if (chFree == USABLE_PAGES) buddyToFreeChunk(n, ch);
}

// Grow a block in place: claim pages [from, to) of the chunk whose header is ch, for a block of `node`
// that ends at page `from` (kmalloc's realloc of a large block). Only when every one of those pages lies
// in a free buddy block that starts at or after `from` — a free block holding page `from` cannot start
// before it, as buddy blocks are aligned and the block below is in use — so the walk is head to head.
// The part of the last block past `to` goes back to the lists as aligned blocks. The claimed pages'
// descriptors are left zeroed (K_NONE) for the caller, and their memory committed. False, and nothing
// changed, when a page is not free, the range leaves the chunk, or the engine refuses to commit.
export function pageExtend(ch: usize, node: u32, from: u32, to: u32): bool {
  if (to > PAGES_PER_CHUNK || from >= to) return false;
  const n = nodeAddr(node);
  lock(n + N_LOCK);
  let p = from;
  while (p < to) {
    const bd = ch + (<usize>p << DESC_SHIFT);
    if (changetype<PageDesc>(bd).kind != K_FREE) { unlock(n + N_LOCK); return false; }
    p += <u32>1 << changetype<PageDesc>(bd).order;
  }
  const end = p;                                          // end of the last free block walked
  if (!commitTo(pageAddr(ch) + (<usize>to << PAGE_SHIFT))) { unlock(n + N_LOCK); return false; }
  p = from;
  while (p < end) {
    const bd = ch + (<usize>p << DESC_SHIFT);
    const o = <u32>changetype<PageDesc>(bd).order;
    listRemove(freeList(n, o), bd);
    memory.fill(bd, 0, DESC_SIZE);                        // the head back to K_NONE (its inside already is)
    p += <u32>1 << o;
  }
  const taken = end - from;
  changetype<ChunkHdr>(ch).freePages -= taken;
  changetype<NodeHdr>(n).freePages -= taken;
  p = to;                                                 // give [to, end) back, aligned pieces
  while (p < end) {
    let o: u32 = 31 - <u32>clz(end - p);
    const tz = <u32>ctz(p);
    if (tz < o) o = tz;
    mergeFreeLocked(n, ch, ch + (<usize>p << DESC_SHIFT), o, node);
    p += <u32>1 << o;
  }
  unlock(n + N_LOCK);
  return true;
}

// ---- runs of whole chunks (allocations above what a chunk's buddy blocks can hold) ----------------------
//
//   chunk k (CS_RUN)                    chunk k+1 (table byte has CT_RUN_TAIL)
//   ├ descriptors ┼ user bytes ...      ┼ user bytes (its descriptor area too) ...┤
//                 ↑ user pointer = chunkStart(k) + DESC_BYTES; its descriptor is K_RUN

// Bytes a run of `count` chunks can hold.
@inline export function runCapacity(count: u32): usize {
  return (<usize>count << CHUNK_SHIFT) - DESC_BYTES;
}

// Find `count` adjacent free chunks of `node`; 0xffffffff if none. Node lock held.
function findFreeRun(count: u32, node: u32): u32 {
  const total = nchunks();
  let runStart: u32 = 0, runLen: u32 = 0;
  for (let i: u32 = 0; i < total; i++) {
    const chb = chunkByte(i);
    const ch = chunkStart(i);
    if ((chb & CT_RUN_TAIL) == 0 && <u32>chb == node && changetype<ChunkHdr>(ch).state == CS_FREE) {
      if (runLen == 0) runStart = i;
      if (++runLen == count) return runStart;
    } else runLen = 0;
  }
  return 0xffffffff;
}

// Allocate `count` contiguous chunks for one huge block of `bytes`; returns the user pointer or 0.
export function runAlloc(node: u32, count: u32, bytes: usize): usize {
  const n = nodeAddr(node);
  lock(n + N_LOCK);
  let first = findFreeRun(count, node);
  if (first != 0xffffffff && !commitTo(chunkStart(first + count - 1) + CHUNK_SIZE)) first = 0xffffffff; // the
  // top free chunk may be only partly committed; if the engine refuses, try growing instead (it will fail too)
  if (first != 0xffffffff) {
    for (let i: u32 = 0; i < count; i++) {
      const ch = chunkStart(first + i);
      listRemove(n + N_FREE_CHUNK_HEAD, ch);
      changetype<ChunkHdr>(ch).state = 0;
    }
    changetype<NodeHdr>(n).nrFreeChunks -= count;
    changetype<NodeHdr>(n).freePages -= count * USABLE_PAGES;
  } else {
    const idx = growChunks(count, node, true);        // a run is handed out whole: commit it all
    if (idx < 0) { unlock(n + N_LOCK); return 0; }
    first = <u32>idx;
    changetype<NodeHdr>(n).nchunks += count;
  }
  const ch = chunkStart(first);
  changetype<ChunkHdr>(ch).kind = K_META;
  changetype<ChunkHdr>(ch).state = CS_RUN;
  changetype<ChunkHdr>(ch).node = <u8>node;
  changetype<ChunkHdr>(ch).runChunks = count;
  changetype<ChunkHdr>(ch).runBytes = <u32>bytes;
  changetype<PageDesc>(ch + DESC_SIZE).kind = K_META;
  const d = ch + (<usize>META_PAGES << DESC_SHIFT);
  changetype<PageDesc>(d).kind = K_RUN;
  changetype<PageDesc>(d).node = <u8>node;
  changetype<PageDesc>(d).aux = <u32>bytes;
  for (let i: u32 = 1; i < count; i++) setChunkByte(first + i, <u8>node | CT_RUN_TAIL);
  changetype<NodeHdr>(n).largePages += count * PAGES_PER_CHUNK;
  unlock(n + N_LOCK);
  return ch + DESC_BYTES;
}

// Free the run whose user pointer is `ptr` (its descriptor is K_RUN). Its chunks become free chunks.
export function runFree(ptr: usize): void {
  const first = chunkIndex(ptr);
  const ch = chunkStart(first);
  const node = <u32>changetype<ChunkHdr>(ch).node;
  const count = changetype<ChunkHdr>(ch).runChunks;
  const n = nodeAddr(node);
  lock(n + N_LOCK);
  for (let i: u32 = 0; i < count; i++) {
    const c = chunkStart(first + i);
    memory.fill(c, 0, DESC_BYTES); // a tail's descriptor area held user bytes
    setChunkByte(first + i, <u8>node);
    changetype<PageDesc>(c).kind = K_META;
    changetype<ChunkHdr>(c).state = CS_FREE;
    changetype<ChunkHdr>(c).node = <u8>node;
    changetype<PageDesc>(c + DESC_SIZE).kind = K_META;
    listPush(n + N_FREE_CHUNK_HEAD, c);
  }
  changetype<NodeHdr>(n).nrFreeChunks += count;
  changetype<NodeHdr>(n).freePages += count * USABLE_PAGES;
  changetype<NodeHdr>(n).largePages -= count * PAGES_PER_CHUNK;
  unlock(n + N_LOCK);
}

// Free pages of a node (buddy blocks and free chunks).
export function freePages(node: u32): u32 {
  return changetype<NodeHdr>(nodeAddr(node)).freePages;
}

// ---- shortage: the one way up ---------------------------------------------------------------------------
// A page shortage reaches reclaim through a handler that a higher layer registers with this layer, not by
// import: reclaim.ts declares `pageShortageHandler` in the global scope (AssemblyScript's @global), and the
// calls below resolve to it when the program is compiled with reclaim.ts in it; without it (a program or
// spec that leaves reclaim out) a shortage fails plainly. Slow path only: the handler runs after pageAlloc
// / runAlloc failed. `run` false: a block of order `n` for pageAlloc; true: a run of `n` chunks of which
// `bytes` are asked, for runAlloc. It returns the block (as pageAlloc / runAlloc would) or 0. The caller
// holds no lock: the handler calls the host.
// (A function reference would do the same at run time, but AssemblyScript keeps every function
// reference as an object in static memory, and this module writes nothing below the heap's base: C
// modules sharing or merged with it own that memory.)

// pageAlloc(node, order), running the shortage handler before it gives up. Head descriptor or 0.
export function pageAllocReclaiming(node: u32, order: u32): usize {
  const d = pageAlloc(node, order);
  if (d != 0) return d;
  if (isDefined(pageShortageHandler)) return pageShortageHandler(false, node, order, 0);
  return 0;
}

// runAlloc(node, count, bytes), running the shortage handler before it gives up. User pointer or 0.
export function runAllocReclaiming(node: u32, count: u32, bytes: usize): usize {
  const p = runAlloc(node, count, bytes);
  if (p != 0) return p;
  if (isDefined(pageShortageHandler)) return pageShortageHandler(true, node, count, bytes);
  return 0;
}
