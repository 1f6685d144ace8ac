// layout.ts — every structure wasm-slab keeps in linear memory: sizes, field offsets, limits and codes.
//
// Owns: the constants only. No code here touches memory; each layer includes this file and reads the
// fields it owns through the offsets below (the layer that owns a structure is named in its section).
// The fixed-size structures are classes in structs.ts (PageDesc, ChunkHdr, NodeHdr, CacheNode, CpuSlot,
// Sheaf, Track): their offsets here are derived from the classes (offsetof<C>("field")), and a
// compile-time check at the end of this file fails the build when a class and its size constant
// disagree. Every export here is also an ABI constant (abi.ts → a Wasm global → bindings/generated/abi.ts):
// names and values never change. Helpers and classes go in structs.ts, never here.
// Order: units and limits; then one section per structure, from the largest (the heap) down to the
// smallest (a track); then flags, codes and the tuning constants of reclaim and kmalloc.
//
// Whole-heap picture (addresses grow to the right):
//
//   0            heapBase          base                                                 chunkBase          chunkBase + n MiB
//   ├── embedder ──┼── untouched ──┼── HEAP header ──┼── slots ──┼── pre-chunk region ──┼── chunk 0 ──┼── chunk 1 ──┼ ... ┤
//   (C data/stack,   (alignment)     (config, node     (kmem_caches  (a medium region of    (1 MiB each, the unit of growth
//    AS statics)                      structs, chunk     in the       node 0 in no chunk:    and of node ownership)
//                                     table, boot cache) alignment gap) never grown or given back)
//
// Nothing below `heapBase` is ever written. `base` is heapBase rounded up to 64 bytes; `chunkBase` is the
// end of the header rounded up to CHUNK_BASE_ALIGN (64 KiB), so slabs (2^order ≤ 8 pages) are naturally
// aligned in absolute addresses and chunk 0 starts on a Wasm page; the gap that rounding leaves holds the
// header cache slots (kmem_caches of the heap's own caches: "Header cache slots" below) up to the next
// HEADER_SLOTS_ALIGN boundary, then the pre-chunk region (a medium region: "The pre-chunk region" below),
// so a small heap's first medium blocks take no chunk: a program under ~30 KiB of live data may never
// grow memory past the Wasm page its header lies in.
import { CacheNode, ChunkHdr, CpuSlot, NodeHdr, PageDesc, Sheaf, Track } from "./structs";

// ---- units and limits ----------------------------------------------------------------------------------
export const PAGE_SHIFT: u32 = 12;
export const PAGE_SIZE: u32 = 1 << PAGE_SHIFT;              // 4 KiB: the unit of slabs
export const CHUNK_SHIFT: u32 = 20;
export const CHUNK_SIZE: u32 = 1 << CHUNK_SHIFT;            // 1 MiB: the unit of growth and node ownership
export const PAGES_PER_CHUNK: u32 = CHUNK_SIZE >> PAGE_SHIFT; // 256
export const WASM_PAGE_SHIFT: u32 = 16;                     // memory.grow works in 64 KiB pages
export const CACHE_LINE: u32 = 64;

export const MAX_NODES: u32 = 8;
export const MAX_CPUS: u32 = 64;
export const MAX_CHUNKS: u32 = 4096;                        // 4 GiB of wasm32 address space
export const MAX_SLAB_ORDER: u32 = 3;                       // slabs are 1..8 pages, as SLUB's default
export const NR_PAGE_BINS: u32 = 20;                        // free page-run size bins per node (page.ts binOf)

// ---- chunks (arena.ts, page.ts) -------------------------------------------------------------------------
// A chunk (1 MiB) starts with its page descriptors (DESC_BYTES, pages 0..META_PAGES-1, never handed
// out); descriptor 0 is the chunk header (ChunkHdr below).
//
// chunkBase is aligned to a Wasm page (64 KiB): slab masking (C_SLAB_MASK, inuse.ts) and power-of-two
// classes need slabs naturally aligned in absolute addresses (the largest slab is 32 KiB), and the bytes
// the rounding leaves between the header and chunk 0 — inside the Wasm pages the header needs anyway —
// are the header cache slots and the pre-chunk medium region ("the pre-chunk region" below), not pages of
// chunk 0. Slab runs are aligned to their size in absolute addresses; larger alignments (kmalloc, up to
// MAX_LARGE_ALIGN) start at the first aligned page of a free run (page.ts).
// memory.discard works in 64 KiB pages: a free chunk is discarded from its first 64 KiB boundary past its
// descriptors to its end (CHUNK_SIZE - DISCARD_SKIP bytes).
export const CHUNK_BASE_ALIGN: u32 = 1 << WASM_PAGE_SHIFT;
export const DISCARD_SKIP: u32 = 1 << WASM_PAGE_SHIFT; // the first 64 KiB of a chunk (its descriptors) stay

// The chunk table (in the heap header) holds one byte per chunk: its node, with CT_RUN_TAIL set for the
// 2nd.. chunks of a run (whose descriptor area is user data).
// nodeOf(ptr) = table[(ptr - chunkBase) >> CHUNK_SHIFT] & CT_NODE. It has MAX_CHUNKS slots whatever the
// number of chunks grown. Slots of chunks not grown yet hold CT_NO_CHUNK, so one byte load and one test
// (byte ≥ CT_RUN_TAIL) tell a free() that an address is in no slab chunk, with no range check.
export const CT_NODE: u8 = 0x7f;
export const CT_RUN_TAIL: u8 = 0x80;
export const CT_NO_CHUNK: u8 = 0xff;

// ---- the page descriptor: PageDesc (page.ts, slab.ts, node.ts, kmalloc.ts) -----------------------------
// One per page of a chunk, at the chunk's start (the `struct page` of this system):
//
//   pageOf(ptr) = chunkStart + ((ptr - chunkStart) >> PAGE_SHIFT) * DESC_SIZE        (arithmetic only)
//   pageAddr(d) = chunkStart + (d - chunkStart) * (PAGE_SIZE / DESC_SIZE)
//
//   0        4        8        12   14   16 17 18 19 20       24                32
//   ├─cache──┼─next───┼─prev───┼inuse┼objs┼k─┼o─┼n─┼l─┼─aux────┼─bits (u64)──────┤
//   cache   every page of a slab (head and tails): the owning kmem_cache; 0 on every other page (slab.ts)
//   next    list link: the cache-node slab list, or a free page run's size bin (page.ts / node lists)
//   prev    list link
//   inuse   u16, slab head: objects handed out by the slab layer, including those parked in sheaves
//   objs    u16, slab head: objects in this slab; large block head: pages kept
//   k       u8 kind (K_*), o u8 order, n u8 node, l u8 which slab list (L_*)
//   aux     tail page: its head descriptor; slab head: the bitmap's address; large block: requested bytes
//   bits    slab head with ≤ 64 objects: the free bitmap itself (1 = free). Otherwise unused.
//
// A large block (kmalloc > KMALLOC_MAX, up to a chunk's USABLE_PAGES) is one run of exactly the pages it
// needs (page.ts): K_LARGE on its first page (objs = pages kept, aux = bytes requested, order 0), K_TAIL
// (aux = the head) on the others.
// A free page run (page.ts) of `len` pages: K_FREE on its first page (objs = len, next/prev = its size
// bin's list), K_FREE_TAIL (aux = the head) on its last page when len ≥ 2, K_NONE (all zero) between.
// A medium region (medium.ts: a page run cut into blocks of any 16-byte multiple): K_MEDIUM on its first
// page (objs = pages, aux = the control block of its node's medium heap, next/prev = that heap's region
// list, n = node), K_MEDIUM_TAIL (aux = the first descriptor) on the others. Its inside: "medium" below.
export const DESC_SIZE: u32 = 32;
export const DESC_SHIFT: u32 = 5;
export const DESC_BYTES: u32 = PAGES_PER_CHUNK * DESC_SIZE;          // 8 KiB
export const META_PAGES: u32 = DESC_BYTES >> PAGE_SHIFT;             // 2
export const USABLE_PAGES: u32 = PAGES_PER_CHUNK - META_PAGES;       // 254
export const D_CACHE: u32 = offsetof<PageDesc>("cache");
export const D_NEXT: u32 = offsetof<PageDesc>("next");
export const D_PREV: u32 = offsetof<PageDesc>("prev");
export const D_INUSE: u32 = offsetof<PageDesc>("inuse");
export const D_OBJECTS: u32 = offsetof<PageDesc>("objects");
export const D_KIND: u32 = offsetof<PageDesc>("kind");
export const D_ORDER: u32 = offsetof<PageDesc>("order");
export const D_NODE: u32 = offsetof<PageDesc>("node");
export const D_LIST: u32 = offsetof<PageDesc>("list");
export const D_AUX: u32 = offsetof<PageDesc>("aux");
export const D_BITS: u32 = offsetof<PageDesc>("bits");
export const INLINE_BITMAP_OBJECTS: u32 = 64;                       // the bits of `bits`
export const MAX_OBJECT_SIZE: u32 = 4096 << 3;                      // one object in an order-3 slab

// Page kinds (PageDesc.kind).
export const K_NONE: u8 = 0;   // inside a free page run (not its first or last page), or never set up
export const K_FREE: u8 = 1;   // first page of a free page run (objs = its length in pages)
export const K_SLAB: u8 = 2;   // head page of a slab
export const K_TAIL: u8 = 3;   // later page of a slab or a large block; aux = head descriptor
export const K_LARGE: u8 = 4;  // first page of a large (kmalloc > 8 KiB) block (objs = its pages)
export const K_META: u8 = 5;   // descriptor pages (page 0 doubles as the chunk header)
export const K_RUN: u8 = 6;    // first usable page of a run of whole chunks (a huge allocation)
export const K_FREE_TAIL: u8 = 7; // last page of a free page run of ≥ 2 pages; aux = the run's first descriptor
export const K_MEDIUM: u8 = 8;    // first page of a medium region (objs = its pages, aux = its node's control block)
export const K_MEDIUM_TAIL: u8 = 9; // later page of a medium region; aux = the region's first descriptor

// Slab lists (PageDesc.list).
export const L_NONE: u8 = 0;
export const L_PARTIAL: u8 = 1;
export const L_FULL: u8 = 2;
export const L_EMPTY: u8 = 3;

// ---- the chunk header: ChunkHdr (page.ts, reclaim.ts) --------------------------------------------------
// Descriptor 0 of its chunk (page 0 holds descriptors, so its own descriptor is free for this use):
//
//   0          4        8        12       16 17 18 19 20         24         28
//   ├─freePages┼─next───┼─prev───┼────────┼k─┼s─┼n─┼d─┼─runChunks┼─runBytes─┼────┤
//   freePages  free pages in this chunk's free page runs
//   next/prev  the node's free-chunk list
//   k          u8 kind = K_META (PageDesc.kind)   s u8 chunk state (CS_*)   n u8 node
//   d          u8 discarded: this free chunk's pages were handed to memory.discard (reclaim.ts)
//   runChunks  CS_RUN: the run's length in chunks   runBytes  CS_RUN: bytes requested
export const CH_FREE_PAGES: u32 = offsetof<ChunkHdr>("freePages");
export const CH_NEXT: u32 = offsetof<ChunkHdr>("next");
export const CH_PREV: u32 = offsetof<ChunkHdr>("prev");
export const CH_STATE: u32 = offsetof<ChunkHdr>("state");
export const CH_NODE: u32 = offsetof<ChunkHdr>("node");
export const CH_DISCARDED: u32 = offsetof<ChunkHdr>("discarded");
export const CH_RUN_CHUNKS: u32 = offsetof<ChunkHdr>("runChunks");
export const CH_RUN_BYTES: u32 = offsetof<ChunkHdr>("runBytes");
export const CS_BUDDY: u8 = 1; // its pages are served by the node's page runs (the name is the ABI's)
export const CS_FREE: u8 = 2;  // wholly free, on the node's free-chunk list (reusable by any cache or run)
export const CS_RUN: u8 = 3;   // first chunk of a huge allocation

// ---- the heap header (at `base`; arena.ts and the layer named beside a field) ---------------------------
//   0 magic      4 version    8 heapBase   12 chunkBase   16 nchunks   20 maxChunks
//  24 nnodes    28 ncpus     32 growLock  36 lastError   40 cacheHead  44 ncaches
//  48 bootCache 52 flags     56 growFails 60 nextCacheId 64 errAddr    68 errCache
//  72 cacheBytes (size of one kmem_cache struct)   76 cpuOff (per-CPU area offset inside a cache)
//  80 maxBytes (low 32 bits, as given)   84 flags2   88 reapPasses  92 reclaimBusy (both reclaim.ts)
//  96 the empty sheaf (SH_HDR bytes of zeros: count 0, capacity 0) every per-CPU slot starts with
// 112 sheaf caches [SHEAF_CLASSES] (internal caches holding arrays of 2^6 .. 2^14 bytes)
// 148 highWater (the end of the highest block ever handed out: arena.ts commitTo / growChunks)
// 152 threads, 156 heap lock, 160 token (shared heaps), 164 kept-beyond hint ("threads" at the end of this file)
// 168 slots, 172 slotCount, 176 slotFree: the header cache slots (below; cache.ts)
// 180 preLo: the pre-chunk medium region's first byte (below; medium.ts)
// 192 cpuNode[MAX_CPUS]  (u8: node of each CPU)
// 256 node headers [MAX_NODES] × NODE_SIZE (NodeHdr below)
// ... chunk table [MAX_CHUNKS] u8
// ... validate report [REPORT_MAX] × REPORT_ENTRY bytes (report.ts)
// ... debug block [DEBUG_HDR_SIZE] (below)
// ... kmalloc tables [KMALLOC_BYTES] (below)
// ... boot cache (the kmem_cache that holds kmem_caches), 64-aligned
// ... (shared heaps: the thread block)
// ... header cache slots, then the pre-chunk medium region up to chunkBase: the alignment gap in front of
//     chunk 0 (below)
// With a report, H_LAST_ERROR holds the code, H_ERR_ADDR the object (or pointer), H_ERR_CACHE the cache.
export const HEAP_MAGIC: u32 = 0x534c4142; // 'SLAB'
export const HEAP_VERSION: u32 = 1;
export const H_MAGIC: u32 = 0;
export const H_VERSION: u32 = 4;
export const H_HEAP_BASE: u32 = 8;
export const H_CHUNK_BASE: u32 = 12;
export const H_NCHUNKS: u32 = 16;
export const H_MAX_CHUNKS: u32 = 20;
export const H_NNODES: u32 = 24;
export const H_NCPUS: u32 = 28;
export const H_GROW_LOCK: u32 = 32;
export const H_LAST_ERROR: u32 = 36;
export const H_CACHE_HEAD: u32 = 40;
export const H_NCACHES: u32 = 44;
export const H_BOOT_CACHE: u32 = 48;
export const H_FLAGS: u32 = 52;
export const H_GROW_FAILS: u32 = 56;
export const H_NEXT_CACHE_ID: u32 = 60;
export const H_ERR_ADDR: u32 = 64;
export const H_ERR_CACHE: u32 = 68;
export const H_CACHE_BYTES: u32 = 72;
export const H_CPU_OFF: u32 = 76;
export const H_MAX_BYTES_LO: u32 = 80;
export const H_FLAGS2: u32 = 84;
export const H_REAP_PASSES: u32 = 88;   // reap passes run; a round-robin pass reaps CPU (passes % ncpus)
export const H_RECLAIM_BUSY: u32 = 92;  // 1 while pressure reclaim runs: a shortage inside it fails plainly
export const H_EMPTY_SHEAF: u32 = 96;
export const H_SHEAF_CACHES: u32 = 112;
export const SHEAF_MIN_SHIFT: u32 = 6;
export const SHEAF_CLASSES: u32 = 9;                                // 64 B .. 16 KiB
export const H_HIGH_WATER: u32 = H_SHEAF_CACHES + SHEAF_CLASSES * 4; // 148: end of the highest block ever
                                                                   // committed (arena.ts; footprint.ts reads it)
export const H_CPU_NODE: u32 = H_SHEAF_CACHES + SHEAF_CLASSES * 4 + 44; // 192
export const H_NODES: u32 = H_CPU_NODE + MAX_CPUS;                  // 256
export const NODE_SIZE: u32 = 128;
export const H_CHUNK_TABLE: u32 = H_NODES + MAX_NODES * NODE_SIZE;  // 1280
export const REPORT_MAX: u32 = 64;
export const REPORT_ENTRY: u32 = 12;                                  // code, addr, cache
export const H_REPORT_COUNT: u32 = H_CHUNK_TABLE + MAX_CHUNKS;
export const H_REPORT: u32 = H_REPORT_COUNT + 4;
export const H_DEBUG: u32 = H_REPORT + REPORT_MAX * REPORT_ENTRY;
export const DEBUG_HDR_SIZE: u32 = 64;
export const H_KMALLOC: u32 = H_DEBUG + DEBUG_HDR_SIZE;
export const KMALLOC_BYTES: u32 = 1560;      // KM_COLD_LENT + KM_SLOTS
export const H_BOOT: u32 = (H_KMALLOC + KMALLOC_BYTES + CACHE_LINE - 1) & ~(CACHE_LINE - 1);

// Header cache slots (cache.ts): the bytes from the end of the header (64-aligned) up to chunkBase — the
// chunk base's alignment, otherwise unused — hold kmem_caches of the heap's own caches (malloc's classes,
// sheaves, quarantine, staging), H_CACHE_BYTES each, up to MAX_HEADER_CACHES of them, before any
// boot-cache slab is taken: a small heap then spends no page on kmem_caches (past the slots, a small
// heap's own caches are own medium blocks when one fits: cache.ts smallHeap, medium "O" flag below). User caches always come
// from boot-cache slabs (index.ts userCache: a user cache lies on a boot-cache slab page).
//   slots      address of slot 0 (0: no slot fits)    slotCount  slots in the gap
//   slotFree   bit i set ⇔ slot i is free
export const H_SLOTS: u32 = H_HIGH_WATER + 20;      // 168
export const H_SLOT_COUNT: u32 = H_HIGH_WATER + 24; // 172
export const H_SLOT_FREE: u32 = H_HIGH_WATER + 28;  // 176
export const MAX_HEADER_CACHES: u32 = 32;           // the bits of slotFree
// The slots fill the gap up to the next multiple of HEADER_SLOTS_ALIGN past the header (at most
// MAX_HEADER_CACHES of them); the pre-chunk region takes the rest of the gap.
export const HEADER_SLOTS_ALIGN: u32 = PAGE_SIZE << MAX_SLAB_ORDER;   // 32 KiB

// The pre-chunk region (medium.ts, arena.ts PRE_LO): the bytes of the gap in front of chunk 0 past the
// header cache slots, when they make at least PRE_MIN_BYTES, are one medium region of node 0 that lies in
// no chunk — its home region (the control block at its start): it is never grown, never trimmed, never
// given back, and a small heap's medium blocks, cold-class loans and own blocks take its bytes before any
// chunk's. It has one descriptor of its own, just before its first byte (no chunk descriptor describes
// it): K_MEDIUM, node 0, aux the control block, objects its whole pages (counted in MC_PAGES).
//   ├─ slots ─┼ pad ┼─ descriptor (DESC_SIZE) ─┼─ r: 8 bytes ─┼─ control block ─┼─ blocks ... ─┼─ sentinel ─┤ chunkBase
//                                            H_PRE_LO = r (16-aligned)                            (8 bytes)
// A pointer p is in it ⇔ p − PRE_LO < chunkBase − PRE_LO (one unsigned compare; PRE_LO = chunkBase when
// there is none). The chunk table says CT_NO_CHUNK below chunkBase, so a free of such a pointer leaves the
// fast path (kmalloc.ts classify finds the region).
export const H_PRE_LO: u32 = H_HIGH_WATER + 32;     // 180: the region's first byte (0 before init: none)
export const PRE_MIN_BYTES: u32 = PAGE_SIZE;

// The debug block, at HEAP + H_DEBUG (DEBUG_HDR_SIZE bytes, zeroed at init; debug.ts, report.ts):
//   0 clock      logical time: +1 for every alloc/free of a debug cache (deterministic; stored in tracks)
//   4 callerTag  u32 the host sets (heap.setCallerTag / debug_set_tag); stored in tracks
//   8 defaults   debug flags (F_DEBUG_MASK | F_INUSE bits) OR-ed into every user cache created afterwards
//  12 stamp      host timestamp as last set by the host (debug_set_stamp); 0 unless set: runs stay
//                deterministic
//  16 errOffset  i32: offset of the bad byte from the object's start (negative: in the left red zone)
//  20 errFound   u8: the byte found there      21 errExpected u8: the byte that should be there
//  24 reports    reports made since init (each one is one env.hook(HOOK_REPORT, code, object, cache))
//  28 quarCache  the internal cache whose objects are quarantine arrays (made on first use)
export const DB_CLOCK: u32 = 0;
export const DB_TAG: u32 = 4;
export const DB_DEFAULTS: u32 = 8;
export const DB_STAMP: u32 = 12;
export const DB_ERR_OFFSET: u32 = 16;
export const DB_ERR_FOUND: u32 = 20;
export const DB_ERR_EXPECTED: u32 = 21;
export const DB_REPORTS: u32 = 24;
export const DB_QUAR_CACHE: u32 = 28;

// The kmalloc tables, at HEAP + H_KMALLOC (KMALLOC_BYTES, zeroed by init but caches[], filled on the first malloc;
// kmalloc.ts):
//   +0    caches[KM_SLOTS] u32   address of the cache of class k; the boot cache's = "not created yet"
//                                (cache.ts heapInit writes it in every slot): its per-CPU arrays are always
//                                the empty sheaf, so a class with no cache misses into malloc's slow path,
//                                and malloc's fast path reads its cache in one load. Slot 0 is never used
//                                by a class: it names the boot cache for ever.
//   +256  sizes[KM_SLOTS] u16    object size of class k (1..nclasses)
//   +384  nclasses u32   +388 class set (KM_SET_*)   +392 lend u32 (1: the default set, chosen by the
//                                first malloc: cold classes lend, kmalloc.ts lend)
//   +396  chunkless u32          blocks handed out from the pre-chunk region past the cold budgets while
//                                no chunk is grown (kmalloc.ts chunklessLoan), up to KM_CHUNKLESS_MAX
//   +400  index[KM_INDEX_LEN] u8 class of a request of n bytes (0 ≤ n ≤ KMALLOC_MAX) = index[(n+7) >> 3]
//                                (index[0] = 1: malloc(0) gets the first class); 0 until the tables are
//                                filled (→ slow path, which fills them)
//   +1428 coldLive[KM_COLD_SIZES] u8  medium blocks of b bytes lent to cold classes and not yet freed,
//                                at b / MB_GRAIN (kmalloc.ts lend, lentFreed)
//   +1496 coldLent[KM_SLOTS] u8  blocks lent for class k so far: medium blocks up to KM_COLD_MAX (at
//                                most KM_COLD_ALLOCS), a lender's objects above (at most KM_LEND_MAX)
export const KMALLOC_MAX: u32 = 8192;           // largest class; above it: page allocator (large blocks)
export const KM_SLOTS: u32 = 64;                // class slots, 1..KM_SLOTS-1 usable
export const KM_INDEX_LEN: u32 = (KMALLOC_MAX >> 3) + 1;
export const KM_CACHES: u32 = 0;
export const KM_SIZES: u32 = KM_CACHES + KM_SLOTS * 4;
export const KM_NCLASSES: u32 = KM_SIZES + KM_SLOTS * 2;
export const KM_SET: u32 = KM_NCLASSES + 4;
export const KM_INDEX: u32 = 400;
export const KM_LEND: u32 = KM_SET + 4;
export const KM_CHUNKLESS: u32 = KM_LEND + 4;
// A chunkless heap (layout.ts "The pre-chunk region") serves a class past its cold budgets from the
// region for this many blocks in all; then its classes get slabs as in any heap (chunk 0 grows): a short
// program keeps its one-page footprint, a long-running one that keeps allocating gets the fast path.
// 8192 (was 16384; bench/PROFILE.md "Parked loans"): one replay of a public trace takes at most ~7 200
// (coalescing-bal), and 4096 costs coalescing-bal and realloc2-bal a Wasm page each (util-peers).
export const KM_CHUNKLESS_MAX: u32 = 8192;
export const KM_COLD_LIVE: u32 = 1428;         // KM_INDEX + KM_INDEX_LEN, rounded up to 4
export const KM_COLD_SIZES: u32 = 68;           // lent block sizes / MB_GRAIN: up to KM_COLD_MAX's block + 16
export const KM_COLD_LENT: u32 = KM_COLD_LIVE + KM_COLD_SIZES;
export const KM_COLD_BYTES: u32 = 4096;         // a cold class lends while its live loans' blocks stay
                                                // under this many bytes (kmalloc.ts lend) ...
export const KM_COLD_WASTE: u32 = 1024;         // ... and their bytes beyond the class size under this ...
export const KM_COLD_ALLOCS: u32 = 255;         // ... and until it has lent this many blocks
export const KM_COLD_MAX: u32 = 1024;           // the largest class that starts cold
export const KM_LEND_MAX: u32 = 8;              // loans per class above it (kmalloc.ts borrow), then its own cache
export const KM_SET_KERNEL: u32 = 1;            // the kernel's classes: 8 16 32 64 96 128 192 256 512 1k 2k 4k 8k
export const KM_SET_FINE: u32 = 2;              // 16-byte steps up to 128, then 8 steps per doubling (≤ 12.5% apart)
export const KM_WARM_ALLOCS: u32 = 256;        // the fine set's classes start with per-CPU arrays off and
                                                // get them after this many slow-path allocations on a CPU
                                                // (kmalloc.ts classWarm: a small heap creates no sheaf)
export const MAX_LARGE_ALIGN: u32 = 1 << 16;    // largest alignment of a large block (over-allocated
                                                // above CHUNK_BASE_ALIGN: kmalloc.ts largeAlloc)

// ---- the node header: NodeHdr (page.ts), NODE_SIZE bytes per NUMA node in the heap header -------------
//   0      4          8        12            16           20         24          28       32    36
//   ├─lock─┼─freePages┼─nchunks┼─freeChunkHd─┼─nrFreeChunk┼─slabPages┼─largePages┼─binMap─┼─top─┼─ tail ─┤
//   freePages   in free page runs and free chunks   freeChunkHead  the free-chunk list (ChunkHdr next/prev)
//   binMap      bit b set ⇔ free list b is not empty
//   top         the first descriptor of the node's top run (page.ts: a free run on no bin), or 0
//   tail        freeList[NR_PAGE_BINS] (first descriptors of free page runs by size bin, doubly linked),
//               then padding to NODE_SIZE (a cache-line multiple)
export const N_LOCK: u32 = offsetof<NodeHdr>("lock");
export const N_FREE_PAGES: u32 = offsetof<NodeHdr>("freePages");
export const N_NCHUNKS: u32 = offsetof<NodeHdr>("nchunks");
export const N_FREE_CHUNK_HEAD: u32 = offsetof<NodeHdr>("freeChunkHead");
export const N_NR_FREE_CHUNKS: u32 = offsetof<NodeHdr>("nrFreeChunks");
export const N_SLAB_PAGES: u32 = offsetof<NodeHdr>("slabPages");
export const N_LARGE_PAGES: u32 = offsetof<NodeHdr>("largePages");
export const N_BIN_MAP: u32 = offsetof<NodeHdr>("binMap");
export const N_TOP: u32 = offsetof<NodeHdr>("top");
export const N_FREE_LISTS: u32 = offsetof<NodeHdr>();
export const N_MEDIUM: u32 = N_FREE_LISTS + NR_PAGE_BINS * 4; // after the bins (in the padding): the address of
                                                // the node's medium control block, 0 until its first region
                                                // (medium.ts; published once, never changes after)

// ---- medium blocks (medium.ts): regions of pages cut into blocks with boundary tags -----------------------
// A region is a page run (K_MEDIUM / K_MEDIUM_TAIL descriptors) tiled exactly by blocks:
//
//   r (page-aligned)                                                                   r + pages × 4 KiB
//   ├ 8 ┼ block ──────────────────┼ block ───────────┼ free block ─────────────┼ ... ┼ sentinel (8) ┤
//        ↑ header (MB_HDR = 8)     ↑ user pointer p = block + MB_HDR (16-aligned: blocks start ≡ 8 mod 16)
//
//   block header (MB_HDR bytes at the block's start):
//   0                            4                            8
//   ├─ size | P F R (u32) ───────┼─ check (u32) ───────────────┤ payload ... (a free block: next, prev,
//   size   bytes of the block, header included, a multiple of 16      ..., and its size in its last u32)
//   F (bit 0) free   P (bit 1) the block before is free (its size is the u32 just below this header)
//   R (bit 2) reserved: the node's control block (the home region's first block) and the sentinel
//   O (bit 3) own: a live block the heap holds for its own structures in a small heap (a kmem_cache past
//          the header cache slots, a kmalloc class's sheaf: cache.ts, sheaf.ts); free() refuses it
//          (E_NOT_OURS), only mediumFreeOwn(ptr) frees it
//   check  medium.ts keyOf(block, size): the block address and size mixed with a constant; a header whose
//          check fails is no block start. A header absorbed by coalescing keeps F with size 0 and
//          keyOf(block, 0): a later free() of it is a double free.
//   A free block of S bytes: u32 next at +8, u32 prev at +12 (block addresses in its free list), u32 list
//   at +16 (its list index, fl × 16 + sl below: written when it is linked, read when it is unlinked first
//   on its list), S at S − 4. The sentinel: size 0, R set (P when the last block is free), at r + pages × 4 KiB − 8.
// The home region of a node (its first) starts with the control block, a reserved block that is never
// freed, so the home region never goes back; its payload (MC_SIZE bytes):
//   0 lock   4 flMap   8 regions (list of first descriptors, PageDesc next/prev)   12 nregions
//   16 freeBytes (Σ free block sizes)   20 blocks (live blocks)   24 node   28 pages (Σ region pages)
//   32 slMap[MB_FL_COUNT] u16   64 heads[MB_FL_COUNT × MB_SL_COUNT] u32 (first free block of each list)
//   896 park: the last parked block (0: none)   900 parked: count (bits 0..15) | size filter (bits 16..31)
// Parked blocks (the pre-chunk region only, medium.ts park / unpark): a freed block of at most PARK_MAX
// bytes is kept whole, not merged, on the control block's park list (LIFO, at most PARK_DEPTH), for the
// next request of exactly its size. Its header has F and R both set (free for free(), realloc and
// malloc_usable_size: E_DOUBLE_FREE; live for its neighbours: no P after it, never merged, never on a
// free list), its check word unchanged, the next parked block at +8. The filter has bit parkBit(size)
// set for every size on the list (and maybe more: cleared only when the list empties or is walked).
//   ├─ size | P F R (u32) ─┼─ check (u32) ─┼─ next parked (u32) ─┼ ... (the rest of the block, untouched)
// Free lists (TLSF's two-level map): a block of S bytes is on list (fl, sl): fl = 0, sl = S >> 4 for
// S < MB_SMALL; else fl = fls(S) − 7, sl = the 4 bits below S's top bit. flMap bit fl ⇔ slMap[fl] ≠ 0;
// slMap[fl] bit sl ⇔ heads[fl × 16 + sl] ≠ 0.
export const MB_HDR: u32 = 8;
export const MB_GRAIN: u32 = 16;
export const MB_MIN: u32 = 32;                   // smallest block: header, two links, list index, footer
export const MB_LIST: u32 = 16;                  // a free block's list index (above)
export const MB_SL_SHIFT: u32 = 4;
export const MB_SL_COUNT: u32 = 1 << MB_SL_SHIFT;
export const MB_SMALL: u32 = MB_SL_COUNT * MB_GRAIN;  // 256: below it one list per 16 bytes
export const MB_FL_COUNT: u32 = 13;              // block sizes < 2^20 (a region is at most USABLE_PAGES)
export const MB_F_FREE: u32 = 1;
export const MB_F_PREV_FREE: u32 = 2;
export const MB_F_RESERVED: u32 = 4;
export const MB_F_OWN: u32 = 8;
export const MB_FLAGS: u32 = MB_GRAIN - 1;
export const MC_LOCK: u32 = 0;
export const MC_FL_MAP: u32 = 4;
export const MC_REGIONS: u32 = 8;
export const MC_NREGIONS: u32 = 12;
export const MC_FREE_BYTES: u32 = 16;
export const MC_BLOCKS: u32 = 20;
export const MC_NODE: u32 = 24;
export const MC_PAGES: u32 = 28;
export const MC_SL_MAP: u32 = 32;
export const MC_HEADS: u32 = 64;
export const MC_PARK: u32 = MC_HEADS + MB_FL_COUNT * MB_SL_COUNT * 4;   // 896
export const MC_PARKED: u32 = MC_PARK + 4;
export const MC_SIZE: u32 = MC_PARKED + 4;                              // 904 (the control block stays 912 bytes)

// ---- kmem_cache (cache.ts; debug and reclaim fields: debug.ts, inuse.ts, reclaim.ts) ---------------------
//   ┌──────────── header (C_HDR bytes) ────────────┐┌ per-node [nnodes] ┐┌ per-CPU [ncpus] (cache-line) ┐
//   magic id size stride align flags order objects ... node 0 | node 1 ... cpu 0 | cpu 1 | ...
// A cache is one object of the boot cache; its size depends on the topology (fixed at init), so the
// header keeps explicit offsets; the per-node part is CacheNode × nnodes, the per-CPU part CpuSlot × ncpus.
//   0 magic  4 id  8 size  12 stride  16 align  20 flags  24 order  28 objects  32 objOffset
//  36 bitmapWords  40 recip  44 arrayCap  48 minPartial  52 next  56 prev  60 batch  64 live
//  68 debugOff  72 lastReap  76 slabMask  80 divInv  84 divShift  88 keepEmpty  92 ownBlock  96 mag  100 self  104 busy  108 inuseOff  112 reports  116 quarCount
// 120 quar  124 trackOff
export const CACHE_MAGIC: u32 = 0x4b4d4321; // 'KMC!'
export const C_MAGIC: u32 = 0;
export const C_ID: u32 = 4;
export const C_SIZE: u32 = 8;        // object size the user asked for
export const C_STRIDE: u32 = 12;     // distance between objects: size rounded up to align (+ debug extras)
export const C_ALIGN: u32 = 16;
export const C_FLAGS: u32 = 20;
export const C_ORDER: u32 = 24;
export const C_OBJECTS: u32 = 28;    // objects per slab
export const C_OBJ_OFFSET: u32 = 32; // offset of object 0 inside a slab (after an in-slab bitmap and,
                                     // in a red-zoned cache, object 0's left red zone: see debug.ts)
export const C_BITMAP_WORDS: u32 = 36; // u64 words of bitmap (in the slab when objects > 64)
export const C_RECIP: u32 = 40;      // ⌊2^32 / stride⌋ + 1: index = (offset * recip) >> 32
export const C_ARRAY_CAP: u32 = 44;  // per-CPU array capacity (0 = arrays off)
export const C_MIN_PARTIAL: u32 = 48;
export const C_NEXT: u32 = 52;       // the heap's list of caches
export const C_PREV: u32 = 56;
export const C_BATCH: u32 = 60;      // objects moved per refill / flush
export const C_LIVE: u32 = 64;       // objects handed to users (not counting per-CPU arrays)
export const C_DEBUG_OFF: u32 = 68;  // debug: offset of the object inside its stride slot (left red zone)
export const C_LAST_REAP: u32 = 72;  // reclaim.ts
export const C_SLAB_MASK: u32 = 76;  // slab bytes - 1: slabs are naturally aligned, so ptr & mask = offset in slab
export const C_DIV_INV: u32 = 80;    // stride = odd << shift: the inverse of odd mod 2^32 (slab.ts objectStartIndex:
export const C_DIV_SHIFT: u32 = 84;  // rotr(offset × inv, shift) is the index exactly when offset is a multiple)
export const C_KEEP_EMPTY: u32 = 88; // bytes of empty slabs a node may keep beyond 2 × minPartial slabs (node.ts;
                                     // 0 for every cache but malloc's classes: kmalloc.ts)
export const C_OWN_BLOCK: u32 = 92;  // a kmem_cache in an own medium block (cache.ts cacheMemory): that block's
                                     // address (the cache is its first cache-line boundary); 0 otherwise
export const C_MAG: u32 = 96;       // the JS magazine (prefill.ts magRefill, single-threaded build): a handle
                                     // whose objects count as parked, not live; 0 while there is none
export const C_SELF: u32 = 100;      // the cache's own address while it lives (index.ts knownCache: a
                                     // handle check without reading the slab bitmap); 0 once destroyed
export const C_BUSY: u32 = 104;      // slabs being made for this cache now (node.ts, around slabNew: a
                                     // constructor or shrinker may re-enter): destroy refuses meanwhile
export const C_INUSE_OFF: u32 = 108; // F_INUSE: offset of the in-use bitmap inside a slab (inuse.ts)
export const C_REPORTS: u32 = 112;   // reports made about this cache
export const C_QUAR_COUNT: u32 = 116; // objects quarantined (allocated in their slabs, never handed out)
export const C_QUAR: u32 = 120;      // quarantine array (0 until the first): remembers the first QUAR_CAP
export const C_TRACK_OFF: u32 = 124; // F_STORE_USER: offset of the alloc track from the object; 0: none
export const C_HDR: u32 = 128;

// ---- the cache-node: CacheNode (node.ts, sheaf.ts), CN_SIZE bytes per cache per node ---------------------
//   0      4        8     12     16        20     24      28           32        36         40     44     48
//   ├─lock─┼partial─┼full─┼empty─┼nrPartial┼nrFull┼nrEmpty┼totalObjects┼barnFull─┼barnEmpty─┼nrFull┼nrEmpty┼
//   48 reclaim cursor, then padding to CN_SIZE
//   partial/full/empty   slab lists (PageDesc next/prev)     totalObjects  in this node's slabs
//   barnFull/barnEmpty   the barn: sheaves threaded through Sheaf.next; barn nrFull / nrEmpty their counts
export const CN_SIZE: u32 = 64;
export const CN_LOCK: u32 = offsetof<CacheNode>("lock");
export const CN_PARTIAL: u32 = offsetof<CacheNode>("partial");
export const CN_FULL: u32 = offsetof<CacheNode>("full");
export const CN_EMPTY: u32 = offsetof<CacheNode>("empty");
export const CN_NR_PARTIAL: u32 = offsetof<CacheNode>("nrPartial");
export const CN_NR_FULL: u32 = offsetof<CacheNode>("nrFull");
export const CN_NR_EMPTY: u32 = offsetof<CacheNode>("nrEmpty");
export const CN_TOTAL_OBJECTS: u32 = offsetof<CacheNode>("totalObjects");
export const CN_BARN_FULL: u32 = offsetof<CacheNode>("barnFull");
export const CN_BARN_EMPTY: u32 = offsetof<CacheNode>("barnEmpty");
export const CN_BARN_NR_FULL: u32 = offsetof<CacheNode>("barnNrFull");
export const CN_BARN_NR_EMPTY: u32 = offsetof<CacheNode>("barnNrEmpty");

// ---- the CPU slot: CpuSlot (cpu.ts, percpu.ts, stats.ts), CC_SIZE bytes per cache per CPU -----------------
//   0     4      8      12       16                       48       52       64                     256
//   ├main─┼spare─┼guard─┼touched─┼─alien[MAX_NODES]───────┼scratch─┼────────┼─counters[NR_STATS] u64┤
//   main/spare  sheaves (LIFO)      guard  in-use guard (re-entrancy)
//   touched     reclaim.ts: 1 = a slow path ran; an even value = 2 × the fast-path counters at the last reap
//   alien       one sheaf per node for remote frees     scratch  one-object refills
//   counters    stats.ts, on the second cache line
export const CC_SIZE: u32 = 256;
export const CC_MAIN: u32 = offsetof<CpuSlot>("main");
export const CC_SPARE: u32 = offsetof<CpuSlot>("spare");
export const CC_GUARD: u32 = offsetof<CpuSlot>("guard");
export const CC_TOUCHED: u32 = offsetof<CpuSlot>("touched");
export const CC_ALIEN: u32 = offsetof<CpuSlot>();
export const CC_SCRATCH: u32 = CC_ALIEN + MAX_NODES * 4;
export const CC_STATS: u32 = CACHE_LINE;

// ---- the sheaf: Sheaf (sheaf.ts, cpu.ts) ----------------------------------------------------------------
//   0      4     8     12    16
//   ├count─┼cap──┼next─┼node─┼─entries[cap] (object addresses, LIFO: entries[count-1] is the hottest)─┤
//   next  barn list link     node  whose objects an alien sheaf holds
// A sheaf is an object of an internal "sheaf-N" cache (N = its size class). The empty sheaf in the
// heap header has capacity 0, so a CPU that has none simply misses into the slow path.
export const SH_COUNT: u32 = offsetof<Sheaf>("count");
export const SH_CAP: u32 = offsetof<Sheaf>("cap");
export const SH_NEXT: u32 = offsetof<Sheaf>("next");
export const SH_NODE: u32 = offsetof<Sheaf>("node");
export const SH_HDR: u32 = offsetof<Sheaf>();
export const MAX_ARRAY_CAP: u32 = ((1 << (SHEAF_MIN_SHIFT + SHEAF_CLASSES - 1)) - SH_HDR) >> 2; // 4092
export const BARN_MAX_FULL: u32 = 10;   // as the kernel's MAX_FULL_SHEAVES
export const BARN_MAX_EMPTY: u32 = 10;
export const ALIEN_CAP: u32 = 12;       // as SLAB's alien limit

// ---- a debug cache's slot (debugslot.ts, debug.ts) ------------------------------------------------------
// stride bytes; the object address is slot + C_DEBUG_OFF, aligned:
//
//   ├─ left red zone ─┼──── object (size) ────┼─ right red zone ─┼─ alloc track ─┼─ free track ─┼ pad ┤
//   ↑ slot            ↑ object                ↑ object + size    ↑ object + C_TRACK_OFF          stride
//   C_DEBUG_OFF bytes                          to object + inner  TRACK_SIZE      TRACK_SIZE
//
//   left red zone  F_RED_ZONE: RZ_WIDTH rounded up to the alignment (so the object stays aligned)
//   right red zone F_RED_ZONE: from the object's end to the next 8-byte boundary, plus RZ_WIDTH
//   red zones      RZ_INACTIVE while the object is free, RZ_ACTIVE while it is allocated (as SLUB)
//   object         F_POISON: while free, POISON_FREE bytes and a last byte POISON_END
//   tracks         F_STORE_USER: who allocated / freed it last (Track below)
export const RZ_WIDTH: u32 = 8;
export const RZ_INACTIVE: u8 = 0xbb;
export const RZ_ACTIVE: u8 = 0xcc;
export const POISON_FREE: u8 = 0x6b;
export const POISON_END: u8 = 0xa5;

// ---- the track: Track (debug.ts) -------------------------------------------------------------------------
//   0      4     6  7  8      12     16
//   ├─tag──┼cpu──┼n─┼s─┼clock─┼stamp─┤
//   tag  caller tag   cpu u16   n u8 node   s u8 set (1 once written)
//   clock  logical time   stamp  host time, if the host sets one
export const TRACK_SIZE: u32 = 16;
export const T_TAG: u32 = offsetof<Track>("tag");
export const T_CPU: u32 = offsetof<Track>("cpu");
export const T_NODE: u32 = offsetof<Track>("node");
export const T_SET: u32 = offsetof<Track>("set");
export const T_CLOCK: u32 = offsetof<Track>("clock");
export const T_STAMP: u32 = offsetof<Track>("stamp");

// ---- a quarantine array (debug.ts): one object of the internal quarantine cache ---------------------------
//   0 count   4 capacity   8 entries[capacity] (object addresses)
export const Q_COUNT: u32 = 0;
export const Q_CAP: u32 = 4;
export const Q_HDR: u32 = 8;
export const QUAR_BYTES: u32 = 1024;
export const QUAR_CAP: u32 = (QUAR_BYTES - Q_HDR) >> 2;             // 254

// How many live objects a failed destroy names (TS reads this many through cache_live_at).
export const LIVE_REPORT_MAX: u32 = 8;

// ---- cache flags ---------------------------------------------------------------------------------------
export const F_CTOR: u32 = 1 << 0;        // call env.hook(HOOK_CTOR) once per object when a slab is made
export const F_RECLAIMABLE: u32 = 1 << 1; // first u32 is a refcount; has a destructor
export const F_RED_ZONE: u32 = 1 << 2;
export const F_POISON: u32 = 1 << 3;
export const F_STORE_USER: u32 = 1 << 4;
export const F_CHECKS: u32 = 1 << 5;
export const F_INTERNAL: u32 = 1 << 6;    // kmalloc-N or another cache the heap owns
export const F_NO_ALIEN: u32 = 1 << 7;    // remote frees go straight to the remote node's lists
export const F_DEBUG_MASK: u32 = F_RED_ZONE | F_POISON | F_STORE_USER | F_CHECKS;
export const F_INUSE: u32 = 1 << 8;       // per-object in-use bit (inuse.ts): catches double frees of parked objects
export const F_EXACT: u32 = 1 << 9;       // at creation only: take these flags as given, no heap defaults
export const F_KMALLOC: u32 = 1 << 10;    // a kmalloc-N cache (free() accepts only these)
export const F_FREEKEY: u32 = 1 << 11;    // double-free hardening by a key in free objects (harden.ts)
export const F_USER_MASK: u32 = F_CTOR | F_RECLAIMABLE | F_DEBUG_MASK | F_NO_ALIEN | F_INUSE | F_EXACT;

// ---- host hooks (env.hook(op, a, b, c)) ----------------------------------------------------------------
export const HOOK_CTOR: i32 = 1;          // (cacheId, object)
export const HOOK_DTOR: i32 = 2;          // (cacheId, object)
export const HOOK_SHRINK: i32 = 3;        // (node, pages wanted) → pages freed
export const HOOK_REPORT: i32 = 4;        // (error code, object, cache)

// ---- error codes at the ABI ----------------------------------------------------------------------------
export const E_OK: i32 = 0;
export const E_NOMEM: i32 = 1;        // budget reached, or memory.grow refused
export const E_NOT_OURS: i32 = 2;     // not inside a chunk, or not inside a slab / block
export const E_NOT_OBJECT: i32 = 3;   // inside a slab but not at an object's start
export const E_WRONG_CACHE: i32 = 4;  // an object of another cache
export const E_DOUBLE_FREE: i32 = 5;  // the object is already free
export const E_INVALID: i32 = 6;      // absurd size, bad option, bad node or CPU
export const E_BUSY: i32 = 7;         // destroying a cache with live objects
export const E_BAD_CACHE: i32 = 8;    // not a cache, or a destroyed one
export const E_REDZONE: i32 = 9;
export const E_POISON: i32 = 10;
export const E_CORRUPT: i32 = 11;     // validate found an inconsistency
// ENOMEM / EINVAL as wasi-libc numbers them (posix_memalign's return value)
export const ERRNO_ENOMEM: i32 = 48;
export const ERRNO_EINVAL: i32 = 28;

// ---- reclaim (reclaim.ts) --------------------------------------------------------------------------------
export const REAP_NEXT: u32 = 0xffffffff; // reapPass(REAP_NEXT): the next CPU in round-robin order
export const RECLAIM_ALL: u32 = 0xffffffff; // cacheReclaim(cache, RECLAIM_ALL): walk every slab
export const RECLAIM_MIXED_SHIFT: u32 = 3; // a mixed slab gives up to objects >> 3 (at least 1) per pass

// ---- compile-time checks: each class of structs.ts has the size its constant says ------------------------
// (A false condition compiles to nothing; a true one stops the build with the message.)
if (offsetof<PageDesc>() != DESC_SIZE || (1 << DESC_SHIFT) != DESC_SIZE) ERROR("PageDesc is not DESC_SIZE bytes");
if (offsetof<ChunkHdr>() > DESC_SIZE || offsetof<ChunkHdr>("kind") != D_KIND ||
    offsetof<ChunkHdr>("next") != D_NEXT || offsetof<ChunkHdr>("prev") != D_PREV) {
  ERROR("ChunkHdr does not overlay a PageDesc (kind, and next / prev for list.ts)");
}
if (N_MEDIUM + 4 > NODE_SIZE || NR_PAGE_BINS > 32) ERROR("NodeHdr, its free lists and N_MEDIUM exceed NODE_SIZE");
if (MC_SL_MAP + MB_FL_COUNT * 2 > MC_HEADS || (USABLE_PAGES << PAGE_SHIFT) >= (<u32>1 << (MB_FL_COUNT + 7))) ERROR("medium control block: the maps do not fit, or a region's size has no free list");
if (offsetof<CacheNode>() > CN_SIZE) ERROR("CacheNode exceeds CN_SIZE");
if (CC_SCRATCH + 4 > CC_STATS || offsetof<CpuSlot>() != 16) ERROR("CpuSlot's tail does not fit before CC_STATS");
if (offsetof<Track>() != TRACK_SIZE) ERROR("Track is not TRACK_SIZE bytes");
if (KM_COLD_LIVE < KM_INDEX + KM_INDEX_LEN || KM_COLD_LENT + KM_SLOTS > KMALLOC_BYTES) ERROR("the kmalloc tables exceed KMALLOC_BYTES");
// The cold-class counters are bytes: a block size's live loans come from the class of that block size
// and the class 16 bytes below (a remainder), and each stops lending when its count reaches its budget, so
// a count stays under KM_COLD_BYTES / (MB_MIN + MB_GRAIN) + 1 (or, at MB_MIN, class 16's KM_COLD_BYTES /
// MB_MIN + 1 plus class 8's KM_COLD_WASTE / (MB_MIN − 8) + 1).
if (KM_COLD_ALLOCS > 0xff || KM_COLD_BYTES / MB_MIN + KM_COLD_WASTE / (MB_MIN - 8) + 2 > 0xff) ERROR("the cold-class counters are bytes (kmalloc.ts lend)");
if (KM_COLD_SIZES * MB_GRAIN <= ((KM_COLD_MAX + MB_HDR + MB_GRAIN - 1) & ~(MB_GRAIN - 1)) + MB_GRAIN) ERROR("KM_COLD_SIZES must cover the largest lent block");
if (SH_HDR != 16) ERROR("Sheaf's header is not 16 bytes (the empty sheaf in the heap header is 16)");

// ---- threads (assembly/threads.ts, assembly/sync.ts) ------------------------------------------------
// Shared heaps (the threaded build) take three words of the header's reserved bytes 152..167 (148 is
// H_HIGH_WATER; 168..179 are the header cache slots'), and every heap one more:
//   152 H_THREADS   address of the thread block (0 in a single-threaded heap)
//   156 H_HEAP_LOCK the heap lock (sync.ts heapLock: cache list, ids, lazily created internal caches)
//   160 H_TOKEN     last instance token handed out (each attached instance takes the next one)
//   164 H_KEPT_BEYOND 1 while some cache may keep empty slabs beyond 2 × min_partial (node.ts: the hint
//                   every instance reads before memory grows; in memory, so that one thread's kept slabs
//                   go back before another thread grows memory)
// The thread block (THREAD_BYTES, after the boot cache) holds one THREAD_CPU-byte record per CPU:
//   0 owner    token of the instance owning this CPU, 0 = free (claimed and released with atomics)
//   4 req      requests for the owner (REQ_* bits), honoured at its next slow path or API call
//   8 reqSeq   requests posted (a requester ORs its bits into req, then adds 1 here)
//  12 doneSeq  reqSeq as the owner last honoured it (requesters wait on this word)
// A shared heap's caches have one more per-CPU slot than CPUs (index ncpus, the "parked" slot): an
// instance without a CPU runs on it; its arrays are the empty sheaf for ever, so every operation takes
// a slow path, which refuses with E_NO_CPU.
export const H_THREADS: u32 = H_HIGH_WATER + 4;   // 152
export const H_HEAP_LOCK: u32 = H_HIGH_WATER + 8; // 156
export const H_TOKEN: u32 = H_HIGH_WATER + 12;    // 160
export const H_KEPT_BEYOND: u32 = H_HIGH_WATER + 16; // 164
export const THREAD_CPU: u32 = 16;
export const T_OWNER: u32 = 0;
export const T_REQ: u32 = 4;
export const T_REQ_SEQ: u32 = 8;
export const T_DONE_SEQ: u32 = 12;
export const THREAD_BYTES: u32 = MAX_CPUS * THREAD_CPU;
export const REQ_DRAIN: u32 = 1;        // flush every array of the CPU (all caches) to the slabs
export const REQ_REAP: u32 = 2;         // run one reap pass on the CPU
export const E_NO_CPU: i32 = 12;        // shared heap: this instance owns no CPU (released, or never claimed)
export const MAX_SHARED_CPUS: u32 = MAX_CPUS - 1; // the parked slot's node byte must fit H_CPU_NODE
