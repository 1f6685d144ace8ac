// harness.mjs — what every benchmark in bench/ shares: timing (interleaved runs, medians), tables,
// progress with a time estimate, and the results contract (writeSection / resultsDir).
//
// Owns: measure(), median(), fmt(), table(), progress(), resultsDir(), writeSection(), and the handler
// that turns node:util parseArgs errors into a one-line message and exit code 2.
// Called by: every bench/*.mjs section; bench/run.mjs reads what writeSection wrote (bench/report.mjs).
//
// Timing: a figure is the median of `runs` timed repetitions; a benchmark and its baseline are measured
// in the same process, interleaved run by run, so that machine noise hits both alike. Absolute times are
// context; the ratios are the result.
//
// Results contract (the one /work/HELPERS.md states): bench/run.mjs runs each section as its own process
// with WASM_SLAB_BENCH_DIR set to the results directory. writeSection(section, data) then writes
// `$WASM_SLAB_BENCH_DIR/<section>.json`:
//   { section, figures: [Figure...], tables: [{title, header, rows}...], node, written, ...data }
// where a Figure is { name, value, unit, baseline?, baselineValue?, ratio?, goal?, better?, reached? }:
//   ratio = value / baselineValue (both measured in the same run); goal is a number the ratio is held
//   to, `better` says which side reaches it ("lower": ratio ≤ goal, the default; "higher": ratio ≥
//   goal); reached is computed from those when the section does not set it.
// `tables` defaults to every table() the section printed, in order (results.md shows them as printed).
// With the variable unset (a section run by hand) writeSection writes nothing and returns null.
// A section may write its own SVG files as `<section>-*.svg` into resultsDir().
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { median, table as tableText } from "../cli/lib/format.mjs";

export { median };

// Unknown options, bad option values and stray positionals (parseArgs' strict mode) are usage errors:
// one line on stderr and exit code 2, not a stack trace. Any other uncaught error keeps exit code 1.
process.on("uncaughtException", (err) => {
  if (typeof err?.code === "string" && err.code.startsWith("ERR_PARSE_ARGS")) {
    process.stderr.write(`${process.argv[1]?.split("/").pop() ?? "bench"}: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});

/** ns per operation of fn(ops) (fn runs `ops` operations), median of runs, interleaved with others.
 *  Reports `run i/n` with a time estimate on stderr (label: the case names). `clock`: "wall" (hrtime) or
 *  "cpu" (process.cpuUsage, user + system, microseconds): the process's CPU time leaves out the time other
 *  load on a shared machine kept it descheduled; use it for single-threaded cases only (it sums every
 *  thread of the process, so a Worker's time would count too). */
export function measure(cases, { runs = 9, warmup = 2, label, clock = "wall" } = {}) {
  const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  const bar = progress(label ?? Object.keys(cases).join(" / "), warmup + runs);
  for (let r = 0; r < warmup + runs; r++) {
    for (const [name, { fn, ops }] of Object.entries(cases)) {
      const dt = clock === "cpu" ? cpuNs(() => fn(ops)) : wallNs(() => fn(ops));
      if (r >= warmup) samples[name].push(dt / ops);
    }
    bar.tick(r < warmup ? "warm-up" : undefined);
  }
  bar.done();
  const out = {};
  for (const [name, xs] of Object.entries(samples)) out[name] = median(xs);
  return out;
}


/** Nanoseconds fn() took: by the wall clock, or by the process's CPU time (user + system). */
export function wallNs(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0);
}
export function cpuNs(fn) {
  const t0 = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) * 1000;
}

export function fmt(x, digits = 2) {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/** "1m05s" / "12s" / "0.4s". */
export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

const printed = []; // every table() of this process, for writeSection

/** Print a table: rows of [label, ...cells]. The title (optional) is printed above it. */
export function table(header, rows, title) {
  if (title) console.log(title);
  process.stdout.write(tableText(header, rows));
  printed.push({ title: title ?? null, header: header.map(String), rows: rows.map((r) => r.map(String)) });
}

/** Progress of a loop of `total` runs on stderr: `label: run i/n · elapsed · ~ETA left (note)`. On a
 *  terminal the line is rewritten in place; otherwise (a log) a line at the first and last tick and at
 *  most one every 5 s between. The estimate is the mean time per run so far times the runs left. `unit`
 *  names what is counted ("run" by default). */
export function progress(label, total, { unit = "run", out = process.stderr } = {}) {
  const t0 = performance.now();
  let i = 0;
  const tty = Boolean(out.isTTY);
  let shown = -Infinity;
  return {
    tick(note) {
      i++;
      const now = performance.now();
      if (!tty && i > 1 && i < total && now - shown < 5000) return;
      shown = now;
      const el = (performance.now() - t0) / 1000;
      const left = (el / i) * (total - i);
      const text = `  ${label}: ${unit} ${i}/${total} · ${duration(el)} elapsed · ~${duration(left)} left${note ? ` (${note})` : ""}`;
      out.write(tty ? `\r\x1b[K${text}` : `${text}\n`);
    },
    done() {
      if (tty && i > 0) out.write("\n");
    },
  };
}

/** The results directory of this run (WASM_SLAB_BENCH_DIR), or null when the section runs by hand. */
export function resultsDir() {
  return process.env.WASM_SLAB_BENCH_DIR || null;
}

/** Write `<resultsDir>/<section>.json` (see the contract above). Returns its path, or null when no
 *  results directory is set. Throws a TypeError on a malformed section name or figure. */
export function writeSection(section, data) {
  if (typeof section !== "string" || !/^[a-z0-9][a-z0-9-]*$/.test(section)) throw new TypeError(`writeSection: bad section name ${JSON.stringify(section)}`);
  const figures = (data?.figures ?? []).map((f, k) => {
    if (typeof f?.name !== "string" || !(typeof f.value === "number" || f.value === null)) {
      throw new TypeError(`writeSection(${section}): figure ${k} needs a name and a numeric value`);
    }
    const g = { ...f };
    if (g.ratio === undefined && Number.isFinite(g.value) && Number.isFinite(g.baselineValue) && g.baselineValue !== 0) g.ratio = g.value / g.baselineValue;
    if (g.goal !== undefined && g.better === undefined) g.better = "lower";
    if (g.reached === undefined && Number.isFinite(g.ratio) && Number.isFinite(g.goal)) g.reached = g.better === "higher" ? g.ratio >= g.goal : g.ratio <= g.goal;
    return g;
  });
  const dir = resultsDir();
  if (!dir) return null;
  const file = join(dir, `${section}.json`);
  const doc = { section, ...data, figures, tables: data?.tables ?? printed, node: process.version, written: new Date().toISOString() };
  writeFileSync(file, JSON.stringify(doc, null, 2) + "\n");
  return file;
}

/** The TurboFan code ranges V8 logged with --perf-prof (a jitdump): [start, end, name] sorted by start, the
 * name without its "JS:" prefix and "-N-turbofan" suffix (bench/medtime-cg.mjs, bench/cg-events.mjs). */
export function readJitdump(path) {
  const b = readFileSync(path);
  const ranges = [];
  let off = b.readUInt32LE(8);
  while (off + 16 <= b.length) {
    const id = b.readUInt32LE(off);
    const size = b.readUInt32LE(off + 4);
    if (size < 16) break;
    if (id === 0) {
      const raw = b.toString("utf8", off + 56, b.indexOf(0, off + 56));
      if (/-\d+-turbofan$/.test(raw) && !raw.includes(" ")) {
        const addr = Number(b.readBigUInt64LE(off + 32));
        const len = Number(b.readBigUInt64LE(off + 40));
        ranges.push([addr, addr + len, raw.replace(/^JS:/, "").replace(/-\d+-turbofan$/, "")]);
      }
    }
    off += size;
  }
  return ranges.sort((x, y) => x[0] - y[0]);
}
