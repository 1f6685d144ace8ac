// svg-memory.mjs — SVG pictures of where memory goes (issue 12), as plain strings: no dependencies.
//
// Owns: two drawings. Entry points: footprintBars(rows), memoryMap(map, title). Called by
// bench/memory.mjs, which writes them to the bench results directory (and docs/ keeps one example of each).
//   footprintBars  one horizontal bar per trace, 100% = every byte the heap took above its heap base,
//                  split by footprint category (bindings/footprint.ts FOOTPRINT_CATEGORIES), with the total
//                  and the utilization written beside it.
//   memoryMap      one cell per 4 KiB page of one heap, coloured by owner (cache, malloc class, large
//                  block, free, metadata, untouched) and shaded by fill (objects handed out ÷ objects).

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const kib = (b) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${(b / 1024).toFixed(0)} KiB`);

/** Colour of each footprint category (payload green, waste warm, free grey, metadata blue). */
export const CATEGORY_COLOURS = {
  header: "#1f4e79",
  metadata: "#2e75b6",
  internal: "#9dc3e6",
  live: "#548235",
  rounding: "#ffd966",
  slabTail: "#f4b183",
  slabFree: "#c55a11",
  parked: "#e2a0c8",
  largeTail: "#ff0000",
  free: "#a6a6a6",
  untouched: "#e7e6e6",
  other: "#000000",
};

function legend(entries, x, y, perRow = 4, colWidth = 230) {
  return entries
    .map(([label, colour], i) => {
      const lx = x + (i % perRow) * colWidth;
      const ly = y + Math.floor(i / perRow) * 18;
      return `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${colour}" stroke="#555" stroke-width="0.5"/><text x="${lx + 16}" y="${ly + 10}">${esc(label)}</text>`;
    })
    .join("");
}

/** rows: [{ name, footprint (a Footprint), peakLive }]; categories/labels from bindings/footprint.ts. */
export function footprintBars(rows, categories, labels, title = "Where the memory goes, at each trace's peak") {
  const barW = 560, barH = 16, gap = 6, left = 130, top = 40;
  const legendRows = Math.ceil(categories.length / 2);
  const height = top + rows.length * (barH + gap) + 20 + legendRows * 18 + 10;
  const width = left + barW + 200;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="${left}" y="34" fill="#555">100% = memory − heap base at the peak of live bytes; right: that total, and live ÷ total</text>`];
  rows.forEach((r, i) => {
    const y = top + i * (barH + gap);
    const f = r.footprint;
    out.push(`<text x="${left - 6}" y="${y + 12}" text-anchor="end">${esc(r.name)}</text>`);
    let x = left;
    for (const c of categories) {
      const w = (f[c] / f.total) * barW;
      if (w <= 0) continue;
      out.push(`<rect x="${x.toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${barH}" fill="${CATEGORY_COLOURS[c]}"><title>${esc(`${r.name}: ${labels[c]}: ${f[c]} B (${((100 * f[c]) / f.total).toFixed(1)}%)`)}</title></rect>`);
      x += w;
    }
    out.push(`<text x="${left + barW + 6}" y="${y + 12}">${kib(f.total)} · ${((100 * f.live) / f.total).toFixed(1)}% live</text>`);
  });
  out.push(legend(categories.map((c) => [labels[c].replace(/ \(.*\)$/, ""), CATEGORY_COLOURS[c]]), 10, top + rows.length * (barH + gap) + 14, 2, 360));
  out.push("</svg>");
  return out.join("\n");
}

/** Owner colours of the memory map (bindings/footprint.ts PAGE_OWNER order). */
export const OWNER_STYLE = [
  ["metadata (header, descriptors, caches, arrays)", "#2e75b6"],
  ["object cache slab", "#7030a0"],
  ["malloc class slab", "#548235"],
  ["large block", "#c55a11"],
  ["free", "#a6a6a6"],
  ["grown, never handed out", "#eeeeee"],
  ["malloc medium region (16-byte blocks)", "#bf9000"],
];

/** map: { start, owner, fill } (bindings/footprint.ts pageMap); one cell per page, rows of `perRow`. */
export function memoryMap(map, title, perRow = 64) {
  const cell = 11, left = 70, top = 44;
  const n = map.owner.length;
  const rows = Math.ceil(n / perRow);
  const width = left + perRow * cell + 20;
  const height = top + rows * cell + 20 + Math.ceil(OWNER_STYLE.length / 2) * 18 + 10;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${Math.max(width, 560)}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="36" fill="#555">one cell per 4 KiB page (${perRow} per row = ${perRow * 4} KiB), coloured by owner, darker = fuller</text>`];
  for (let r = 0; r < rows; r++) {
    out.push(`<text x="${left - 4}" y="${top + r * cell + 9}" text-anchor="end" font-size="9">0x${(map.start + r * perRow * 4096).toString(16)}</text>`);
  }
  for (let i = 0; i < n; i++) {
    const o = map.owner[i];
    const [, colour] = OWNER_STYLE[o];
    const partial = o === 1 || o === 2 || o === 3;
    const opacity = partial ? 0.25 + 0.75 * Math.min(1, Math.max(0, map.fill[i])) : 1;
    const x = left + (i % perRow) * cell;
    const y = top + Math.floor(i / perRow) * cell;
    out.push(`<rect x="${x}" y="${y}" width="${cell - 1}" height="${cell - 1}" fill="${colour}" fill-opacity="${opacity.toFixed(2)}"/>`);
  }
  out.push(legend(OWNER_STYLE, 10, top + rows * cell + 14, 2, 300));
  out.push("</svg>");
  return out.join("\n");
}
