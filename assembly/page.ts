// page.ts — the per-node page allocator: runs of exactly the pages asked for inside each chunk, kept in
// size bins and coalesced with their free neighbours at once; whole free chunks; runs of chunks for huge
// blocks.
//
// Owns: the node headers' page fields (NodeHdr: bin lists and bin map, top run, free pages, free chunks),
// the chunk headers (ChunkHdr), and the K_FREE / K_FREE_TAIL / K_NONE / K_META / K_RUN descriptor kinds
// (PageDesc.kind); all read through the classes of structs.ts.
// Entry points: pagesAlloc(node, pages, align, large) → first descriptor, pagesFree(d, pages, large),
// pagesExtend / pagesExtendUpTo / pagesTrim (grow or shrink a run in place: realloc of a large block, a
// medium region); pageAlloc(node, order)
// / pageFree(d) (a slab: 2^order pages aligned to their size, the order kept in the descriptor);
// runAlloc(node, chunks, bytes) → user pointer, runFree(ptr), runResize / runUsable (realloc in place,
// malloc_usable_size: a run is committed to its block's end only); pageAllocReclaiming /
// pagesAllocReclaiming / runAllocReclaiming (the same, with the shortage handler that reclaim.ts registers
// run between a failure and the answer; the handler retries with pagesAllocNatural).
// Called by: slab.ts (slabs of order 0..3), kmalloc (large blocks and runs), reclaim. Calls arena.ts, and
// on a shortage the handler a higher layer registered (reclaim.ts: pressure reclaim), never by import.
// Threaded build: every function here that changes a node's lists takes that node's lock (sync.ts) and
// takes no other lock while holding it except the grow lock (arena.ts growChunks / commitTo), the order
// written in sync.ts's header.
//
// Inside a chunk (256 pages) pages 0-1 hold the descriptors; pages 2..255 are covered exactly by slabs,
// large blocks and free runs. A fresh chunk is one free run of 254 pages:
//
//   page: 0 1 2                                                                       255
//         ├meta┼── slab ──┼─ large (7 pages) ─┼─ free run ─┼─ slab ─┼──── free run ────┤
//                                              ↑ K_FREE, objects = length   ↑ K_FREE_TAIL, aux = head
//
// Free runs: the first descriptor is K_FREE with the length in `objects` and the links of its size bin
// (binOf: 1..8 pages exact, then 4 bins of 2 pages up to 16, then two bins per doubling up to 256); the
// last one (length ≥ 2) is K_FREE_TAIL pointing at the first; those between are zero. A freed range looks
// at the descriptor just below it and the one just past it and merges with a free run on either side, so
// two free runs are never adjacent. Allocation takes a best fit among the first entries of the smallest
// bin that can hold the request (the node's bin map finds the next non-empty bin in one ctz), and splits
// off the rest; a run whose pages were never handed out (above the high-water mark: the top of the
// heap, committed lazily) only when no bin has another, and a free chunk before it. Aligned requests
// (slabs are naturally aligned; aligned_alloc) take the first aligned start inside a run; the part below
// it goes back as its own run.
// The top run (NodeHdr.top, dlmalloc's top chunk): the run a chunk the node takes becomes is on no bin
// (its first descriptor's links zero). It is looked at after every bin (a fit below the high-water mark
// first, as for the bins), cut from below in place (its first descriptor moves up, its last one stays: no
// bin touched) and stays the top with what is left; a range freed next to it merges into it in place and
// is the top. It ends when it is used up, or its chunk is wholly free (the chunk goes on the free-chunk
// list), or the node takes another chunk (it goes on its bin, the new chunk's run is the top).
// When every usable page of a chunk is free again (chunk free pages == 254) its run leaves the bins and
// the chunk goes on the node's free-chunk list (state CS_FREE), where any cache of that node, or a run of
// chunks, can take it whole. (The state CS_BUDDY keeps its name: a chunk served by the page runs.)
//
// Invariants (checked by validate):
//   node.freePages = Σ length over its free runs + USABLE_PAGES × node.nrFreeChunks
//   chunk.freePages = Σ length over the free runs inside that chunk
//   a free run is on the list of bin binOf(length) of its node, or is its node's top run (on no list);
//   binMap bit b ⇔ list b not empty
//   no two free runs are adjacent (merging is eager)
//   every descriptor inside a free run but its first and last, and of a free chunk, is K_NONE (zero)
import {
  CHUNK_BASE_ALIGN, CHUNK_SHIFT, CHUNK_SIZE, CS_BUDDY, CS_FREE, CS_RUN, CT_RUN_TAIL, DESC_BYTES,
  DESC_SHIFT, DESC_SIZE, H_HIGH_WATER, H_NODES, K_FREE, K_FREE_TAIL, K_META, K_RUN, MAX_SLAB_ORDER, META_PAGES,
  N_FREE_CHUNK_HEAD, N_LOCK, NODE_SIZE, PAGE_SHIFT, PAGES_PER_CHUNK, USABLE_PAGES, H_NNODES,
  PAGE_SIZE, WASM_PAGE_SHIFT,
} from "./layout";
import { ChunkHdr, NodeHdr, PageDesc } from "./structs";
import { CHUNK_BASE, HEAP, chunkByte, chunkIndex, chunkStart, commitTo, growChunks, nchunks, setChunkByte, pageAddr } from "./arena";
import { listPop, listPush, listRemove } from "./list";
import { THREADED, lock, unlock } from "./sync";

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

// The size bin of a free run of `len` pages (1..PAGES_PER_CHUNK): 0..7 for 1..8 pages, 8..11 for 9..16 in
// steps of 2, then two bins per doubling: 17-24 25-32 | 33-48 49-64 | 65-96 97-128 | 129-192 193-256.
@inline export function binOf(len: u32): u32 {
  if (len <= 8) return len - 1;
  if (len <= 16) return 8 + ((len - 9) >> 1);
  const k = 31 - <u32>clz(len - 1);                       // 4..7
  return 12 + ((k - 4) << 1) + (((len - 1) >> (k - 1)) & 1);
}

@inline function freeList(n: usize, bin: u32): usize {
  return changetype<NodeHdr>(n).freeListAt(bin);
}

@inline function descAt(ch: usize, p: u32): usize {
  return ch + (<usize>p << DESC_SHIFT);
}

// Zero `count` descriptors from d: four u64 stores each, never memory.fill (V8 runs it as a call into
// memset, whose `rep stosb` costs an instruction per byte on the CPUs measured: a medium region given
// back, 90 pages on average on random-bal, cost ~2 900 x86 instructions in pagesFree that way against
// ~600 as stores; bench/PROFILE.md "Region tops, session 10").
@inline function zeroDescs(d: usize, count: u32): void {
  for (let e = d + (<usize>count << DESC_SHIFT); d < e; d += DESC_SIZE) {
    store<u64>(d, 0); store<u64>(d, 0, 8); store<u64>(d, 0, 16); store<u64>(d, 0, 24);
  }
}

// Zero the one descriptor d.
@inline function zeroDesc(d: usize): void {
  store<u64>(d, 0); store<u64>(d, 0, 8); store<u64>(d, 0, 16); store<u64>(d, 0, 24);
}

// Index in its chunk of the page whose descriptor is d.
@inline export function pageIndex(d: usize): u32 {
  return <u32>((d - chunkHeaderOf(d)) >> DESC_SHIFT);
}

// Make pages [p, p + len) of chunk ch a free run on no bin: its first descriptor (returned) and its last.
// Every other descriptor of the range is zero; the first may be a run's last one before (aux cleared),
// the last a run's first one (every field it keeps is written).
function runMark(ch: usize, p: u32, len: u32, node: u32): usize {
  const h = descAt(ch, p);
  changetype<PageDesc>(h).kind = K_FREE;
  changetype<PageDesc>(h).objects = <u16>len;
  changetype<PageDesc>(h).node = <u8>node;
  changetype<PageDesc>(h).aux = 0;
  if (len > 1) {
    const t = descAt(ch, p + len - 1);
    changetype<PageDesc>(t).kind = K_FREE_TAIL;
    changetype<PageDesc>(t).node = <u8>node;
    changetype<PageDesc>(t).aux = <u32>h;
  }
  return h;
}

// Put the free run whose first descriptor is h (on no bin) on its bin. Node lock held.
function runBin(n: usize, h: usize): void {
  const b = binOf(<u32>changetype<PageDesc>(h).objects);
  listPush(freeList(n, b), h);
  changetype<NodeHdr>(n).binMap |= <u32>1 << b;
}

// Make pages [p, p + len) of chunk ch (descriptors all zero) a free run: the node's top run when `top`,
// else on its bin. Node lock held.
function runPut(n: usize, ch: usize, p: u32, len: u32, node: u32, top: bool): void {
  const h = runMark(ch, p, len, node);
  if (top) changetype<NodeHdr>(n).top = <u32>h;
  else runBin(n, h);
}

// Take the free run whose first descriptor is h off its bin, or off the top when it is the top run (true),
// and zero its first and last descriptors. Node lock held.
function runTake(n: usize, h: usize): bool {
  const len = <u32>changetype<PageDesc>(h).objects;
  const top = <usize>changetype<NodeHdr>(n).top == h;
  if (top) changetype<NodeHdr>(n).top = 0;
  else {
    const b = binOf(len);
    const head = freeList(n, b);
    listRemove(head, h);
    if (load<u32>(head) == 0) changetype<NodeHdr>(n).binMap &= ~(<u32>1 << b);
  }
  if (len > 1) zeroDesc(h + ((<usize>len - 1) << DESC_SHIFT));
  zeroDesc(h);
  return top;
}

// Make a chunk (all of whose usable descriptors are zero) one free run of `node`, the node's top run (the
// top it had goes on its bin). Node lock held.
function chunkToRuns(n: usize, ch: usize, node: u32): void {
  changetype<ChunkHdr>(ch).kind = K_META;
  changetype<ChunkHdr>(ch).state = CS_BUDDY;
  changetype<ChunkHdr>(ch).node = <u8>node;
  changetype<PageDesc>(ch + DESC_SIZE).kind = K_META;
  changetype<ChunkHdr>(ch).freePages = USABLE_PAGES;
  changetype<NodeHdr>(n).freePages += USABLE_PAGES;
  const old = <usize>changetype<NodeHdr>(n).top;
  if (old != 0) runBin(n, old);
  runPut(n, ch, META_PAGES, USABLE_PAGES, node, true);
}

// A chunk for `node` (its usable descriptors zero): a free one of that node, else a freshly grown one.
// Node lock held. 0 on failure.
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
  ch = chunkStart(<u32>idx);
  memory.fill(ch, 0, DESC_BYTES);           // memory reused by a new heap (heapInit again) may hold old ones
  return ch;
}

// The first page index at or after the start of the run h where `pages` pages aligned to `align` bytes
// (a power of two; absolute addresses) can start, or 0xffffffff when the run cannot hold them.
@inline function fitIn(h: usize, pages: u32, align: usize): u32 {
  const p = pageIndex(h);
  const len = <u32>changetype<PageDesc>(h).objects;
  let s = p;
  if (align > PAGE_SIZE) {
    const a = pageAddr(h);
    s = p + <u32>((((a + align - 1) & ~(align - 1)) - a) >> PAGE_SHIFT);
  }
  return s + pages <= p + len ? s : 0xffffffff;
}

// Entries of a bin looked at for a best fit before taking the best seen.
const FIT_SCAN: u32 = 16;

// bestIn's answer: whether its run would reach past the high-water mark (memory never handed out).
let bestWild = false;

// The best-fitting run on bin b for `pages` pages aligned to `align`, among the first FIT_SCAN entries:
// one that stays below the high-water mark (arena.ts: memory handed out before; what lies above it was
// never touched, and taking it makes the footprint grow), then the fewest pages skipped below an aligned
// start (they become a small run), then the shortest, then the lowest address; a perfect fit ends the
// scan. 0 when none fits.
function bestIn(n: usize, b: u32, pages: u32, align: usize): usize {
  const hw = <usize>load<u32>(HEAP, H_HIGH_WATER);
  let h = <usize>load<u32>(freeList(n, b));
  let best: usize = 0;
  let bestScore: u32 = 0xffffffff;
  for (let k: u32 = 0; h != 0 && k < FIT_SCAN; k++) {
    const s = fitIn(h, pages, align);
    if (s != 0xffffffff) {
      const skip = s - pageIndex(h);
      const wild = pageAddr(h) + (<usize>(skip + pages) << PAGE_SHIFT) > hw;
      const score = (wild ? <u32>1 << 31 : 0) | (skip << 16) | <u32>changetype<PageDesc>(h).objects;
      if (score < bestScore || (score == bestScore && h < best)) {
        best = h;
        bestScore = score;
        if (score == pages) break;                       // exact, aligned, below the high-water mark
      }
    }
    h = <usize>changetype<PageDesc>(h).next;
  }
  bestWild = (bestScore >> 31) != 0;
  return best;
}

// Allocate `pages` pages (1..USABLE_PAGES) aligned to `align` on node n. Node lock held. The first
// descriptor (node set, every other field and every descriptor of the range zero) or 0.
// The smallest bin that can hold the request first, then the top run; a run that would raise the
// high-water mark only when no bin nor the top has one that does not (the heap grows last).
function allocLocked(n: usize, node: u32, pages: u32, align: usize): usize {
  // bins from the request's own up (that first one holds runs shorter than pages too)
  let map = changetype<NodeHdr>(n).binMap & ~((<u32>1 << binOf(pages)) - 1);
  let h: usize = 0;
  let wild: usize = 0;
  while (map != 0) {
    const c = bestIn(n, <u32>ctz(map), pages, align);
    if (c != 0) {
      if (!bestWild) { h = c; break; }
      if (wild == 0) wild = c;
    }
    map &= map - 1;
  }
  const t = <usize>changetype<NodeHdr>(n).top;          // the top run after every bin (dlmalloc's top chunk)
  if (h == 0 && t != 0) {
    const s = fitIn(t, pages, align);
    if (s != 0xffffffff) {
      const end = pageAddr(t) + (<usize>(s - pageIndex(t) + pages) << PAGE_SHIFT);
      if (end <= <usize>load<u32>(HEAP, H_HIGH_WATER)) h = t;
      else if (wild == 0) wild = t;
    }
  }
  if (h == 0 && changetype<NodeHdr>(n).nrFreeChunks == 0) h = wild; // a free chunk was used before
  if (h == 0) {
    const ch = takeChunk(n, node);
    if (ch == 0) return 0;
    chunkToRuns(n, ch, node);
    h = descAt(ch, META_PAGES);
  }
  const s = fitIn(h, pages, align);
  if (s == 0xffffffff) return 0;                         // a fresh chunk: an alignment none can serve
  const ch = chunkHeaderOf(h);
  const d = descAt(ch, s);
  // the top chunk is committed lazily: first, so that a refusal (the engine's, or growth held: node.ts
  // newSlab's first try) leaves every run as it was
  if (!commitTo(pageAddr(d) + (<usize>pages << PAGE_SHIFT))) return 0;
  const p = pageIndex(h);
  const e = p + <u32>changetype<PageDesc>(h).objects;
  const top = runTake(n, h);                             // the top cut: its rest stays the top (no bin)
  if (s + pages < e) runPut(n, ch, s + pages, e - s - pages, node, top);
  if (s > p) runPut(n, ch, p, s - p, node, false);        // below the aligned start
  changetype<ChunkHdr>(ch).freePages -= pages;
  changetype<NodeHdr>(n).freePages -= pages;
  changetype<PageDesc>(d).node = <u8>node;
  return d;
}

// Give pages [p, p + len) of chunk ch (descriptors all zero) back to node n, merged with the free runs
// on either side; a chunk that becomes wholly free leaves the bins. Node lock held.
function freeLocked(n: usize, ch: usize, p: u32, len: u32, node: u32): void {
  let start = p;
  let total = len;
  let top = false;                                       // merged with the top run: the result is the top
  if (p > META_PAGES) {
    const ld = descAt(ch, p - 1);
    const k = changetype<PageDesc>(ld).kind;
    const lh = k == K_FREE ? ld : k == K_FREE_TAIL ? <usize>changetype<PageDesc>(ld).aux : 0;
    if (lh != 0) {
      const ll = <u32>changetype<PageDesc>(lh).objects;
      top = runTake(n, lh);
      start -= ll;
      total += ll;
    }
  }
  const chFree = changetype<ChunkHdr>(ch).freePages + len;
  changetype<ChunkHdr>(ch).freePages = chFree;
  changetype<NodeHdr>(n).freePages += len;
  const e = p + len;
  if (e < PAGES_PER_CHUNK) {
    const rd = descAt(ch, e);
    if (changetype<PageDesc>(rd).kind == K_FREE) {
      total += <u32>changetype<PageDesc>(rd).objects;
      top = runTake(n, rd) || top;                       // the top grown downwards: no bin touched
    }
  }
  if (chFree == USABLE_PAGES) {                          // the whole chunk: onto the free-chunk list
    changetype<ChunkHdr>(ch).state = CS_FREE;
    changetype<ChunkHdr>(ch).discarded = 0;              // its pages were used since any discard
    listPush(n + N_FREE_CHUNK_HEAD, ch);
    changetype<NodeHdr>(n).nrFreeChunks += 1;
  } else runPut(n, ch, start, total, node, top);
}

// Allocate `pages` pages (1..USABLE_PAGES) on `node` (no fallback: the caller decides about other nodes),
// the first aligned to `align` bytes (a power of two; PAGE_SIZE or less: no constraint). `large`: count
// them in the node's largePages. Returns the first page's descriptor, node set and everything else zero
// (every descriptor of the range is zero), or 0 when the node has no room and cannot grow.
export function pagesAlloc(node: u32, pages: u32, align: usize, large: bool): usize {
  if (pages - 1 >= USABLE_PAGES) return 0;
  const n = nodeAddr(node);
  lock(n + N_LOCK);
  const d = allocLocked(n, node, pages, align);
  if (d != 0 && large) changetype<NodeHdr>(n).largePages += pages;
  unlock(n + N_LOCK);
  return d;
}

// Free the `pages` pages whose first descriptor is d (every descriptor of the range is reset).
export function pagesFree(d: usize, pages: u32, large: bool): void {
  const node = <u32>changetype<PageDesc>(d).node;
  const n = nodeAddr(node);
  const ch = chunkHeaderOf(d);
  zeroDescs(d, pages);                                     // head and tails back to K_NONE, no stale links
  lock(n + N_LOCK);
  freeLocked(n, ch, pageIndex(d), pages, node);
  if (large) changetype<NodeHdr>(n).largePages -= pages;
  unlock(n + N_LOCK);
}

// Grow the `had` pages whose first descriptor is d to `want` pages in place, taking the free run right
// after them. The new pages' descriptors are zero and their memory committed. False, and nothing changed,
// when that run is missing or too short, or the engine refuses to commit.
export function pagesExtend(d: usize, had: u32, want: u32, large: bool): bool {
  return pagesExtendUpTo(d, had, want, want, large) != 0;
}

// pagesExtend taking as many pages of that run as it has up to `most` (≥ want) when the `want` pages
// already reach past the high-water mark (the heap's top: pages never handed out; below it, the pages
// past want are left to others): the pages the range has now, or 0 (nothing changed) when the run is
// missing or shorter than want - had.
export function pagesExtendUpTo(d: usize, had: u32, want: u32, most: u32, large: bool): u32 {
  const ch = chunkHeaderOf(d);
  const e = pageIndex(d) + had;
  if (e >= PAGES_PER_CHUNK || want <= had) return 0;
  const rd = descAt(ch, e);
  const node = <u32>changetype<PageDesc>(d).node;
  const n = nodeAddr(node);
  lock(n + N_LOCK);
  const rl = <u32>changetype<PageDesc>(rd).objects;
  // pages past `want` only from the heap's top: memory never handed out (above the high-water mark)
  let extra = pageAddr(d) + (<usize>want << PAGE_SHIFT) < <usize>load<u32>(HEAP, H_HIGH_WATER) ? want - had : most - had;
  if (extra > rl) extra = rl;
  if (changetype<PageDesc>(rd).kind != K_FREE || had + extra < want ||
      !commitTo(pageAddr(d) + (<usize>(had + extra) << PAGE_SHIFT))) {
    unlock(n + N_LOCK);
    return 0;
  }
  const top = runTake(n, rd);
  if (rl > extra) runPut(n, ch, e + extra, rl - extra, node, top);
  changetype<ChunkHdr>(ch).freePages -= extra;
  changetype<NodeHdr>(n).freePages -= extra;
  if (large) changetype<NodeHdr>(n).largePages += extra;
  unlock(n + N_LOCK);
  return had + extra;
}

// Shrink the `had` pages whose first descriptor is d to `keep` (1..had-1) in place: the pages past keep
// go back (their descriptors reset).
export function pagesTrim(d: usize, had: u32, keep: u32, large: bool): void {
  const node = <u32>changetype<PageDesc>(d).node;
  const n = nodeAddr(node);
  zeroDescs(d + (<usize>keep << DESC_SHIFT), had - keep);
  lock(n + N_LOCK);
  freeLocked(n, chunkHeaderOf(d), pageIndex(d) + keep, had - keep, node);
  if (large) changetype<NodeHdr>(n).largePages -= had - keep;
  unlock(n + N_LOCK);
}

// `pages` pages with the alignment a slab of that many pages needs: a power of two up to
// 2^MAX_SLAB_ORDER pages is aligned to its size (slabs are naturally aligned: C_SLAB_MASK), any other
// count to a page. What the shortage handler retries with (reclaim.ts).
export function pagesAllocNatural(node: u32, pages: u32): usize {
  const pow2 = (pages & (pages - 1)) == 0 && pages <= (<u32>1 << MAX_SLAB_ORDER);
  return pagesAlloc(node, pages, pow2 ? <usize>pages << PAGE_SHIFT : PAGE_SIZE, false);
}

// A slab's pages: 2^order, aligned to their size (capped at CHUNK_BASE_ALIGN, the alignment of chunk
// starts). Returns the first descriptor with order and node set, or 0.
export function pageAlloc(node: u32, order: u32): usize {
  let align = <usize>PAGE_SIZE << order;
  if (align > CHUNK_BASE_ALIGN) align = CHUNK_BASE_ALIGN;
  const d = pagesAlloc(node, <u32>1 << order, align, false);
  if (d != 0) changetype<PageDesc>(d).order = <u8>order;
  return d;
}

// Free the slab pages whose first descriptor is d (2^PageDesc.order of them).
export function pageFree(d: usize): void {
  pagesFree(d, <u32>1 << changetype<PageDesc>(d).order, false);
}

// ---- runs of whole chunks (allocations above what a chunk's usable pages can hold) -----------------------
//
//   chunk k (CS_RUN)                    chunk k+1 (table byte has CT_RUN_TAIL)
//   ├ descriptors ┼ user bytes ...      ┼ user bytes (its descriptor area too) ...  ┆ not committed yet ┤
//                 ↑ user pointer = chunkStart(k) + DESC_BYTES; its descriptor is K_RUN    ↑ block end (64 KiB)
//
// A run is committed up to the end of its block (runBytes, rounded up to memory.grow's 64 KiB by the
// engine), not to the end of its last chunk: a run grown at the top of the heap leaves the rest of its
// last chunk uncommitted (a 50 MiB block would otherwise take up to a MiB it never uses). A run below
// the top is committed whole already (memory is contiguous). What reaches past a run's block commits
// first: runResize (realloc within the run's chunks), and the page allocator on its chunks once they are
// free again (allocLocked / pagesExtend commit every block they hand out). Every chunk's descriptor area
// stays committed (arena.ts), so runFree's clearing of them and findFreeRun's reads never touch
// uncommitted memory. The usable size (runUsable) is what is committed for the block, never more.

// Bytes a run of `count` chunks can hold: how far realloc can grow its block in place.
@inline export function runCapacity(count: u32): usize {
  return (<usize>count << CHUNK_SHIFT) - DESC_BYTES;
}

// The bytes the run block at `ptr` (CS_RUN chunk header ch) can hold without committing more: up to its
// end rounded to a Wasm page (committed with it: memory ends on a 64 KiB boundary), at most its chunks.
// In u64: a block near the top of the 4 GiB address space rounds up to 2^32.
export function runUsable(ch: usize, ptr: usize): usize {
  const wp: u64 = <u64>1 << WASM_PAGE_SHIFT;
  const end = (<u64>ptr + changetype<ChunkHdr>(ch).runBytes + wp - 1) & ~(wp - 1);
  const cap = runCapacity(changetype<ChunkHdr>(ch).runChunks);
  return end - ptr < <u64>cap ? <usize>(end - ptr) : cap;
}

// The run block at `ptr` (CS_RUN chunk header ch) now holds `bytes` (1..its capacity): commit memory to
// its new end and record it. False, and nothing changed, when the engine refuses to commit.
export function runResize(ch: usize, ptr: usize, bytes: usize): bool {
  if (!commitTo(ptr + bytes)) return false;              // a run at the top: its last chunk is committed lazily
  changetype<ChunkHdr>(ch).runBytes = <u32>bytes;
  changetype<PageDesc>(ch + (<usize>META_PAGES << DESC_SHIFT)).aux = <u32>bytes;
  return true;
}

// Chunk i is a free chunk of `node`.
@inline function isFreeChunk(i: u32, node: u32): bool {
  const chb = chunkByte(i);
  return (chb & CT_RUN_TAIL) == 0 && <u32>chb == node && changetype<ChunkHdr>(chunkStart(i)).state == CS_FREE;
}

// Find `count` adjacent free chunks of `node`, the lowest first; 0xffffffff if none. Node lock held.
function findFreeRun(count: u32, node: u32): u32 {
  const total = nchunks();
  let runStart: u32 = 0, runLen: u32 = 0;
  for (let i: u32 = 0; i < total; i++) {
    if (isFreeChunk(i, node)) {
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
  if (first != 0xffffffff && !commitTo(chunkStart(first) + DESC_BYTES + bytes)) first = 0xffffffff; // the
  // top free chunk may be only partly committed; if the engine refuses, try growing instead (it will fail too)
  let taken = count;                                  // free chunks the block takes: all, the top ones, none
  if (first == 0xffffffff) {
    // The node's free chunks at the top of the heap, if any, grown by what they lack (dlmalloc's top chunk
    // and sbrk): not a whole new run beside them. One-thread builds only: with threads another node may
    // grow between the look and the grow, and the new chunks would not follow these.
    const total = nchunks();
    let top = total;
    if (!THREADED) while (top > 0 && isFreeChunk(top - 1, node)) top--;
    const have = total - top;
    const over = <usize>have << CHUNK_SHIFT;
    if (have != 0 && have < count && growChunks(count - have, node, bytes > over ? bytes - over : 0) == <i32>total) {
      first = top;
      taken = have;
    } else {
      const idx = growChunks(count, node, bytes);     // committed to the block's end, not the last chunk's
      if (idx < 0) { unlock(n + N_LOCK); return 0; }
      first = <u32>idx;
      taken = 0;
    }
    changetype<NodeHdr>(n).nchunks += count - taken;
  }
  for (let i: u32 = first; i < first + taken; i++) {  // off the free-chunk list
    const c = chunkStart(i);
    listRemove(n + N_FREE_CHUNK_HEAD, c);
    changetype<ChunkHdr>(c).state = 0;
  }
  changetype<NodeHdr>(n).nrFreeChunks -= taken;
  changetype<NodeHdr>(n).freePages -= taken * USABLE_PAGES;
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

// Free the run whose user pointer is `ptr` (its descriptor is K_RUN). Its chunks become free chunks (the
// last one maybe committed only in part: its descriptors are, and the page allocator commits the rest as
// it hands it out).
export function runFree(ptr: usize): void {
  const first = chunkIndex(ptr);
  const ch = chunkStart(first);
  const node = <u32>changetype<ChunkHdr>(ch).node;
  const count = changetype<ChunkHdr>(ch).runChunks;
  const n = nodeAddr(node);
  lock(n + N_LOCK);
  // Pushed from the last chunk down, so the next chunk taken (takeChunk: a list pop) is the run's lowest and
  // the rest stays one stretch up to where it ended: at the top of the heap, runAlloc grows it by what a
  // huge block of the same size lacks (bench/PROFILE.md "A huge block's free chunks").
  for (let i: i32 = <i32>count - 1; i >= 0; i--) {
    const c = chunkStart(first + <u32>i);
    memory.fill(c, 0, DESC_BYTES); // a tail's descriptor area held user bytes
    setChunkByte(first + <u32>i, <u8>node);
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

// Free pages of a node (free page runs and free chunks).
export function freePages(node: u32): u32 {
  return changetype<NodeHdr>(nodeAddr(node)).freePages;
}

// ---- shortage: the one way up ---------------------------------------------------------------------------
// A page shortage reaches reclaim through a handler that a higher layer registers with this layer, not by
// import: reclaim.ts declares `pageShortageHandler` in the global scope (AssemblyScript's @global), and the
// calls below resolve to it when the program is compiled with reclaim.ts in it; without it (a program or
// spec that leaves reclaim out) a shortage fails plainly. Slow path only: the handler runs after pageAlloc
// / pagesAlloc / runAlloc failed. `run` false: `n` pages, retried with pagesAllocNatural; true: a run of
// `n` chunks of which `bytes` are asked, for runAlloc. It returns what the retry returned, or 0. The caller
// holds no lock: the handler calls the host.
// (A function reference would do the same at run time, but AssemblyScript keeps every function
// reference as an object in static memory, and this module writes nothing below the heap's base: C
// modules sharing or merged with it own that memory.)

// pageAlloc(node, order), running the shortage handler before it gives up. First descriptor or 0.
export function pageAllocReclaiming(node: u32, order: u32): usize {
  const d = pageAlloc(node, order);
  if (d != 0) return d;
  if (isDefined(pageShortageHandler)) {
    const g = pageShortageHandler(false, node, <u32>1 << order, 0);
    if (g != 0) changetype<PageDesc>(g).order = <u8>order;
    return g;
  }
  return 0;
}

// pagesAlloc(node, pages, align, large), running the shortage handler before it gives up: the handler
// reclaims until a run of pages + the alignment's slack fits, which is given back and asked for again
// with the caller's alignment and accounting. First descriptor or 0.
export function pagesAllocReclaiming(node: u32, pages: u32, align: usize, large: bool): usize {
  const d = pagesAlloc(node, pages, align, large);
  if (d != 0) return d;
  if (isDefined(pageShortageHandler)) {
    const want = pages + (align > PAGE_SIZE ? <u32>(align >> PAGE_SHIFT) - 1 : 0);
    if (want > USABLE_PAGES) return 0;
    const g = pageShortageHandler(false, node, want, 0);
    if (g == 0) return 0;
    pagesFree(g, want, false);
    return pagesAlloc(node, pages, align, large);
  }
  return 0;
}

// runAlloc(node, count, bytes), running the shortage handler before it gives up. User pointer or 0.
export function runAllocReclaiming(node: u32, count: u32, bytes: usize): usize {
  const p = runAlloc(node, count, bytes);
  if (p != 0) return p;
  if (isDefined(pageShortageHandler)) return pageShortageHandler(true, node, count, bytes);
  return 0;
}
