// cli/top.mjs — `wasm-slab top`: a slabtop-like live view in the terminal while a workload runs.
//
// Owns: the refresh loop (run the workload for one interval, redraw), the frame (summary lines and one
// row per cache, sorted by a chosen column), and the keys (q quits, space pauses, a/o/s/c/u/p/l/n sort).
// Entry points: run(argv); frame(heap, workload, rows, state) (the text of one refresh).
// Calls: cli/lib/args.mjs (options, workload), cli/lib/caches.mjs (rows, sorting).
// Modes: on a terminal it redraws in place until q (or the end of --iterations); --once prints one
// frame after one interval and exits; --iterations N prints N frames. Without a terminal on stdin the
// keys are off and the frames follow each other.
import { SORT_KEYS, cacheRows, sortRows } from "./lib/caches.mjs";
import { UsageError, WORKLOAD_HELP, WORKLOAD_OPTIONS, intArg, parseCommand, startWorkload } from "./lib/args.mjs";

export const summary = "slabtop-like live view of the caches while a trace or a synthetic workload runs";

const KEYS = { a: "active", o: "objs", s: "size", c: "cache", u: "use", p: "ops", l: "slabs", n: "name" };

const help = `usage: wasm-slab top [--trace FILE [--loop] | --synthetic] [--sort KEY] [--delay S] [--once | --iterations N]

A slabtop-like view: summary lines, then one row per cache (kmalloc's and the heap's own included),
refreshed while the workload runs.

  --sort KEY            ${Object.keys(SORT_KEYS).join(", ")} (default active)
  --delay S             seconds between refreshes (default 1; may be a fraction, ≥ 0.05)
  --ops N               operations per refresh instead of running for the whole interval (deterministic)
  --once                one refresh, print it, exit
  --iterations N        N refreshes, then exit
  --rows N              at most N cache rows (default: as many as the terminal shows, else all)
keys (on a terminal): q quit · space pause/resume · ${Object.entries(KEYS).map(([k, v]) => `${k} ${v}`).join(" · ")}
${WORKLOAD_HELP}`;

const k = (b) => (b / 1024 >= 1000 ? `${(b / 1048576).toFixed(2)}M` : `${(b / 1024).toFixed(2)}K`);

/** The text of one refresh. state: { sort, paused, rate, elapsed, maxRows }. */
export function frame(heap, workload, rows, state) {
  const sum = (f) => rows.reduce((a, r) => a + f(r), 0);
  const pct = (a, b) => (b ? ((100 * a) / b).toFixed(1) : "0.0");
  const active = sum((r) => r.active);
  const total = sum((r) => r.total);
  const slabs = sum((r) => r.slabs);
  const activeSlabs = sum((r) => r.activeSlabs);
  const used = rows.filter((r) => r.total > 0).length;
  const activeBytes = sum((r) => r.active * r.objsize);
  const totalBytes = sum((r) => r.total * r.objsize);
  const sizes = rows.filter((r) => r.total > 0).map((r) => r.objsize);
  const hs = heap.stats();
  const lines = [
    ` Active / Total Objects (% used)    : ${active} / ${total} (${pct(active, total)}%)`,
    ` Active / Total Slabs (% used)      : ${activeSlabs} / ${slabs} (${pct(activeSlabs, slabs)}%)`,
    ` Active / Total Caches (% used)     : ${used} / ${rows.length} (${pct(used, rows.length)}%)`,
    ` Active / Total Size (% used)       : ${k(activeBytes)} / ${k(totalBytes)} (${pct(activeBytes, totalBytes)}%)`,
    ` Minimum / Average / Maximum Object : ${sizes.length ? `${k(Math.min(...sizes))} / ${k(totalBytes / Math.max(1, total))} / ${k(Math.max(...sizes))}` : "-"}`,
    ` Heap: ${hs.chunks} chunks, ${k(hs.committedBytes)} committed, free pages ${hs.freePages.join("+")}, slab pages ${hs.slabPages.join("+")}, large pages ${hs.largePages.join("+")}`,
    ` Workload: ${workload.describe()}; ${workload.ops} ops, ${Math.round(state.rate)} ops/s${workload.done ? " (ended)" : ""}${state.paused ? " [paused]" : ""} · sort: ${state.sort}`,
    "",
    "  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE   OPS/S  HIT% NAME",
  ];
  const shown = sortRows(rows, state.sort).slice(0, state.maxRows ?? rows.length);
  for (const r of shown) {
    const c = r.counters;
    const allocs = c.alloc_fastpath + c.alloc_slowpath;
    lines.push(
      `${String(r.total).padStart(6)} ${String(r.active).padStart(6)} ${(pct(r.active, r.total).split(".")[0] + "%").padStart(4)} ${k(r.objsize).padStart(8)} ${String(r.slabs).padStart(6)} ${String(r.objperslab).padStart(8)} ${k(r.cacheBytes).padStart(10)} ${String(Math.round(r.rate ?? 0)).padStart(7)} ${(allocs ? pct(c.alloc_fastpath, allocs) : "-").padStart(5)} ${r.name}`,
    );
  }
  return lines.join("\n") + "\n";
}

export async function run(argv) {
  const parsed = parseCommand("top", help, { ...WORKLOAD_OPTIONS, sort: { type: "string" }, delay: { type: "string" }, ops: { type: "string" }, once: { type: "boolean" }, iterations: { type: "string" }, rows: { type: "string" } }, argv);
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  let heap;
  let workload;
  let iterations;
  let opsPerRefresh;
  let maxRows;
  const delay = values.delay === undefined ? 1 : Number(values.delay);
  try {
    if (values.sort !== undefined && !Object.hasOwn(SORT_KEYS, values.sort)) throw new UsageError(`--sort ${values.sort}: expected one of ${Object.keys(SORT_KEYS).join(", ")}`);
    if (!(delay >= 0.05 && delay <= 3600)) throw new UsageError(`--delay ${values.delay}: expected seconds in 0.05..3600`);
    if (values.once && values.iterations !== undefined) throw new UsageError("--once and --iterations exclude each other");
    iterations = values.once ? 1 : intArg(values, "iterations", Infinity, 1, 1e9);
    opsPerRefresh = intArg(values, "ops", null, 1, 1e9);
    maxRows = intArg(values, "rows", null, 1, 10_000);
    ({ heap, workload } = await startWorkload(values));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`wasm-slab top: ${err.message}\n`);
    return 2;
  }
  const out = process.stdout;
  const interactive = Boolean(process.stdin.isTTY && out.isTTY) && iterations === Infinity;
  const state = { sort: values.sort ?? "active", paused: false, rate: 0, maxRows: maxRows ?? (out.isTTY ? Math.max(3, (out.rows ?? 40) - 10) : null) };
  let quit = false;
  let wake = null;
  const onKey = (buf) => {
    const key = buf.toString();
    if (key === "q" || key === "\u0003") quit = true;
    else if (key === " ") state.paused = !state.paused;
    else if (KEYS[key]) state.sort = KEYS[key];
    wake?.();
  };
  if (interactive) {
    process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdin.on("data", onKey);
    out.write("\x1b[?25l"); // hide the cursor
  }
  const yieldNow = () => new Promise((r) => setImmediate(r));
  const sleep = (ms) => new Promise((r) => { const t = setTimeout(r, ms); wake = () => { clearTimeout(t); r(); }; });
  const { STAT_NAMES } = await import("../dist/index.js");
  let prevOps = new Map();
  try {
    for (let i = 0; i < iterations && !quit; i++) {
      const t0 = performance.now();
      const ops0 = workload.ops;
      if (!state.paused && !workload.done) {
        if (opsPerRefresh !== null) {
          for (let left = opsPerRefresh; left > 0 && !workload.done && !quit; left -= 2000) {
            workload.step(Math.min(left, 2000));
            if (interactive) await yieldNow();
          }
        } else {
          while (performance.now() - t0 < delay * 1000 && !workload.done && !quit && !state.paused) {
            workload.step(2000);
            await yieldNow();
          }
        }
      }
      const seconds = Math.max(1e-3, (performance.now() - t0) / 1000);
      state.rate = (workload.ops - ops0) / seconds;
      const rows = cacheRows(heap, STAT_NAMES);
      for (const r of rows) {
        const c = r.counters;
        const n = c.alloc_fastpath + c.alloc_slowpath + c.free_fastpath + c.free_slowpath;
        r.rate = (n - (prevOps.get(r.addr) ?? 0)) / seconds;
      }
      prevOps = new Map(rows.map((r) => [r.addr, r.counters.alloc_fastpath + r.counters.alloc_slowpath + r.counters.free_fastpath + r.counters.free_slowpath]));
      const text = frame(heap, workload, rows, state);
      if (interactive) out.write(`\x1b[H\x1b[2J${text}\n (q quit, space pause, sort: ${Object.entries(KEYS).map(([key, v]) => `${key} ${v}`).join(", ")})`);
      else out.write((i > 0 ? "\n" : "") + text);
      if (i + 1 < iterations && !quit) {
        const rest = delay * 1000 - (performance.now() - t0);
        // a paused or ended workload still refreshes every interval (the keys change the sort)
        if (opsPerRefresh !== null || state.paused || workload.done) await sleep(Math.max(0, opsPerRefresh !== null && !interactive ? 0 : rest));
      }
    }
  } finally {
    if (interactive) {
      process.stdin.off("data", onKey);
      process.stdin.setRawMode(false);
      process.stdin.pause();
      out.write("\x1b[?25h\n");
    }
  }
  return 0;
}
