// arena.ts — linear memory as a row of 1 MiB chunks, each owned by one node.
//
// Owns: the heap header's global fields (base, chunkBase, nchunks, budget), the chunk table, and growth.
// Entry points: arenaInit(), setPreRegion() (medium.ts: the pre-chunk region's bounds; PRE_FRONT), inPre(),
// arenaAttach() (a second instance over an existing heap: views only),
// growChunks() (with commitTo, the only functions that call memory.grow), holdGrowth() (node.ts: try the
// memory already there first), nodeOf(), chunkIndex(), chunkStart(), memoryEnd() (the end of memory in
// u64: 2^32 for 65536 pages; pagesBytes, pagesToGrow).
// Threaded build: growth and commits take the grow lock (sync.ts), and nchunks is published with an
// atomic store after the chunk-table bytes, so every instance that reads it sees the new chunks' nodes.
// Called by: page.ts (growth), everything (nodeOf / pageOf arithmetic). Calls nothing above it.
//
// Invariants:
//   chunkBase ≡ 0 (mod CHUNK_BASE_ALIGN = 64 KiB: slabs and power-of-two classes are naturally aligned in
//   absolute addresses, and chunk 0 starts on a Wasm page; the gap left behind the header holds the
//   header cache slots, cache.ts, then the pre-chunk medium region, medium.ts: [PRE_LO, chunkBase),
//   PRE_LO = chunkBase when the gap has no room for one);  chunk i spans [chunkBase + i MiB,
//   chunkBase + (i+1) MiB)
//   nchunks ≤ maxChunks ≤ MAX_CHUNKS;  chunkStart(nchunks - 1) + DESC_BYTES ≤ memory.size() bytes (every
//   chunk's descriptors are committed); memory may end inside the top chunk (committed lazily, commitTo),
//   never inside a lower one; every byte handed out (a page block, a run's block up to its requested
//   end: page.ts) is committed before it is handed out, and is never above H_HIGH_WATER
//   table[i] & CT_NODE < nnodes for every i < nchunks;  table[i] = CT_NO_CHUNK for i ≥ nchunks
import {
  CHUNK_SHIFT, CHUNK_SIZE, CT_NODE, H_CHUNK_BASE, H_CHUNK_TABLE, H_GROW_FAILS, H_GROW_LOCK, H_HEAP_BASE,
  H_MAGIC, H_MAX_CHUNKS, H_NCHUNKS, H_VERSION, HEAP_MAGIC, HEAP_VERSION, MAX_CHUNKS, PAGE_SHIFT,
  WASM_PAGE_SHIFT, DESC_SHIFT, H_MAX_BYTES_LO, H_HIGH_WATER, CT_NO_CHUNK, DESC_BYTES, CHUNK_BASE_ALIGN,
  H_PRE_LO, MB_HDR, MB_MIN,
} from "./layout";
import { THREADED, lock, publish, setHeapLockWord, setLockMap, unlock } from "./sync";
import { H_HEAP_LOCK, H_NODES, MAX_NODES, NODE_SIZE } from "./layout";

// Cached views of constants fixed at init (per instance, like the CPU id). Everything that changes
// lives in linear memory.
export let HEAP: usize = 0;        // address of the heap header
export let CHUNK_BASE: usize = 0;  // address of chunk 0
export let TABLE: usize = 0;       // address of the chunk table
export let PRE_LO: usize = 0;      // first byte of the pre-chunk medium region; CHUNK_BASE when none
// The user pointers of the pre-chunk region where a medium block can start with room for a smallest one
// (MB_MIN) before chunkBase: p − (PRE_LO + 2·MB_HDR) < PRE_FRONT, one unsigned compare (medium.ts
// mediumPreHolds, kmalloc.ts krealloc's front); 0 when there is no region (then nothing passes).
export let PRE_FRONT: usize = 0;

@inline export function alignUp(x: usize, a: usize): usize {
  return (x + a - 1) & ~(a - 1);
}

// Lay out the header at `heapBase` (rounded up) and make sure memory reaches the end of it. The header is
// `headerBytes` long. Returns false if memory cannot hold it.
export function arenaInit(heapBase: usize, headerBytes: usize, maxBytes: u64): bool {
  const base = alignUp(heapBase, 64);
  const chunkBase = alignUp(base + headerBytes, CHUNK_BASE_ALIGN);
  if (!ensureMemory(chunkBase)) return false;
  memory.fill(base, 0, chunkBase - base);
  memory.fill(base + H_CHUNK_TABLE, CT_NO_CHUNK, MAX_CHUNKS); // every slot "not a chunk" until grown
  setViews(base, chunkBase);
  let room = (<u64>MAX_CHUNKS << CHUNK_SHIFT) - <u64>chunkBase; // address space left above chunkBase
  let budget = maxBytes < room ? maxBytes : room;
  store<u32>(base, HEAP_MAGIC, H_MAGIC);
  store<u32>(base, HEAP_VERSION, H_VERSION);
  store<u32>(base, <u32>heapBase, H_HEAP_BASE);
  store<u32>(base, <u32>chunkBase, H_CHUNK_BASE);
  store<u32>(base, 0, H_NCHUNKS);
  store<u32>(base, <u32>(budget >> CHUNK_SHIFT), H_MAX_CHUNKS);
  store<u32>(base, <u32>(maxBytes > 0xffffffff ? 0xffffffff : maxBytes), H_MAX_BYTES_LO);
  store<u32>(base, <u32>chunkBase, H_HIGH_WATER);
  return true;
}

// The per-instance views of a header at `base` whose chunk 0 is at `chunkBase`, and the lock words.
function setViews(base: usize, chunkBase: usize): void {
  HEAP = base;
  CHUNK_BASE = chunkBase;
  TABLE = base + H_CHUNK_TABLE;
  const pre = <usize>load<u32>(base, H_PRE_LO);
  PRE_LO = pre != 0 ? pre : chunkBase;
  setPreFront();
  setHeapLockWord(base + H_HEAP_LOCK);
  setLockMap(base + H_GROW_LOCK, base + H_NODES, base + H_NODES + MAX_NODES * NODE_SIZE);
}

// The pre-chunk region starts at `lo` (medium.ts mediumPreInit, once, at init; 0: none).
export function setPreRegion(lo: usize): void {
  store<u32>(HEAP, <u32>lo, H_PRE_LO);
  PRE_LO = lo != 0 ? lo : CHUNK_BASE;
  setPreFront();
}

// PRE_FRONT from PRE_LO and CHUNK_BASE (a region has at least PRE_MIN_BYTES: no wrap).
function setPreFront(): void {
  PRE_FRONT = PRE_LO < CHUNK_BASE ? CHUNK_BASE - MB_MIN - (PRE_LO + 2 * MB_HDR) + 1 : 0;
}

// Is p inside the pre-chunk region [PRE_LO, chunkBase)? One unsigned compare (empty when there is none).
@inline export function inPre(p: usize): bool {
  return p - PRE_LO < CHUNK_BASE - PRE_LO;
}

// A second instance over an existing heap (threads.ts attach): take its views, write nothing.
// False when `base` holds no heap header.
export function arenaAttach(base: usize): bool {
  if (base == 0 || (base & 63) != 0 || <u64>base + H_CHUNK_TABLE > memoryEnd()) return false;
  if (load<u32>(base, H_MAGIC) != HEAP_MAGIC || load<u32>(base, H_VERSION) != HEAP_VERSION) return false;
  setViews(base, <usize>load<u32>(base, H_CHUNK_BASE));
  return true;
}

// The bytes of `pages` 64 KiB pages, and the end of linear memory, as u64: a 65536-page memory (all
// 4 GiB of wasm32) ends at 2^32, which `<usize>memory.size() << 16` wraps to 0. Every "below the end of
// memory" test compares in 64 bits (index.ts, report.ts, footprint.ts use memoryEnd too).
@inline export function pagesBytes(pages: i32): u64 {
  return <u64><u32>pages << WASM_PAGE_SHIFT;
}
@inline export function memoryEnd(): u64 {
  return pagesBytes(memory.size());
}

// Memory pages to grow so that `end` bytes are addressable in a memory of `have` pages (0: there already).
@inline export function pagesToGrow(end: usize, have: i32): i32 {
  const bytes = pagesBytes(have);
  if (<u64>end <= bytes) return 0;
  return <i32>((<u64>end - bytes + (1 << WASM_PAGE_SHIFT) - 1) >> WASM_PAGE_SHIFT);
}

// Grow linear memory so that `end` bytes are addressable. False if the engine refuses.
// While growth is held, ensureMemory and growChunks fail instead of growing: node.ts asks for a slab's
// pages this way first, and gives kept empty slabs back before it lets memory grow.
// The hold is per instance on purpose (threaded build: per thread): it is the intent of the one call
// running on this instance ("this page request only, without growing"), not a state of the heap. Another
// thread's growth must go on meanwhile (a shared flag would make its allocations fail for no reason), and
// no other call can see it set: between holdGrowth(true) and holdGrowth(false) (slab.ts slabNew,
// node.ts keptHoldBegin/End around one plain pageAlloc/pagesAlloc) nothing calls the host, so no
// re-entrant call runs on this instance, and a refusal it causes is always followed by the same request
// with growth allowed (and pressure reclaim): the hold can make the heap take another route to the
// memory, never fail an allocation. test/threads-races.test.ts: Workers that hold and grow at once, none
// refused (a hold left set fails the holder's next growth there).
let growHeld: bool = false;
export function holdGrowth(on: bool): void {
  growHeld = on;
}

function ensureMemory(end: usize): bool {
  const pages = pagesToGrow(end, memory.size());
  if (pages == 0) return true;
  if (growHeld) return false;
  return memory.grow(pages) >= 0;
}

@inline export function nchunks(): u32 {
  return load<u32>(HEAP, H_NCHUNKS);
}

// Index of the chunk holding ptr, or a value ≥ nchunks() when ptr is outside every chunk (one unsigned
// compare covers both sides: below chunkBase the subtraction wraps past the table).
@inline export function chunkIndex(ptr: usize): u32 {
  return <u32>((ptr - CHUNK_BASE) >> CHUNK_SHIFT);
}

@inline export function chunkStart(idx: u32): usize {
  return CHUNK_BASE + (<usize>idx << CHUNK_SHIFT);
}

@inline export function chunkByte(idx: u32): u8 {
  return load<u8>(TABLE + idx);
}

@inline export function setChunkByte(idx: u32, v: u8): void {
  store<u8>(TABLE + idx, v);
}

// The chunk-table byte of any address: its node for a chunk that may hold slabs, and a value with
// CT_RUN_TAIL set (≥ 0x80) for a run's tail chunk or an address outside every chunk. No range check is
// needed: below chunkBase the subtraction wraps to an index past the grown chunks (slots = CT_NO_CHUNK).
@inline export function chunkByteOf(ptr: usize): u8 {
  return load<u8>(TABLE + ((ptr - CHUNK_BASE) >> CHUNK_SHIFT));
}

// The node that owns ptr. ptr must be inside a chunk.
@inline export function nodeOf(ptr: usize): u32 {
  return load<u8>(TABLE + chunkIndex(ptr)) & CT_NODE;
}

// The page descriptor of the page holding ptr. ptr must be inside a chunk (and not in a run's tail).
@inline export function pageOf(ptr: usize): usize {
  const off = (ptr - CHUNK_BASE) & (CHUNK_SIZE - 1);
  return ptr - off + ((off >> PAGE_SHIFT) << DESC_SHIFT);
}

// The first byte of the page a descriptor describes.
@inline export function pageAddr(desc: usize): usize {
  const cs = desc - ((desc - CHUNK_BASE) & (CHUNK_SIZE - 1));
  return cs + ((desc - cs) << (PAGE_SHIFT - DESC_SHIFT));
}

// Commit memory up to `end`: the top chunk is committed lazily, page block by page block, as the page
// allocator hands its blocks out (memory.grow works in 64 KiB units, so this is rarely a grow). False if
// the engine refuses; nothing changes then.
export function commitTo(end: usize): bool {
  if (!THREADED) {
    if (!ensureMemory(end)) return false;
    raiseHighWater(end);
    return true;
  }
  // Threaded: two nodes may commit at once; the grow lock makes "size, then grow" one step.
  if (<u64>end > memoryEnd()) {
    lock(HEAP + H_GROW_LOCK);
    const ok = ensureMemory(end);
    unlock(HEAP + H_GROW_LOCK);
    if (!ok) return false;
  }
  raiseHighWater(end);
  return true;
}

// H_HIGH_WATER: the end of the highest block ever handed out (memory above it was grown, not used).
// Threaded build: a compare-and-swap loop (nodes commit under their own locks).
@inline function raiseHighWater(end: usize): void {
  if (THREADED) {
    let cur = atomic.load<u32>(HEAP, H_HIGH_WATER);
    while (<u32>end > cur) {
      const seen = atomic.cmpxchg<u32>(HEAP + H_HIGH_WATER, cur, <u32>end);
      if (seen == cur) break;
      cur = seen;
    }
  } else if (<u32>end > load<u32>(HEAP, H_HIGH_WATER)) store<u32>(HEAP, <u32>end, H_HIGH_WATER);
}

// The one growth function. Adds `count` contiguous chunks at the top of the heap, owned by `node`, and
// returns the index of the first, or -1 when the budget or the engine says no (nothing changes then).
// A chunk is address space first: only its descriptor pages are committed here (of every chunk added:
// the last one's, so all of them), the rest as blocks of it are handed out (commitTo). `used`: the bytes
// of a run's block (page.ts runAlloc), committed from the first chunk's end of descriptors on, and no
// further: the rest of a run's last chunk stays uncommitted until a realloc grows the block into it.
// Only the top chunk can be partly committed: memory is contiguous, so growing past it commits it.
// The budget (H_MAX_CHUNKS, from maxBytes) counts whole chunks, committed or not: a run is refused when
// its chunks do not fit, as they are its address space (a realloc may grow the block to their end
// without asking the budget again).
export function growChunks(count: u32, node: u32, used: usize = 0): i32 {
  if (growHeld) return -1;                   // not a failure: the caller tries without growing first
  lock(HEAP + H_GROW_LOCK);
  const n = load<u32>(HEAP, H_NCHUNKS);
  const max = load<u32>(HEAP, H_MAX_CHUNKS);
  if (count == 0 || count > max || n > max - count) {
    store<u32>(HEAP, load<u32>(HEAP, H_GROW_FAILS) + 1, H_GROW_FAILS);
    unlock(HEAP + H_GROW_LOCK);
    return -1;
  }
  const descEnd = chunkStart(n + count - 1) + DESC_BYTES;  // every chunk's descriptors: the last one's
  const blockEnd = chunkStart(n) + DESC_BYTES + used;
  const end = blockEnd > descEnd ? blockEnd : descEnd;
  if (!ensureMemory(end)) {
    store<u32>(HEAP, load<u32>(HEAP, H_GROW_FAILS) + 1, H_GROW_FAILS);
    unlock(HEAP + H_GROW_LOCK);
    return -1;
  }
  for (let i: u32 = 0; i < count; i++) store<u8>(TABLE + n + i, <u8>node);
  publish(HEAP + H_NCHUNKS, n + count);      // after the table bytes: readers see the chunks' nodes
  raiseHighWater(end);
  unlock(HEAP + H_GROW_LOCK);
  return <i32>n;
}
