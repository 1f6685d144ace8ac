// overhead.mjs — objects per slab and metadata bytes per object byte, by object size.
// Metadata of a slab: one 32-byte page descriptor per page (they live in each chunk's first two pages),
// plus the in-slab bitmap (and its alignment padding) when a slab holds more than 64 objects.
// Waste is the slab's tail that no object covers. Usage: node bench/overhead.mjs [size ...]
import { createAllocator } from "../dist/index.js";
import { table } from "./harness.mjs";

const sizes = process.argv.slice(2).map(Number);
const heap = await createAllocator();
const L = heap.L;
const rows = [];
for (const size of sizes.length ? sizes : [8, 64, 192, 1024, 4096]) {
  const c = heap.createCache(`s${size}`, { size });
  const pages = 1 << c.order;
  const objs = c.objectsPerSlab;
  const bitmap = heap.u32(c.addr + L.C_OBJ_OFFSET); // in-slab bitmap + padding (0 when inline)
  const desc = pages * L.DESC_SIZE;
  const slabBytes = pages * L.PAGE_SIZE;
  const waste = slabBytes - bitmap - objs * c.stride;
  rows.push([
    size, objs, pages, desc, bitmap,
    ((desc + bitmap) / (objs * size)).toFixed(4),
    ((100 * waste) / slabBytes).toFixed(2) + "%",
  ]);
}
table(["object B", "objs/slab", "pages/slab", "descriptor B", "bitmap B", "metadata B per object B", "tail waste"], rows);
