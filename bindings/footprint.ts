// footprint.ts — heap.footprint(): every byte the heap took above its heap base, by category.
//
// Owns: the Footprint type and its derivation from the Wasm walk (assembly/footprint.ts, heap_footprint),
// and the page map (descriptors read through the generated layout constants). Calls core.ts only.
// Entry points: footprint(core, options), which Heap.footprint() delegates to; pageMap(heap). Calls the Wasm export
// heap_footprint once and reads its FP_SLOTS results (footprint_result); changes nothing in the heap.
//
// Invariant: the byte categories (FOOTPRINT_CATEGORIES) sum exactly to `total` =
// memory.buffer.byteLength − heapBase. test/footprint.test.ts checks it after random workloads.
//
// Requested sizes: malloc's size classes do not record what each caller asked for (a per-object size
// would cost 4+ bytes and a store per malloc, on the hot path, to serve a diagnostic). The Wasm walk
// therefore knows, for class objects, only their usable size (the class size). A caller that knows the
// requested bytes of its live malloc blocks — a trace replayer does: it has every size — passes them as
// `mallocRequested`, and the class bytes split into live payload and class rounding. Without it, class
// objects count whole as live payload (their usable size) and their rounding reads 0; `requestedKnown`
// says which. Large blocks and chunk runs record the requested bytes, and caches know their object size,
// so those are always exact.
import type { Core } from "./core.js";
import { InvalidArgumentError } from "./errors.js";
import { Abi as L } from "./generated/abi.js";

/** The byte categories of a footprint, in the order pictures stack them. */
export const FOOTPRINT_CATEGORIES = [
  "header",
  "metadata",
  "internal",
  "live",
  "rounding",
  "slabTail",
  "slabFree",
  "parked",
  "largeTail",
  "free",
  "untouched",
  "other",
] as const;
export type FootprintCategory = (typeof FOOTPRINT_CATEGORIES)[number];

/** One line per category, for tables and picture legends. */
export const FOOTPRINT_LABELS: Record<FootprintCategory, string> = {
  header: "heap header (config, node structs, chunk table, boot cache, the heap's first kmem_caches)",
  metadata: "page descriptors and in-slab bitmaps",
  internal: "the heap's own objects (cache structs, per-CPU arrays)",
  live: "live payload (bytes requested)",
  rounding: "class rounding (usable − requested)",
  slabTail: "slab tail waste",
  slabFree: "free objects in slabs",
  parked: "objects parked in per-CPU, spare, barn, alien arrays",
  largeTail: "large-block tails (pages kept − requested)",
  free: "free page runs and free chunks",
  untouched: "grown but never handed out",
  other: "unaccounted (0 on a sound heap)",
};

/** Every byte above the heap base, by category. */
export type Footprint = Record<FootprintCategory, number> & {
  /** memory.buffer.byteLength − heapBase: the sum of every category above. */
  total: number;
  /** Live objects of malloc's size classes (not counting those parked in arrays). */
  mallocObjects: number;
  /** Usable bytes of those objects (class size each). */
  mallocClassBytes: number;
  /** Whether `live`/`rounding` of malloc's class objects come from a caller's `mallocRequested`. */
  requestedKnown: boolean;
};

export interface FootprintOptions {
  /** Bytes requested by every live malloc block (classes and large blocks alike), when the caller
   *  knows them (a replayer does). Splits class objects into live payload and rounding. */
  mallocRequested?: number;
}

// Slots of the Wasm result area (assembly/footprint.ts FP_*).
const FP_TOTAL = 0, FP_HEADER = 1, FP_META = 2, FP_INTERNAL = 3, FP_LIVE = 4, FP_ROUNDING = 5,
  FP_KM_USABLE = 6, FP_SLAB_TAIL = 7, FP_SLAB_FREE = 8, FP_PARKED = 9, FP_FREE = 10, FP_LARGE_TAIL = 11,
  FP_UNTOUCHED = 12, FP_OTHER = 13, FP_KM_OBJECTS = 14, FP_LARGE_REQUESTED = 15, FP_SLOTS = 16;

export function footprint(core: Core, options: FootprintOptions = {}): Footprint {
  const req = options.mallocRequested;
  if (req !== undefined && (!Number.isSafeInteger(req) || req < 0)) {
    throw new InvalidArgumentError(`footprint: mallocRequested ${req} is not a byte count`);
  }
  if (L.FP_SLOTS !== FP_SLOTS) throw new Error(`footprint: the Wasm module has ${L.FP_SLOTS} result slots, expected ${FP_SLOTS}`);
  core.w.heap_footprint();
  const slots = Array.from({ length: FP_SLOTS }, (_, i) => core.w.footprint_result(i));
  const f = (slot: number): number => slots[slot]!;
  const kmUsable = f(FP_KM_USABLE);
  let live = f(FP_LIVE) + kmUsable;
  let rounding = f(FP_ROUNDING);
  if (req !== undefined) {
    const classRequested = req - f(FP_LARGE_REQUESTED);       // the large blocks' share is known exactly
    if (classRequested < 0 || classRequested > kmUsable) {
      throw new InvalidArgumentError(
        `footprint: mallocRequested ${req} does not fit the live malloc blocks (large: ${f(FP_LARGE_REQUESTED)} B requested, classes: ${kmUsable} B usable)`,
      );
    }
    live = f(FP_LIVE) + classRequested;
    rounding += kmUsable - classRequested;
  }
  return {
    header: f(FP_HEADER),
    metadata: f(FP_META),
    internal: f(FP_INTERNAL),
    live,
    rounding,
    slabTail: f(FP_SLAB_TAIL),
    slabFree: f(FP_SLAB_FREE),
    parked: f(FP_PARKED),
    largeTail: f(FP_LARGE_TAIL),
    free: f(FP_FREE),
    untouched: f(FP_UNTOUCHED),
    other: f(FP_OTHER),
    total: f(FP_TOTAL),
    mallocObjects: f(FP_KM_OBJECTS),
    mallocClassBytes: kmUsable,
    requestedKnown: req !== undefined,
  };
}

/** Owner of one 4 KiB page in a page map. */
export const PAGE_OWNER = { metadata: 0, cache: 1, malloc: 2, large: 3, free: 4, untouched: 5, medium: 6 } as const;
export type PageOwner = (typeof PAGE_OWNER)[keyof typeof PAGE_OWNER];

/** One entry per 4 KiB page from the heap base's page to the end of memory. */
export interface PageMap {
  /** Address of page 0 of the map (heapBase rounded down to 4 KiB). */
  start: number;
  owner: Uint8Array;
  /** 0..1: objects handed out ÷ objects (slabs), requested ÷ kept bytes (large blocks), bytes in live
   *  blocks ÷ page bytes (medium regions); 1 for metadata. */
  fill: Float32Array;
}

/** The heap's pages by owner and fill (for pictures: bench/svg-memory.mjs). Reads descriptors only. */
export function pageMap(heap: { core: Core }): PageMap {
  const core = heap.core;
  const { PAGE_SIZE, CHUNK_SIZE, DESC_SIZE, DESC_BYTES, D_KIND, D_CACHE, D_INUSE, D_OBJECTS, D_AUX } = L;
  const { K_FREE, K_SLAB, K_LARGE, K_MEDIUM, MB_HDR, MB_FLAGS, MB_F_FREE, C_ORDER, C_FLAGS, F_INTERNAL, F_KMALLOC } = L;
  const { CH_STATE, CS_RUN, CS_FREE, CH_RUN_CHUNKS, CH_RUN_BYTES, H_HEAP_BASE, H_CHUNK_BASE, H_NCHUNKS, H_HIGH_WATER } = L;
  const u8 = core.u8;
  const u32 = (a: number) => core.u32(a);
  const u16 = (a: number) => u8[a]! | (u8[a + 1]! << 8);
  const start = u32(core.hdr + H_HEAP_BASE) & ~(PAGE_SIZE - 1);
  const end = u8.length;
  const n = Math.ceil((end - start) / PAGE_SIZE);
  const owner = new Uint8Array(n).fill(PAGE_OWNER.untouched);
  const fill = new Float32Array(n);
  const set = (addr: number, pages: number, o: PageOwner, f: number) => {
    for (let i = 0; i < pages; i++) {
      const k = (addr - start) / PAGE_SIZE + i;
      if (k >= 0 && k < n) { owner[k] = o; fill[k] = f; }
    }
  };
  const chunkBase = u32(core.hdr + H_CHUNK_BASE);
  const high = u32(core.hdr + H_HIGH_WATER);
  // a medium region [a, end) (assembly/medium.ts), page by page: fill = bytes of live blocks (and the
  // control block) per page
  const medium = (a: number, end: number) => {
    const first = Math.floor(a / PAGE_SIZE);
    const used = new Float64Array(Math.ceil(end / PAGE_SIZE) - first);
    for (let b = a + MB_HDR; b < end - MB_HDR; ) {
      const w = u32(b);
      const size = w & ~MB_FLAGS;
      if (size === 0) break;                          // a broken region (validate reports it)
      if (!(w & MB_F_FREE)) {
        for (let x = b; x < b + size; ) {
          const page = Math.floor(x / PAGE_SIZE);
          const stop = Math.min(b + size, (page + 1) * PAGE_SIZE);
          used[page - first] = used[page - first]! + (stop - x);
          x = stop;
        }
      }
      b += size;
    }
    for (let i = 0; i < used.length; i++) set((first + i) * PAGE_SIZE, 1, PAGE_OWNER.medium, used[i]! / PAGE_SIZE);
  };
  set(start, (chunkBase - start) / PAGE_SIZE, PAGE_OWNER.metadata, 1);
  const pre = u32(core.hdr + L.H_PRE_LO);             // the pre-chunk medium region, up to chunkBase (0: none)
  if (pre !== 0) medium(pre, chunkBase);
  const nchunks = u32(core.hdr + H_NCHUNKS);
  const pagesPerChunk = CHUNK_SIZE / PAGE_SIZE;
  const metaPages = DESC_BYTES / PAGE_SIZE;
  const freeAt = (addr: number, pages: number) => {
    for (let i = 0; i < pages; i++) {
      const a = addr + i * PAGE_SIZE;
      set(a, 1, a >= high ? PAGE_OWNER.untouched : PAGE_OWNER.free, 0);
    }
  };
  for (let c = 0; c < nchunks; ) {
    const ch = chunkBase + c * CHUNK_SIZE;
    set(ch, metaPages, PAGE_OWNER.metadata, 1);
    const state = u8[ch + CH_STATE]!;
    if (state === CS_RUN) {
      const count = u32(ch + CH_RUN_CHUNKS);
      const kept = count * CHUNK_SIZE - DESC_BYTES;
      set(ch + DESC_BYTES, kept / PAGE_SIZE, PAGE_OWNER.large, u32(ch + CH_RUN_BYTES) / kept);
      c += count;
      continue;
    }
    if (state === CS_FREE) freeAt(ch + DESC_BYTES, pagesPerChunk - metaPages);
    else {
      for (let p = metaPages; p < pagesPerChunk; ) {
        const d = ch + p * DESC_SIZE;
        const a = ch + p * PAGE_SIZE;
        const kind = u8[d + D_KIND]!;
        let pages = 1;
        if (kind === K_FREE) {
          pages = u16(d + D_OBJECTS); // a free page run: its length
          freeAt(a, pages);
        } else if (kind === K_SLAB) {
          const cache = u32(d + D_CACHE);
          pages = 1 << u32(cache + C_ORDER);
          const flags = u32(cache + C_FLAGS);
          const o = flags & F_KMALLOC ? PAGE_OWNER.malloc : flags & F_INTERNAL ? PAGE_OWNER.metadata : PAGE_OWNER.cache;
          set(a, pages, o, o === PAGE_OWNER.metadata ? 1 : u16(d + D_INUSE) / Math.max(1, u16(d + D_OBJECTS)));
        } else if (kind === K_LARGE && u32(d + D_AUX) !== 0) {
          pages = u16(d + D_OBJECTS);
          set(a, pages, PAGE_OWNER.large, u32(d + D_AUX) / (pages * PAGE_SIZE));
        } else if (kind === K_MEDIUM) {
          // a medium region (assembly/medium.ts): fill = bytes of live blocks (and the control block) per page
          pages = u16(d + D_OBJECTS);
          medium(a, a + pages * PAGE_SIZE);
        }
        p += pages;
      }
    }
    c++;
  }
  return { start, owner, fill };
}
