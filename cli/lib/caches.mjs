// cli/lib/caches.mjs — one row of figures per cache (the heap's own kmalloc and internal caches
// included), as /proc/slabinfo and slabtop show them. Runs in Node and in the browser (no imports).
//
// Owns: cacheRows(heap) → [{ name, addr, active, total, objsize, objperslab, pagesperslab, slabs,
// activeSlabs, cacheBytes, use, counters }], SORT_KEYS, sortRows(rows, key).
// Reads: heap.walkCaches(), heap.counters(addr) and the cache-node counters through heap.L (the same
// fields heap.slabinfo() prints), so the rows agree with slabinfo by construction.

export function cacheRows(heap) {
  const L = heap.L;
  const rows = [];
  for (const c of heap.walkCaches()) {
    const a = c.addr;
    let slabs = 0;
    let activeSlabs = 0;
    for (let n = 0; n < heap.nodes; n++) {
      const cn = a + L.C_HDR + n * L.CN_SIZE;
      const partial = heap.u32(cn + L.CN_NR_PARTIAL);
      const full = heap.u32(cn + L.CN_NR_FULL);
      slabs += partial + full + heap.u32(cn + L.CN_NR_EMPTY);
      activeSlabs += partial + full;
    }
    const pagesperslab = 1 << heap.u32(a + L.C_ORDER);
    const active = heap.wasm.cache_live(a);
    const total = heap.totalObjects(a);
    rows.push({
      name: c.name,
      addr: a,
      active,
      total,
      objsize: heap.u32(a + L.C_SIZE),
      objperslab: heap.u32(a + L.C_OBJECTS),
      pagesperslab,
      slabs,
      activeSlabs,
      cacheBytes: slabs * pagesperslab * L.PAGE_SIZE,
      use: total ? active / total : 0,
      counters: heap.counters(a).sum,
    });
  }
  return rows;
}

/** Sort keys of `wasm-slab top` (slabtop's, by name) and the order each sorts in. */
export const SORT_KEYS = {
  active: (r) => -r.active, // active objects
  objs: (r) => -r.total, // all objects
  size: (r) => -r.objsize, // object size
  slabs: (r) => -r.slabs, // slabs
  cache: (r) => -r.cacheBytes, // bytes in slabs
  use: (r) => -r.use, // active / all objects
  ops: (r) => -(r.rate ?? 0), // allocations + frees per second since the last refresh
  name: (r) => r.name,
};

export function sortRows(rows, key) {
  const f = SORT_KEYS[key];
  return [...rows].sort((a, b) => {
    const x = f(a);
    const y = f(b);
    return x < y ? -1 : x > y ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
}
