// cli/lib/caches.mjs — one row of figures per cache (the heap's own kmalloc and internal caches
// included), as /proc/slabinfo and slabtop show them. Runs in Node and in the browser (no imports).
//
// Owns: cacheRows(heap, STAT_NAMES) → [{ name, addr, active, total, objsize, objperslab, pagesperslab, slabs,
// activeSlabs, cacheBytes, use, counters }], SORT_KEYS, sortRows(rows, key).
// Reads (never writes): heap.walkCaches(), wasm.cache_live, and through heap.L (the module's layout
// constants) the cache-node counts and the per-CPU counter slots — the fields heap.slabinfo() prints
// (bindings/introspection.ts), so the rows agree with slabinfo (test/cli.test.ts checks it). The
// library's own counter reader is internal to the package, hence this reader of the same slots.

/** Counters of the cache at addr summed over CPUs, by name (names: STAT_NAMES order = slot order). */
function counterSum(heap, addr, names) {
  const L = heap.L;
  const base = addr + heap.u32(heap.hdr + L.H_CPU_OFF) + L.CC_STATS;
  const sum = {};
  names.forEach((name, i) => {
    let v = 0;
    for (let cpu = 0; cpu < heap.cpus; cpu++) v += heap.u64(base + cpu * L.CC_SIZE + 8 * i);
    sum[name] = v;
  });
  return sum;
}

/** statNames: the package's STAT_NAMES (dist/index.js), passed in so this file imports nothing. */
export function cacheRows(heap, statNames) {
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
    let total = 0;
    for (let n = 0; n < heap.nodes; n++) total += heap.u32(a + L.C_HDR + n * L.CN_SIZE + L.CN_TOTAL_OBJECTS);
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
      counters: counterSum(heap, a, statNames),
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
