#!/usr/bin/env node
// run.mjs — `npm run bench` / `wasm-slab bench`: the benchmark suite, each section in its own process,
// in a fixed order, with progress and a time estimate, its results saved to a directory it names.
//
// Owns: the section table (SECTIONS), argument checking (unknown sections and options are usage errors,
// exit code 2), the results directory (default bench-results/<date-time>/ under the repository,
// gitignored; --out DIR), the per-section progress line and suite ETA, and each section's console output
// saved as <section>.txt. Entry points: main(argv) → exit code (cli/bench.mjs calls it), and the script.
// Called by: npm run bench, cli/bench.mjs. Calls: each bench/<file> as a child process with
// WASM_SLAB_BENCH_DIR set (the contract in bench/harness.mjs), then bench/report.mjs.
// A section that needs tools this machine lacks says so and skips that part; the others still run. A
// section whose file is not in this tree is reported as skipped. Exit code: 0, 1 if a section failed.
//
// Usage: node bench/run.mjs [section ...] [--out DIR] [--runs N] [--list] [--help]
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { duration } from "./harness.mjs";
import { machineInfo, writeReport } from "./report.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
export const DEFAULT_BASE = join(root, "bench-results");

/** Where the malloc-lab traces are (../shared/traces from a worktree or the repository). */
export function traceDir() {
  return [process.env.WASM_SLAB_TRACES, join(root, "..", "shared", "traces"), join(root, "..", "..", "shared", "traces")].find((d) => d && existsSync(d)) ?? null;
}

/** The sections, in run order. estimate: seconds measured on the 2-core machine this was written on,
 *  shared with other work (used until a previous run in bench-results/ gives real durations); runs: the script takes --runs N; args(): extra arguments, or a
 *  string saying why the section cannot run here. */
export const SECTIONS = [
  { name: "micro", file: "micro.mjs", what: "per-CPU fast paths vs empty calls and a toy LIFO", estimate: 25, runs: true },
  { name: "js-floor", file: "js-floor.mjs", what: "the Cache pair's floor in JS, built up one check at a time", estimate: 12, runs: true },
  { name: "capacity", file: "capacity.mjs", what: "per-CPU array capacity: hits, locks, parked memory", estimate: 15, runs: true },
  { name: "overhead", file: "overhead.mjs", what: "objects per slab and metadata bytes per object byte", estimate: 1, runs: false },
  { name: "inuse", file: "inuse.mjs", what: "double-free hardening: in-use bit and top-of-array check vs before", estimate: 120, runs: true },
  { name: "reclaim", file: "reclaim.mjs", what: "slab-oriented reclaim vs LRU eviction", estimate: 25, runs: true },
  {
    name: "replay", file: "replay.mjs", what: "malloc-lab traces on wasm-slab's malloc from JS: checks, ops/s, utilization", estimate: 30, runs: true,
    args: () => {
      const d = traceDir();
      if (!d) return "no trace directory (../shared/traces or WASM_SLAB_TRACES)";
      return readdirSync(d).filter((f) => f.endsWith(".rep")).sort().map((f) => join(d, f));
    },
  },
  { name: "memory", file: "memory.mjs", what: "footprint by category per trace, memory map, utilization vs dlmalloc", estimate: 120, runs: false },
  { name: "malloc", file: "malloc-peers.mjs", what: "malloc peers: dlmalloc, AS TLSF, glibc, jemalloc, mimalloc, bump; trace replays", estimate: 960, runs: true },
  { name: "js-peers", file: "js-peers.mjs", what: "the JS API against plain JS objects and JS allocators", estimate: 60, runs: false },
  { name: "threads", file: "threads.mjs", what: "shared memory across Workers", estimate: 60, runs: false },
];

const help = `usage: wasm-slab bench [section ...] [--out DIR] [--runs N] [--list]
       (npm run bench builds first, then runs node bench/run.mjs)

Runs the benchmark sections (all by default) one process each, and writes the results to a directory:
results.json (Node, CPU, git revision, date, every figure), results.md, SVG charts, and each section's
<section>.json and console output <section>.txt.

  --out DIR   results directory (default: bench-results/<date-time>/ in the repository)
  --runs N    runs per figure, for the sections that take it (each has its own default)
  --list      list the sections and exit
  -h, --help  this text

sections: ${SECTIONS.map((s) => s.name).join(", ")}
`;

/** Durations of the newest previous run under DEFAULT_BASE, by section, for the time estimates. */
function previousDurations() {
  try {
    const runs = readdirSync(DEFAULT_BASE).sort().reverse();
    for (const r of runs) {
      const f = join(DEFAULT_BASE, r, "results.json");
      if (!existsSync(f)) continue;
      const prev = JSON.parse(readFileSync(f, "utf8"));
      return Object.fromEntries(prev.sections.filter((s) => s.status === "ok" && Number.isFinite(s.seconds)).map((s) => [s.name, s.seconds]));
    }
  } catch {
    // no previous run: the built-in estimates
  }
  return {};
}

const stamp = (d) => d.toISOString().replace(/\.\d+Z$/, "").replace(/:/g, "-");

/** Run one section: stdout shown and saved to <dir>/<name>.txt, stderr (progress) passed through. */
function runSection(file, args, dir, name) {
  return new Promise((done) => {
    const log = createWriteStream(join(dir, `${name}.txt`));
    const child = spawn(process.execPath, [file, ...args], { cwd: root, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, WASM_SLAB_BENCH_DIR: dir } });
    child.stdout.on("data", (b) => {
      process.stdout.write(b);
      log.write(b);
    });
    child.on("close", (code, signal) => log.end(() => done(code ?? (signal ? 128 : 1))));
  });
}

/** The suite. Returns the exit code (2: usage error, 1: a section failed, 0). */
export async function main(argv, out = process.stdout, err = process.stderr) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { out: { type: "string" }, runs: { type: "string" }, list: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  } catch (e) {
    err.write(`bench: ${e.message}\n${help}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out.write(help);
    return 0;
  }
  if (values.list) {
    for (const s of SECTIONS) out.write(`${s.name.padEnd(10)} ${s.what}${existsSync(join(here, s.file)) ? "" : " (not in this tree)"}\n`);
    return 0;
  }
  const unknown = positionals.filter((p) => !SECTIONS.some((s) => s.name === p));
  if (unknown.length) {
    err.write(`bench: unknown section${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => `'${u}'`).join(", ")}; sections: ${SECTIONS.map((s) => s.name).join(", ")}\n`);
    return 2;
  }
  if (values.runs !== undefined && !/^[1-9]\d{0,3}$/.test(values.runs)) {
    err.write(`bench: --runs ${values.runs}: expected a whole number from 1 to 9999\n`);
    return 2;
  }
  if (!existsSync(join(root, "dist", "index.js"))) {
    err.write("bench: dist/index.js is missing: run `npm run build` first (npm run bench does)\n");
    return 1;
  }
  const chosen = SECTIONS.filter((s) => positionals.length === 0 || positionals.includes(s.name));
  const started = new Date();
  const dir = resolve(values.out ?? join(DEFAULT_BASE, stamp(started)));
  mkdirSync(dir, { recursive: true });
  const machine = machineInfo(root);
  const prev = previousDurations();
  const estimate = (s) => prev[s.name] ?? s.estimate;
  out.write(`wasm-slab bench: ${chosen.length} section${chosen.length > 1 ? "s" : ""} (${chosen.map((s) => s.name).join(", ")}), Node ${machine.node}, ${machine.cpu.model}\n`);
  out.write(`results directory: ${dir}\n`);

  const results = [];
  let drift = 1; // actual / estimated time of the sections done so far
  let estDone = 0;
  let actualDone = 0;
  const t0 = performance.now();
  for (const [i, s] of chosen.entries()) {
    const file = join(here, s.file);
    const left = chosen.slice(i).reduce((a, x) => a + estimate(x), 0) * drift;
    out.write(`\n=== [${i + 1}/${chosen.length}] ${s.name}: ${s.what} ===\n`);
    out.write(`    (about ${duration(estimate(s) * drift)} for this section; about ${duration(left)} left in the suite)\n\n`);
    if (!existsSync(file)) {
      out.write(`(bench/${s.file} is not in this tree: skipped)\n`);
      results.push({ name: s.name, what: s.what, status: "skipped", reason: `bench/${s.file} is not in this tree`, exitCode: null, seconds: 0 });
      continue;
    }
    const extra = s.args ? s.args() : [];
    if (typeof extra === "string") {
      out.write(`(${s.name} skipped: ${extra})\n`);
      results.push({ name: s.name, what: s.what, status: "skipped", reason: extra, exitCode: null, seconds: 0 });
      continue;
    }
    const args = [...(s.runs && values.runs ? ["--runs", values.runs] : []), ...extra];
    const ts = performance.now();
    const code = await runSection(file, args, dir, s.name);
    const seconds = (performance.now() - ts) / 1000;
    estDone += estimate(s);
    actualDone += seconds;
    drift = Math.min(3, Math.max(0.3, actualDone / estDone));
    if (code !== 0) out.write(`(${s.name} exited with ${code})\n`);
    out.write(`\n--- ${s.name} done in ${duration(seconds)}; ${duration((performance.now() - t0) / 1000)} elapsed ---\n`);
    results.push({ name: s.name, what: s.what, status: code === 0 ? "ok" : "failed", exitCode: code, seconds, args: args.filter((a) => !a.includes("/")) });
  }
  const files = writeReport(dir, { date: started.toISOString(), argv: ["wasm-slab", "bench", ...argv], machine, seconds: (performance.now() - t0) / 1000, sections: results });
  const rel = relative(process.cwd(), dir);
  const shown = rel === "" ? "." : rel.startsWith("..") ? dir : rel;
  out.write(`\nresults written to ${dir}\n  ${files.map((f) => join(shown, f)).join("\n  ")}\n`);
  const failed = results.filter((r) => r.status === "failed");
  if (failed.length) out.write(`failed: ${failed.map((r) => r.name).join(", ")}\n`);
  return failed.length ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
