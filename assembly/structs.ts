// structs.ts — the structures wasm-slab keeps in linear memory, as AssemblyScript `@unmanaged` classes,
// and the arithmetic on them that more than one layer needs.
//
// Owns: the field names, order and widths of the fixed-size structures: PageDesc (a page descriptor),
// ChunkHdr (descriptor 0 of a chunk, seen as the chunk header), NodeHdr (a NUMA node's page-allocator
// state), CacheNode (per cache per node: slab lists and the barn), CpuSlot (per cache per CPU), Sheaf
// (a per-CPU array's header) and Track (a debug cache's alloc/free record); and the object-index formula.
// Entry points: the classes (read a structure at address `a` as `changetype<PageDesc>(a).inuse`: one load
// of the field's width at a constant offset, exactly what `load<u16>(a, D_INUSE)` compiles to) and
// objectIndexAt(). Called by: layout.ts (derives its ABI offsets from these classes with offsetof<C>(f)
// and checks the sizes at compile time) and the layers that read or write these structures.
// Invariants: a field's type is its width in memory; no class here has a constructor, a managed field or
// a header (`@unmanaged`): instances are never allocated, only addresses are viewed as one. A structure
// with a tail (an array after its fixed fields: sheaf entries, a node's free-run bins, a CPU slot's
// alien arrays and counters) declares only the fixed part; the tail is reached through an explicit
// accessor that returns an address. The drawings of every structure are in layout.ts (one per structure).
// Imports nothing: layout.ts sits above this file (scripts/check-layers.mjs).
// Call tree: none (field accesses and @inline accessors only).

// A page descriptor (32 bytes; `struct page`): see layout.ts "page descriptors".
@unmanaged export class PageDesc {
  cache: u32;    // the owning kmem_cache, on every page of a slab
  next: u32;     // list link (slab list of a cache-node, or a free page run's size bin)
  prev: u32;
  inuse: u16;    // slab head: objects handed out by the slab layer
  objects: u16;  // slab head: objects in this slab; large block / free run head: its pages
  kind: u8;      // K_*
  order: u8;
  node: u8;
  list: u8;      // L_* (slab head); chunk header: the discarded flag (ChunkHdr.discarded)
  aux: u32;      // tail: its head descriptor; slab head: bitmap address; large head: requested bytes
  bits: u64;     // slab head with ≤ 64 objects: the free bitmap (1 = free)
}

// Descriptor 0 of a chunk, read as the chunk header (page 0 holds descriptors, so its own descriptor is
// free for this use). Same 32 bytes as PageDesc; `kind` stays at PageDesc's offset (K_META).
@unmanaged export class ChunkHdr {
  freePages: u32;   // free pages in this chunk's free page runs
  next: u32;        // the node's free-chunk list
  prev: u32;
  private pad: u32;
  kind: u8;         // K_META, as PageDesc.kind
  state: u8;        // CS_*
  node: u8;
  discarded: u8;    // this free chunk's pages were handed to memory.discard
  runChunks: u32;   // CS_RUN: length of the run in chunks
  runBytes: u32;    // CS_RUN: bytes requested
}

// A NUMA node's page-allocator state. Tail: freeList[NR_PAGE_BINS] (u32 descriptor addresses of the
// first pages of free page runs, one list per size bin), then padding to NODE_SIZE.
@unmanaged export class NodeHdr {
  lock: u32;
  freePages: u32;      // in free page runs and free chunks
  nchunks: u32;
  freeChunkHead: u32;
  nrFreeChunks: u32;
  slabPages: u32;
  largePages: u32;
  binMap: u32;         // bit b set ⇔ freeList[b] is not empty
  top: u32;            // page.ts: the top run (a free run on no bin, carved and merged in place), or 0
  // The address of the head of the free list of size bin `bin`.
  @inline freeListAt(bin: u32): usize {
    return changetype<usize>(this) + offsetof<NodeHdr>() + (<usize>bin << 2);
  }
}

// Per cache per node (64 bytes with its padding): the slab lists and the barn of sheaves.
@unmanaged export class CacheNode {
  lock: u32;
  partial: u32;       // list heads (descriptor addresses)
  full: u32;
  empty: u32;
  nrPartial: u32;
  nrFull: u32;
  nrEmpty: u32;
  totalObjects: u32;  // in this node's slabs
  barnFull: u32;      // barn: full sheaves (threaded through Sheaf.next)
  barnEmpty: u32;     // barn: empty sheaves
  barnNrFull: u32;
  barnNrEmpty: u32;
  reclaimCursor: u32;
}

// Per cache per CPU (CC_SIZE bytes, cache-line aligned). Tail: alien[MAX_NODES] (u32 sheaf addresses),
// then the scratch word and the counters (layout.ts CC_SCRATCH, CC_STATS).
@unmanaged export class CpuSlot {
  main: u32;     // the main sheaf
  spare: u32;    // the spare sheaf
  guard: u32;    // in-use guard (re-entrancy)
  touched: u32;  // reclaim.ts: touched since the last reap
  // The address of the alien sheaf slot for objects of `node`.
  @inline alienAt(node: u32): usize {
    return changetype<usize>(this) + offsetof<CpuSlot>() + (<usize>node << 2);
  }
}

// A sheaf: a per-CPU array of objects. Tail: entries[cap] (u32 object addresses, LIFO).
@unmanaged export class Sheaf {
  count: u32;
  cap: u32;
  next: u32;   // barn list link
  node: u32;   // whose objects an alien sheaf holds
  // The address of entry k.
  @inline entryAt(k: u32): usize {
    return changetype<usize>(this) + offsetof<Sheaf>() + (<usize>k << 2);
  }
}

// A debug cache's alloc or free track (16 bytes).
@unmanaged export class Track {
  tag: u32;     // caller tag the host set
  cpu: u16;
  node: u8;
  set: u8;      // 1 once written
  clock: u32;   // logical time
  stamp: u32;   // host time, if the host sets one
}

// A cache's C_RECIP is ⌊2^32 / stride⌋ + 1, so for an offset `off` from object 0 inside the slab
// (off < objects × stride ≤ 32 KiB) (off × recip) >> 32 = ⌊off / stride⌋ exactly: the error of the
// reciprocal, off × (recip − 2^32 / stride) < 2^32 / stride, never carries into the next integer.

// The index of the object that starts `off` bytes after object 0, for a cache whose C_RECIP is `recip`.
@inline export function objectIndexAt(off: u32, recip: u32): u32 {
  return <u32>((<u64>off * recip) >> 32);
}
