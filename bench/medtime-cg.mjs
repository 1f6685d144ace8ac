// medtime-cg.mjs — per Wasm function: instructions, conditional branches and their mispredicts, D1 misses,
// for wasm-slab (the merged build, malloc/free inlined into the replay as the bench build does) and
// dlmalloc on one trace, under valgrind callgrind with --cache-sim=yes --branch-sim=yes (the difference of
// runs of 1 + R and 1 replays, per trace operation; deterministic).
// Owns: nothing shared; a standalone measurement (helper medtime, session 12; bench/PROFILE.md "Medium
// heap in time, session 12").
// Usage: node bench/medtime-cg.mjs <trace> <R> [--slab file.wasm] [--json]   (after `npm run build`)
// Calls: bench/c/build.mjs (the peers), bench/wasm-run.mjs (one process per run).
import { execFileSync, spawnSync } from "node:child_process";
import { readJitdump } from "./harness.mjs";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { wasmRunFlags, wasmRunner } from "./wasm-run.mjs";
import { buildWasmPeers } from "./c/build.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const { values, positionals } = parseArgs({ allowPositionals: true, options: { json: { type: "boolean", default: false }, peers: { type: "string", default: "slab,dl" } } });
const [traceName, R] = [positionals[0], Number(positionals[1] ?? 8)];
const traceDir = [process.env.WASM_SLAB_TRACES, join(root, "..", "shared", "traces"), "/work/shared/traces"].find((d) => d && existsSync(d));
const trace = join(traceDir, `${traceName}.rep`);
const dir = mkdtempSync(join(tmpdir(), "medtime-cg-"));
execFileSync(process.execPath, [join(root, "node_modules", "assemblyscript", "bin", "asc.js"), "assembly/merged.ts", "--target", "merge", "--debug", "--outFile", join(dir, "slab-merge-named.wasm")], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
const built = buildWasmPeers(dir, { slab: join(dir, "slab-merge-named.wasm"), names: true, inline: true });

function run(file, reps) {
  const cwd = mkdtempSync(join(dir, "cg-"));
  const out = join(cwd, "callgrind.out");
  const r = spawnSync("valgrind", ["--tool=callgrind", "--dump-instr=yes", "--cache-sim=yes", "--branch-sim=yes", "--smc-check=all-non-file", `--callgrind-out-file=${out}`,
    process.execPath, ...wasmRunFlags, "--perf-prof", wasmRunner, file, traceDir, "--", "traces", String(reps), trace], { cwd, encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`callgrind exited ${r.status}: ${r.stderr.slice(-2000)}`);
  const m = /^trace \S+ ops=(\d+) reps=(\d+)/m.exec(r.stdout);
  const ops = +m[1] * +m[2];
  const ranges = readJitdump(join(cwd, readdirSync(cwd).find((f) => f.startsWith("jit-") && f.endsWith(".dump"))));
  const starts = ranges.map((x) => x[0]);
  const jitFn = (a) => {
    let lo = 0, hi = starts.length - 1, k = -1;
    while (lo <= hi) { const q = (lo + hi) >> 1; if (starts[q] <= a) { k = q; lo = q + 1; } else hi = q - 1; }
    return k >= 0 && a < ranges[k][1] ? ranges[k][2] : null;
  };
  const spaceLo = starts[0] - (1 << 20);
  const spaceHi = Math.max(...ranges.map((x) => x[1]));
  let events = null;
  let npos = 1;
  const fn = {};
  let last = 0, target = null;
  const pos = (t, base) => (t === "*" ? base : t[0] === "+" ? base + Number(t.slice(1)) : t[0] === "-" ? base - Number(t.slice(1)) : Number(t));
  const wantFn = process.env.MT_FN ? process.env.MT_FN.split(",") : [];
  const fnStart = Object.fromEntries(ranges.map((x) => [x[2], x[0]]));
  const at = {};
  const add = (name, f) => {
    if (wantFn.includes(name)) {
      const key = `${name}+0x${(last - fnStart[name]).toString(16)}`;
      const row = (at[key] ??= new Array(events.length).fill(0));
      for (let i = npos; i < f.length && i - npos < events.length; i++) row[i - npos] += Number(f[i]);
    }
    const row = (fn[name] ??= new Array(events.length).fill(0));
    for (let i = npos; i < f.length && i - npos < events.length; i++) row[i - npos] += Number(f[i]);
  };
  for (const line of readFileSync(out, "utf8").split("\n")) {
    if (line.startsWith("positions:")) { npos = line.slice(10).trim().split(/\s+/).length; continue; }
    if (line.startsWith("events:")) { events = line.slice(7).trim().split(/\s+/); continue; }
    const c = line.charCodeAt(0);
    if (line.startsWith("calls=")) { target = pos(line.split(" ")[1], last); continue; }
    if (!((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 42)) continue;
    const f = line.split(" ");
    last = pos(f[0], last);
    const name = jitFn(last);
    if (target !== null) {
      if (name !== null && (target < spaceLo || target >= spaceHi)) add(name, f);
      target = null;
    } else if (name !== null) add(name, f);
  }
  rmSync(cwd, { recursive: true, force: true });
  return { ops, events, fn, at };
}

const result = {};
for (const key of values.peers.split(",")) {
  const file = built[key];
  const one = run(file, 1);
  const more = run(file, 1 + R);
  const ev = more.events;
  const per = {};
  for (const k of new Set([...Object.keys(one.fn), ...Object.keys(more.fn)])) {
    per[k] = Object.fromEntries(ev.map((e, i) => [e, ((more.fn[k]?.[i] ?? 0) - (one.fn[k]?.[i] ?? 0)) / (more.ops - one.ops)]));
  }
  result[key] = per;
  if (process.env.MT_FN) {
    const rows = Object.entries(more.at).map(([k, v]) => [k, v.map((x, i) => (x - (one.at[k]?.[i] ?? 0)) / (more.ops - one.ops))]);
    const ix = (e) => ev.indexOf(e);
    console.log(`hot offsets (${key}): key Ir Bc Bcm D1mr D1mw`);
    for (const [k, v] of rows.sort((a, b) => b[1][ix("Bcm")] + b[1][ix("D1mr")] - a[1][ix("Bcm")] - a[1][ix("D1mr")]).slice(0, 60)) {
      console.log(k, ["Ir", "Bc", "Bcm", "D1mr", "D1mw"].map((e) => v[ix(e)].toFixed(3)).join(" "));
    }
  }
}
rmSync(dir, { recursive: true, force: true });
if (values.json) console.log(JSON.stringify(result));
else {
  for (const [key, per] of Object.entries(result)) {
    console.log(`\n${key} ${traceName} (per trace op; R=${R})`);
    console.log("function".padEnd(40), ["Ir", "Bc", "Bcm", "Bi", "Bim", "D1mr", "D1mw", "DLmr"].map((s) => s.padStart(8)).join(""));
    const rows = Object.entries(per).filter(([, v]) => v.Ir > 0.5).sort((a, b) => b[1].Ir - a[1].Ir);
    const tot = {};
    for (const [name, v] of rows) {
      for (const [e, x] of Object.entries(v)) tot[e] = (tot[e] ?? 0) + x;
      console.log(name.slice(0, 40).padEnd(40), ["Ir", "Bc", "Bcm", "Bi", "Bim", "D1mr", "D1mw", "DLmr"].map((e) => (v[e] ?? 0).toFixed(2).padStart(8)).join(""));
    }
    console.log("total".padEnd(40), ["Ir", "Bc", "Bcm", "Bi", "Bim", "D1mr", "D1mw", "DLmr"].map((e) => (tot[e] ?? 0).toFixed(2).padStart(8)).join(""));
  }
}
