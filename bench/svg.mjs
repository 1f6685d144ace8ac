// svg.mjs — the bench's charts as standalone SVG text: no dependency, no browser, byte-stable output.
//
// Owns: three chart kinds and the drawing helpers they share (scales, axes, legend, escaping).
//   goalChart(rows, opts)   one row per figure: its ratio on a log axis, the goal as a line and a shaded
//                           region on the side that reaches it; green marker reached, red not reached
//   barChart(spec)          grouped bars: categories along x (e.g. traces), one bar per series
//   lineChart(spec)         series of (x, y) points; x ordinal (equal spacing) or linear
// Called by: bench/report.mjs (results directory charts). Entry points: the three functions above; each
// returns a complete `<svg>` document as a string.
//
// Why hand-written: the charts are three fixed kinds; a charting library that renders SVG in Node
// without a browser (vega, or d3 with jsdom) brings dozens of packages for what is ~250 lines here, and
// its output changes with its version. Text widths are estimated (0.6 em per character), which is
// enough to lay out labels in a sans-serif font.

const FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"';
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#d62728"];
export const OK = "#2a9d3f";
export const BAD = "#d62728";

/** Escape text for SVG content and attribute values. */
export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

const textWidth = (s, size) => String(s).length * size * 0.6;
const num = (x) => (Number.isInteger(x) ? String(x) : Number(x.toPrecision(4)).toString());

function doc(w, h, title, body) {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" ${FONT} font-size="12">\n` +
    `<title>${esc(title)}</title>\n<rect width="${w}" height="${h}" fill="#fff"/>\n` +
    `<text x="${w / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>\n` +
    body.join("\n") +
    "\n</svg>\n"
  );
}

function legend(series, x, y) {
  const out = [];
  let cx = x;
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    out.push(`<rect x="${cx}" y="${y - 9}" width="12" height="12" fill="${color}"/>`);
    out.push(`<text x="${cx + 16}" y="${y + 1}">${esc(s.name)}</text>`);
    cx += 16 + textWidth(s.name, 12) + 18;
  });
  return out;
}

/** Ticks of a linear axis over [lo, hi]: about n round values. */
function linearTicks(lo, hi, n = 5) {
  const span = hi - lo || 1;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(10)));
  return out;
}

/**
 * Ratios against their goals. rows: [{ label, ratio, goal, better: "lower"|"higher", reached }].
 * opts: { title, subtitle }.
 */
export function goalChart(rows, { title = "Ratios against their goals", subtitle = "" } = {}) {
  const labelW = Math.min(430, Math.max(120, ...rows.map((r) => textWidth(r.label, 12))) + 16);
  const plotW = 460;
  const rowH = 24;
  const top = subtitle ? 64 : 48;
  const w = labelW + plotW + 90;
  const h = top + rows.length * rowH + 56;
  const vals = rows.flatMap((r) => [r.ratio, r.goal]).filter((v) => Number.isFinite(v) && v > 0);
  let lo = Math.min(0.5, ...vals) / 1.4;
  let hi = Math.max(2, ...vals) * 1.4;
  lo = Math.max(1e-3, lo);
  hi = Math.min(1e3, hi);
  const x = (v) => labelW + ((Math.log10(Math.min(hi, Math.max(lo, v))) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotW;
  const body = [];
  if (subtitle) body.push(`<text x="${w / 2}" y="42" text-anchor="middle" fill="#555">${esc(subtitle)}</text>`);
  const ticks = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) ticks.push(v);
    }
  }
  const y0 = top;
  const y1 = top + rows.length * rowH;
  for (const v of ticks) {
    body.push(`<line x1="${x(v)}" y1="${y0}" x2="${x(v)}" y2="${y1}" stroke="${v === 1 ? "#888" : "#e4e4e4"}"/>`);
    body.push(`<text x="${x(v)}" y="${y1 + 16}" text-anchor="middle" fill="#444">${num(v)}×</text>`);
  }
  body.push(`<text x="${labelW + plotW / 2}" y="${y1 + 36}" text-anchor="middle" fill="#444">ratio to the baseline measured in the same run (log scale)</text>`);
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const cy = y + rowH / 2;
    if (i % 2 === 0) body.push(`<rect x="0" y="${y}" width="${w}" height="${rowH}" fill="#f7f7f7"/>`);
    const label = r.label.length > 70 ? r.label.slice(0, 69) + "…" : r.label;
    body.push(`<text x="${labelW - 8}" y="${cy + 4}" text-anchor="end">${esc(label)}</text>`);
    if (Number.isFinite(r.goal) && r.goal > 0) {
      const gx = x(r.goal);
      const [a, b] = r.better === "higher" ? [gx, labelW + plotW] : [labelW, gx];
      body.push(`<rect x="${a}" y="${y + 3}" width="${Math.max(0, b - a)}" height="${rowH - 6}" fill="${OK}" fill-opacity="0.12"/>`);
      body.push(`<line x1="${gx}" y1="${y + 2}" x2="${gx}" y2="${y + rowH - 2}" stroke="${OK}" stroke-width="2" stroke-dasharray="4 2"/>`);
    }
    if (Number.isFinite(r.ratio)) {
      const color = r.reached === undefined ? "#333" : r.reached ? OK : BAD;
      body.push(`<circle cx="${x(r.ratio)}" cy="${cy}" r="5.5" fill="${color}"/>`);
      const goalText = Number.isFinite(r.goal) ? ` (goal ${r.better === "higher" ? "≥" : "≤"} ${num(r.goal)}×)` : "";
      body.push(`<text x="${labelW + plotW + 8}" y="${cy + 4}" fill="${color}">${esc(num(Number(r.ratio.toFixed(r.ratio < 1 ? 3 : 2))) + "×")}</text>`);
      body.push(`<title>${esc(r.label + ": " + r.ratio.toFixed(3) + "×" + goalText)}</title>`);
    }
  });
  body.push(...legend([{ name: "reached", color: OK }, { name: "not reached", color: BAD }, { name: "goal region", color: "#d6eedb" }], labelW, h - 8));
  return doc(w, h, title, body);
}

function frame({ w, h, left, right, top, bottom, yLo, yHi, yLabel, yFmt = num, ticks }) {
  const plotH = h - top - bottom;
  const y = (v) => top + plotH - ((v - yLo) / (yHi - yLo || 1)) * plotH;
  const body = [];
  for (const t of ticks ?? linearTicks(yLo, yHi)) {
    body.push(`<line x1="${left}" y1="${y(t)}" x2="${w - right}" y2="${y(t)}" stroke="#e4e4e4"/>`);
    body.push(`<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end" fill="#444">${esc(yFmt(t))}</text>`);
  }
  body.push(`<line x1="${left}" y1="${top + plotH}" x2="${w - right}" y2="${top + plotH}" stroke="#888"/>`);
  body.push(`<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#444">${esc(yLabel)}</text>`);
  return { y, body, plotH };
}

/**
 * Grouped bars. spec: { title, categories: [..], series: [{ name, values: [..] (null = missing) }],
 * yLabel, yMax?, unit? ("%" multiplies nothing: values are already in the unit), reference?: { value, label } }.
 */
export function barChart({ title, categories, series, yLabel = "", yMax, unit = "", reference }) {
  const left = 64;
  const right = 20;
  const top = 60;
  const labelH = Math.min(140, 12 + Math.max(...categories.map((c) => textWidth(c, 11))) * 0.7);
  const bottom = labelH + 20;
  const groupW = Math.max(28, series.length * 11 + 10);
  const w = Math.max(520, left + right + categories.length * groupW, textWidth(title, 15) + 40);
  const h = 380 + labelH;
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  const hi = yMax ?? Math.max(1, ...all) * 1.08;
  const { y, body, plotH } = frame({ w, h, left, right, top, bottom, yLo: 0, yHi: hi, yLabel, yFmt: (t) => num(t) + unit });
  const gw = (w - left - right) / categories.length;
  const bw = Math.max(3, Math.min(16, (gw - 8) / series.length));
  categories.forEach((c, i) => {
    const gx = left + i * gw + (gw - bw * series.length) / 2;
    series.forEach((s, k) => {
      const v = s.values[i];
      if (!Number.isFinite(v)) return;
      const color = s.color ?? PALETTE[k % PALETTE.length];
      body.push(`<rect x="${(gx + k * bw).toFixed(1)}" y="${y(v).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${(top + plotH - y(v)).toFixed(1)}" fill="${color}"><title>${esc(`${c}, ${s.name}: ${num(v)}${unit}`)}</title></rect>`);
    });
    const lx = left + i * gw + gw / 2;
    body.push(`<text transform="translate(${lx + 4} ${top + plotH + 10}) rotate(-45)" text-anchor="end" font-size="11" fill="#333">${esc(c)}</text>`);
  });
  if (reference && Number.isFinite(reference.value)) {
    body.push(`<line x1="${left}" y1="${y(reference.value)}" x2="${w - right}" y2="${y(reference.value)}" stroke="#555" stroke-dasharray="5 3"/>`);
    body.push(`<text x="${w - right - 4}" y="${y(reference.value) - 4}" text-anchor="end" fill="#555">${esc(reference.label ?? "")}</text>`);
  }
  body.push(...legend(series, left, 46));
  return doc(w, h, title, body);
}

/**
 * Lines. spec: { title, series: [{ name, points: [[x, y], ...] }], xLabel, yLabel, xScale: "ordinal" |
 * "linear" (default ordinal: the distinct x values equally spaced), yScale: "linear" | "log" (log: values
 * ≤ 0 are drawn at the lowest decade), yMin?, yMax?, unit? }. Series after the first are dashed
 * differently, so lines that coincide stay distinguishable at their markers and in the legend.
 */
export function lineChart({ title, series: input, xLabel = "", yLabel = "", xScale = "ordinal", yScale = "linear", yMin, yMax, unit = "" }) {
  let series = input;
  let ticks;
  let yFmt = (t) => num(t) + unit;
  if (yScale === "log") {
    const pos = input.flatMap((s) => s.points.map((p) => p[1])).filter((v) => Number.isFinite(v) && v > 0);
    const lo = Math.floor(Math.log10(Math.min(...pos, 1)));
    const hi = Math.ceil(Math.log10(Math.max(...pos, 10)));
    series = input.map((s) => ({ ...s, points: s.points.map(([x, v]) => [x, Number.isFinite(v) ? Math.log10(Math.max(v, 10 ** lo)) : v]) }));
    ticks = [];
    for (let e = lo; e <= hi; e++) ticks.push(e);
    yMin = lo;
    yMax = hi;
    yFmt = (t) => num(10 ** t) + unit;
  }
  const w = Math.max(640, textWidth(title, 15) + 40);
  const h = 400;
  const left = 64;
  const right = 24;
  const top = 60;
  const bottom = 56;
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const xsAll = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const lo = yMin ?? Math.min(0, ...ys);
  const hi = yMax ?? Math.max(1, ...ys) * 1.08;
  const { y, body, plotH } = frame({ w, h, left, right, top, bottom, yLo: lo, yHi: hi, yLabel, yFmt, ticks });
  const plotW = w - left - right;
  const xLo = xsAll[0] ?? 0;
  const xHi = xsAll[xsAll.length - 1] ?? 1;
  const x =
    xScale === "linear"
      ? (v) => left + 10 + ((v - xLo) / (xHi - xLo || 1)) * (plotW - 20)
      : (v) => left + 10 + (xsAll.indexOf(v) / Math.max(1, xsAll.length - 1)) * (plotW - 20);
  const xTicks = xScale === "linear" ? linearTicks(xLo, xHi) : xsAll;
  for (const t of xTicks) body.push(`<text x="${x(t)}" y="${top + plotH + 16}" text-anchor="middle" fill="#444">${esc(num(t))}</text>`);
  body.push(`<text x="${left + plotW / 2}" y="${h - 14}" text-anchor="middle" fill="#444">${esc(xLabel)}</text>`);
  series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length];
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    const dash = ["", ' stroke-dasharray="8 4"', ' stroke-dasharray="3 3"', ' stroke-dasharray="10 3 2 3"'][k % 4];
    body.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ")}"/>`);
    for (const p of pts) body.push(`<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="${3.5 - (k % 4) * 0.5}" fill="${color}"><title>${esc(`${s.name}: ${num(p[0])} → ${yFmt(p[1])}`)}</title></circle>`);
  });
  body.push(...legend(series, left, 46));
  return doc(w, h, title, body);
}
