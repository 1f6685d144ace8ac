// cli/lib/pagemap.mjs — a read-only walk of a heap's pages: who owns each 4 KiB page and how full it is.
// Runs in Node and in the browser (no imports): the dashboard's slab map draws it.
//
// Owns: pageMap(heap) → { pages, kind: Uint8Array, owner: Int32Array, fill: Float32Array, node: Uint8Array,
// caches: [{ addr, name }], chunks, pagesPerChunk }, and the page kinds below.
// How: the heap's own layout constants (heap.L, the Wasm's exported globals) and its memory; for each
// chunk grown, its chunk-table byte and state, then its page descriptors in address order (a block's
// head descriptor gives its kind and order, so the walk steps block by block, as validate.ts does).
// Reads memory only; never calls into the Wasm except to list caches (heap.walkCaches()).
// Invariant checked by test/cli.test.ts: the slab pages counted here equal heap.stats().slabPages summed.

/** Page kinds in pageMap().kind. */
export const PAGE = Object.freeze({
  UNCOMMITTED: 0, // free pages inside the heap's address range not committed yet (the top chunk grows lazily)
  META: 1, // a chunk's descriptor pages (and its header)
  FREE: 2, // a free page run, or a wholly free chunk
  SLAB: 3, // a page of a slab: owner = cache index, fill = objects in use / objects in the slab
  LARGE: 4, // a large kmalloc block (a page run) or a run of whole chunks (huge allocation); a run's pages
  //           past the end of memory (committed to its block's end only: assembly/page.ts) are LARGE, fill 0
});

export function pageMap(heap) {
  const L = heap.L;
  const u8 = new Uint8Array(heap.memory.buffer);
  const dv = new DataView(heap.memory.buffer);
  const u32 = (a) => dv.getUint32(a, true);
  const u16 = (a) => dv.getUint16(a, true);
  const hdr = heap.hdr;
  const perChunk = L.PAGES_PER_CHUNK;
  const chunks = u32(hdr + L.H_NCHUNKS);
  const chunkBase = u32(hdr + L.H_CHUNK_BASE);
  const pages = chunks * perChunk;
  const kind = new Uint8Array(pages);
  const owner = new Int32Array(pages).fill(-1);
  const fill = new Float32Array(pages);
  const node = new Uint8Array(pages);
  const caches = heap.walkCaches().map((c) => ({ addr: c.addr, name: c.name }));
  const index = new Map(caches.map((c, i) => [c.addr, i]));
  const memEnd = u8.length;
  const set = (from, n, k, own = -1, f = 0, nd = 0) => {
    for (let p = from; p < from + n && p < pages; p++) {
      const past = chunkBase + p * L.PAGE_SIZE >= memEnd;
      kind[p] = past && k !== PAGE.LARGE ? PAGE.UNCOMMITTED : k;
      owner[p] = own;
      fill[p] = past ? 0 : f;
      node[p] = nd;
    }
  };
  for (let i = 0; i < chunks; i++) {
    const first = i * perChunk;
    const ch = chunkBase + i * L.CHUNK_SIZE;
    const tb = u8[hdr + L.H_CHUNK_TABLE + i];
    const nd = tb & L.CT_NODE;
    if (ch + L.DESC_BYTES > memEnd) { set(first, perChunk, PAGE.UNCOMMITTED); continue; }
    if (tb & L.CT_RUN_TAIL) { set(first, perChunk, PAGE.LARGE, -1, 1, nd); continue; }
    const state = u8[ch + L.CH_STATE];
    set(first, L.META_PAGES, PAGE.META, -1, 0, nd);
    if (state === L.CS_FREE) { set(first + L.META_PAGES, perChunk - L.META_PAGES, PAGE.FREE, -1, 0, nd); continue; }
    if (state === L.CS_RUN) { set(first + L.META_PAGES, perChunk - L.META_PAGES, PAGE.LARGE, -1, 1, nd); continue; }
    let p = L.META_PAGES;
    while (p < perChunk) {
      const d = ch + p * L.DESC_SIZE;
      const k = u8[d + L.D_KIND];
      // a slab covers 2^order pages; a free run and a large block their `objects` (page.ts, kmalloc.ts)
      const n = k === L.K_SLAB ? 1 << u8[d + L.D_ORDER] : u16(d + L.D_OBJECTS) || 1;
      if (k === L.K_FREE) set(first + p, n, PAGE.FREE, -1, 0, nd);
      else if (k === L.K_SLAB) {
        const objs = u16(d + L.D_OBJECTS);
        set(first + p, n, PAGE.SLAB, index.get(u32(d + L.D_CACHE)) ?? -1, objs ? u16(d + L.D_INUSE) / objs : 0, nd);
      } else if (k === L.K_LARGE || k === L.K_MEDIUM) set(first + p, n, PAGE.LARGE, -1, 1, nd); // a medium region: malloc's pages too
      else {
        // not a block head (a torn read while the heap changes cannot happen: JS and Wasm share one
        // thread); count it as one free page and go on
        set(first + p, 1, PAGE.FREE, -1, 0, nd);
        p += 1;
        continue;
      }
      p += n;
    }
  }
  return { pages, kind, owner, fill, node, caches, chunks, pagesPerChunk: perChunk, chunkBase, pageSize: L.PAGE_SIZE };
}
