// dashboard/app.js — the dashboard page: wasm-slab running in the browser under a workload, drawn live.
//
// Owns: the page's state (heap, workload, paused, frame count), the animation loop (each frame runs
// `ops per frame` operations, then redraws), the slab map (canvas: one cell per 4 KiB page, 64 per row,
// four rows per 1 MiB chunk, cells as large as the page's width allows; colour = owning cache, lighter = emptier
// slab), the heap summary, the cache
// table (cells that changed since the last update are highlighted), slabinfo, the log, and the controls
// (workload, topology, restart, speed, pause, step, reap, shrink).
// Calls: dist/index.js (createAllocator, parseTrace), cli/lib/workload.mjs, cli/lib/pagemap.mjs,
// cli/lib/caches.mjs — all served by dashboard/server.mjs. Exposes window.dashboard (read-only figures)
// for test/dashboard.test.ts.
import { STAT_NAMES, createAllocator, parseTrace } from "/dist/index.js";
import { SyntheticWorkload, TraceWorkload } from "/cli/lib/workload.mjs";
import { PAGE, pageMap } from "/cli/lib/pagemap.mjs";
import { cacheRows } from "/cli/lib/caches.mjs";

const $ = (id) => document.getElementById(id);
const COLS = 64; // cells per row: four rows per 1 MiB chunk
// pixels per cell (1 of them the gap): as large as the map's box allows, 5..14
const cellSize = () => Math.max(5, Math.min(14, Math.floor(($("mapbox").clientWidth - 2) / COLS)));
const CHUNK_GAP = 4; // pixels between chunks
const LEVELS = 8; // fill shades
const KIND_COLOR = { [PAGE.UNCOMMITTED]: "#ffffff", [PAGE.META]: "#505050", [PAGE.FREE]: "#e6e6e6", [PAGE.LARGE]: "#2c3e50" };
const KIND_NAME = { [PAGE.UNCOMMITTED]: "not committed yet", [PAGE.META]: "page descriptors (chunk metadata)", [PAGE.FREE]: "free page", [PAGE.SLAB]: "slab", [PAGE.LARGE]: "large block" };

const st = {
  heap: null,
  workload: null,
  paused: false,
  frames: 0,
  ops: 0,
  rate: 0,
  rateAt: performance.now(),
  rateOps: 0,
  cellsDrawn: 0,
  slabCells: 0,
  map: null,
  hue: new Map(), // cache address → hue
  shades: new Map(), // cache address → [LEVELS] colours
  prev: new Map(), // cache address → the figures shown last time
  error: null,
  ready: false,
  generation: 0,
};

function log(msg) {
  const el = $("log");
  const t = (performance.now() / 1000).toFixed(1).padStart(7);
  el.textContent = `${t}s  ${msg}\n` + el.textContent.split("\n").slice(0, 40).join("\n");
}

const opsPerFrame = () => Math.round(10 ** (1 + (3.7 * Number($("speed").value)) / 100));

function shadesOf(addr) {
  let s = st.shades.get(addr);
  if (!s) {
    const hue = (st.hue.size * 137.508 + 200) % 360;
    st.hue.set(addr, hue);
    s = Array.from({ length: LEVELS + 1 }, (_, l) => `hsl(${hue.toFixed(0)} 70% ${(88 - (50 * l) / LEVELS).toFixed(0)}%)`);
    st.shades.set(addr, s);
  }
  return s;
}

async function restart() {
  st.generation++;
  const gen = st.generation;
  st.ready = false;
  st.heap?.close();
  const kind = $("workload").value;
  const nodes = Math.min(8, Math.max(1, Number($("nodes").value) | 0));
  const cpus = Math.max(1, Math.min(Math.floor(64 / nodes), Number($("cpus").value) | 0));
  $("nodes").value = nodes;
  $("cpus").value = cpus;
  const heap = await createAllocator({ nodes, cpusPerNode: cpus, reap: false });
  let workload;
  if (kind === "synthetic") workload = new SyntheticWorkload(heap, { seed: 1 });
  else {
    const res = await fetch(`/traces/${encodeURIComponent(kind)}.rep`);
    if (!res.ok) throw new Error(`trace ${kind}: HTTP ${res.status}`);
    workload = new TraceWorkload(heap, parseTrace(await res.text(), kind), { loop: true });
  }
  if (gen !== st.generation) return; // a newer restart won
  Object.assign(st, { heap, workload, ops: 0, rate: 0, rateOps: 0, rateAt: performance.now(), error: null });
  st.hue.clear();
  st.shades.clear();
  st.prev.clear();
  log(`restart: ${workload.describe()}`);
  render(true);
  st.ready = true;
}

function drawMap() {
  const pm = pageMap(st.heap);
  st.map = pm;
  const rowsPerChunk = pm.pagesPerChunk / COLS;
  const CELL = cellSize();
  st.cell = CELL;
  const w = COLS * CELL;
  const h = Math.max(1, pm.chunks * (rowsPerChunk * CELL + CHUNK_GAP));
  const canvas = $("map");
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff";
  g.fillRect(0, 0, w, h);
  let drawn = 0;
  let slab = 0;
  for (let p = 0; p < pm.pages; p++) {
    const chunk = Math.floor(p / pm.pagesPerChunk);
    const q = p % pm.pagesPerChunk;
    const x = (q % COLS) * CELL;
    const y = chunk * (rowsPerChunk * CELL + CHUNK_GAP) + Math.floor(q / COLS) * CELL;
    const k = pm.kind[p];
    if (k === PAGE.SLAB) {
      const owner = pm.caches[pm.owner[p]];
      g.fillStyle = owner ? shadesOf(owner.addr)[Math.round(pm.fill[p] * LEVELS)] : "#f00";
      slab++;
    } else g.fillStyle = KIND_COLOR[k];
    g.fillRect(x, y, CELL - 1, CELL - 1);
    if (k === PAGE.UNCOMMITTED) {
      g.strokeStyle = "#ddd";
      g.strokeRect(x + 0.5, y + 0.5, CELL - 2, CELL - 2);
    }
    drawn++;
  }
  st.cellsDrawn = drawn;
  st.slabCells = slab;
}

const fmtBytes = (b) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);

function drawTables() {
  const heap = st.heap;
  const hs = heap.stats();
  const now = performance.now();
  if (now - st.rateAt >= 500) {
    st.rate = ((st.ops - st.rateOps) * 1000) / (now - st.rateAt);
    st.rateAt = now;
    st.rateOps = st.ops;
  }
  const summary = [
    ["workload", st.workload.describe()],
    ["operations", `<span id="ops">${st.ops}</span> (${Math.round(st.rate)} ops/s)${st.paused ? " — paused" : ""}`],
    ["chunks / committed", `${hs.chunks} × 1 MiB / ${fmtBytes(hs.committedBytes)}`],
    ["pages free / slab / large (per node)", `${hs.freePages.join("+")} / ${hs.slabPages.join("+")} / ${hs.largePages.join("+")}`],
    ["objects active / total", `<span id="active">${hs.activeObjects}</span> / ${hs.totalObjects}`],
    ["reclaim", `${hs.reclaim.reapPasses} reap passes`],
  ];
  $("summary").innerHTML = summary.map(([k, v]) => `<tr><td>${k}</td><td style="text-align:left">${v}</td></tr>`).join("");
  const rows = cacheRows(heap, STAT_NAMES);
  const cols = [
    ["active", (r) => r.active],
    ["total", (r) => r.total],
    ["use", (r) => (r.total ? `${Math.round((100 * r.active) / r.total)}%` : "-")],
    ["slabs", (r) => r.slabs],
    ["size", (r) => r.objsize],
    ["hit %", (r) => { const c = r.counters; const a = c.alloc_fastpath + c.alloc_slowpath; return a ? ((100 * c.alloc_fastpath) / a).toFixed(1) : "-"; }],
    ["alloc slow", (r) => r.counters.alloc_slowpath],
    ["free slow", (r) => r.counters.free_slowpath],
    ["refill", (r) => r.counters.sheaf_refill],
    ["barn get", (r) => r.counters.barn_get],
    ["alien free", (r) => r.counters.alien_free],
    ["locks", (r) => r.counters.lock_acquire],
  ];
  const body = rows
    .filter((r) => r.total > 0 || r.counters.alloc_fastpath + r.counters.alloc_slowpath > 0)
    .map((r) => {
      const vals = cols.map(([, f]) => String(f(r)));
      const prev = st.prev.get(r.addr);
      st.prev.set(r.addr, vals);
      const sw = r.total || r.slabs ? `<span class="sw" style="background:${shadesOf(r.addr)[LEVELS * 0.75]}"></span>` : "";
      return `<tr><td>${sw}${r.name}</td>${vals.map((v, i) => `<td${prev && prev[i] !== v ? ' class="moved"' : ""}>${v}</td>`).join("")}</tr>`;
    });
  $("caches").innerHTML = `<tr><th>cache</th>${cols.map(([h]) => `<th>${h}</th>`).join("")}</tr>${body.join("")}`;
  $("legend").innerHTML = [PAGE.SLAB, PAGE.FREE, PAGE.META, PAGE.LARGE, PAGE.UNCOMMITTED]
    .map((k) => (k === PAGE.SLAB ? `<span><span class="sw" style="background:linear-gradient(90deg, hsl(200 70% 88%), hsl(200 70% 38%))"></span>slab: empty → full (one hue per cache)</span>` : `<span><span class="sw" style="background:${KIND_COLOR[k]}"></span>${KIND_NAME[k]}</span>`))
    .join("");
}

function render(all = false) {
  if (!st.heap) return;
  drawMap();
  if (all || st.frames % 6 === 0) drawTables();
  if (all || st.frames % 20 === 0) $("slabinfo").textContent = st.heap.slabinfo();
}

function runOps(n) {
  const before = st.workload.ops;
  st.workload.step(n);
  st.ops += st.workload.ops - before;
}

function frame() {
  try {
    if (st.ready && !st.paused) {
      runOps(opsPerFrame());
      st.frames++;
      render();
    }
  } catch (err) {
    st.error = String(err?.stack ?? err);
    st.paused = true;
    $("pause").textContent = "resume";
    log(`error: ${err?.message ?? err} (paused)`);
  }
  requestAnimationFrame(frame);
}

function setPaused(p) {
  st.paused = p;
  $("pause").textContent = p ? "resume" : "pause";
  if (st.heap) drawTables();
}

function tooltip(ev) {
  const tip = $("tip");
  const pm = st.map;
  if (!pm) return;
  const rect = $("map").getBoundingClientRect();
  const x = ev.clientX - rect.left;
  const y = ev.clientY - rect.top;
  const rowsPerChunk = pm.pagesPerChunk / COLS;
  const CELL = st.cell;
  const chunkH = rowsPerChunk * CELL + CHUNK_GAP;
  const chunk = Math.floor(y / chunkH);
  const row = Math.floor((y % chunkH) / CELL);
  const col = Math.floor(x / CELL);
  const p = chunk * pm.pagesPerChunk + row * COLS + col;
  if (row >= rowsPerChunk || col >= COLS || p < 0 || p >= pm.pages) {
    tip.hidden = true;
    return;
  }
  const k = pm.kind[p];
  const addr = pm.chunkBase + p * pm.pageSize;
  let text = `page ${p} (chunk ${chunk}, node ${pm.node[p]})\naddress 0x${addr.toString(16)}\n${KIND_NAME[k]}`;
  if (k === PAGE.SLAB) text += ` of ${pm.caches[pm.owner[p]]?.name ?? "?"}\nobjects in use: ${(100 * pm.fill[p]).toFixed(0)}%`;
  tip.textContent = text;
  tip.style.left = `${ev.clientX + 14}px`;
  tip.style.top = `${ev.clientY + 10}px`;
  tip.hidden = false;
}

async function main() {
  const updateSpeed = () => ($("speed-out").value = `${opsPerFrame()}`);
  $("speed").addEventListener("input", updateSpeed);
  updateSpeed();
  try {
    const names = await (await fetch("/traces/")).json();
    for (const n of names) $("workload").append(new Option(`trace ${n}`, n));
  } catch {
    log("no trace list from the server: synthetic workload only");
  }
  $("restart").onclick = () => restart().catch((e) => log(`restart failed: ${e.message}`));
  $("workload").onchange = $("restart").onclick;
  $("pause").onclick = () => setPaused(!st.paused);
  $("step").onclick = () => {
    if (!st.ready) return;
    setPaused(true);
    runOps(opsPerFrame());
    render(true);
    log(`step: ${opsPerFrame()} operations`);
  };
  $("reap").onclick = () => {
    if (!st.ready) return;
    const r = st.heap.reap();
    render(true);
    log(`reap: CPU ${r.cpu}, ${r.pages} pages given back`);
  };
  $("shrink").onclick = () => {
    if (!st.ready) return;
    const pages = st.heap.shrink();
    render(true);
    log(`shrink: ${pages} pages given back`);
  };
  $("map").addEventListener("mousemove", tooltip);
  $("map").addEventListener("mouseleave", () => ($("tip").hidden = true));
  await restart();
  requestAnimationFrame(frame);
}

window.dashboard = {
  get ready() { return st.ready; },
  get ops() { return st.ops; },
  get paused() { return st.paused; },
  get cellsDrawn() { return st.cellsDrawn; },
  get slabCells() { return st.slabCells; },
  get error() { return st.error; },
  get frames() { return st.frames; },
  opsPerFrame,
};

main().catch((err) => {
  st.error = String(err?.stack ?? err);
  log(`start failed: ${err?.message ?? err}`);
});
