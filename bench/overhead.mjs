// overhead.mjs — objects per slab and metadata bytes per object byte, by object size.
// Metadata of a slab: one 32-byte page descriptor per page (they live in each chunk's first two pages),
// plus the in-slab bitmap (and its alignment padding) when a slab holds more than 64 objects.
// Waste is the slab's tail that no object covers. Usage: node bench/overhead.mjs [size ...]
// (sizes in bytes, 1..32768; anything else is a usage error)
import { parseArgs } from "node:util";
import { createAllocator } from "../dist/index.js";
import { table, writeSection } from "./harness.mjs";

const sizes = parseArgs({ allowPositionals: true, options: {} }).positionals.map((a) => {
  if (!/^\d+$/.test(a) || +a < 1 || +a > 32768) {
    process.stderr.write(`overhead.mjs: size '${a}' is not a whole number of bytes in 1..32768\n`);
    process.exit(2);
  }
  return Number(a);
});
const heap = await createAllocator();
const L = heap.L;
const rows = [];
const figures = [];
for (const size of sizes.length ? sizes : [8, 64, 192, 1024, 4096]) {
  const c = heap.createCache(`s${size}`, { size });
  const pages = 1 << c.order;
  const objs = c.objectsPerSlab;
  const bitmap = heap.u32(c.addr + L.C_OBJ_OFFSET); // in-slab bitmap + padding (0 when inline)
  const desc = pages * L.DESC_SIZE;
  const slabBytes = pages * L.PAGE_SIZE;
  const waste = slabBytes - bitmap - objs * c.stride;
  figures.push(
    { name: `objects per slab, ${size} B`, value: objs, unit: "objects" },
    { name: `metadata B per object B, ${size} B`, value: (desc + bitmap) / (objs * size), unit: "B/B" },
    { name: `tail waste, ${size} B`, value: (100 * waste) / slabBytes, unit: "%" },
  );
  rows.push([
    size, objs, pages, desc, bitmap,
    ((desc + bitmap) / (objs * size)).toFixed(4),
    ((100 * waste) / slabBytes).toFixed(2) + "%",
  ]);
}
table(["object B", "objs/slab", "pages/slab", "descriptor B", "bitmap B", "metadata B per object B", "tail waste"], rows);
writeSection("overhead", { figures });
