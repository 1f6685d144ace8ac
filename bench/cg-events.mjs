#!/usr/bin/env node
// cg-events.mjs — data-cache misses and branch mispredicts per function, wasm-slab against dlmalloc, on
// mbench's trace replays (helper manylive, session 12; bench/PROFILE.md "Many live small objects, session 12").
//
// Owns: nothing but its own report. Entry point: `node bench/cg-events.mjs --only t1,t2 [--reps R]
//   [--peers slab,dl] [--slab FILE.wasm] [--cache "--D1=49152,12,64 --LL=1048576,16,64"] [--json]` (after `npm run build`; clang + wasi-libc and valgrind).
// Calls: bench/c/build.mjs (the peer builds, as profile-malloc.mjs builds them: names kept, malloc and free
//   inlined into mbench), bench/wasm-run.mjs.
// What it does: each peer's replay under callgrind with --cache-sim=yes --branch-sim=yes, once with 1
// repetition and once with 1 + R (R default ceil(200000 / trace operations)); the difference is R replays
// alone. Every event (Ir, D1mr + D1mw, DLmr + DLmw, Bc, Bcm, Bi, Bim) is charged, per instruction address,
// to the Wasm function whose TurboFan code holds it (V8's jitdump, --perf-prof), calls into the engine to
// their Wasm caller (profile-malloc.mjs callgrindRun's rule). Printed per trace operation. Deterministic.
// --cache: valgrind's cache geometry (default: the host's, whose LL is the L3; an LL of this host's 1 MiB L2
// shows what leaves the L2). --slab FILE: a merged slab build of bench/c/mbench.c to use instead of building this tree's (A/B).
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
const { values } = parseArgs({
  options: {
    only: { type: "string" },
    reps: { type: "string" },
    peers: { type: "string", default: "slab,dl" },
    slab: { type: "string" },
    traces: { type: "string" },
    json: { type: "boolean", default: false },
    top: { type: "string", default: "14" },
    cache: { type: "string", default: "" },
  },
});
const traceDir = [values.traces, process.env.WASM_SLAB_TRACES, join(root, "..", "shared", "traces"), "/work/shared/traces"].find((d) => d && existsSync(d));
if (!traceDir || !values.only) throw new Error("cg-events: --only t1,t2 and a trace directory (--traces DIR)");
const dir = mkdtempSync(join(tmpdir(), "cg-events-"));
execFileSync(process.execPath, [join(root, "node_modules", "assemblyscript", "bin", "asc.js"), "assembly/merged.ts", "--target", "merge", "--debug", "--outFile", join(dir, "slab-merge-named.wasm")], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
const built = buildWasmPeers(dir, { slab: join(dir, "slab-merge-named.wasm"), names: true, inline: true });
const files = { slab: values.slab ?? built.slab, dl: built.dl };

const EV = ["Ir", "D1", "LL", "Bc", "Bcm", "Bi", "Bim"];
function run(file, trace, reps) {
  const cwd = mkdtempSync(join(dir, "cg-"));
  const out = join(cwd, "callgrind.out");
  const r = spawnSync("valgrind", ["--tool=callgrind", "--cache-sim=yes", "--branch-sim=yes", "--dump-instr=yes", "--dump-line=no",
    ...values.cache.split(" ").filter(Boolean),
    "--smc-check=all-non-file", `--callgrind-out-file=${out}`,
    process.execPath, ...wasmRunFlags, "--perf-prof", wasmRunner, file, traceDir, "--", "traces", String(reps), join(traceDir, `${trace}.rep`)],
  { cwd, encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`callgrind ${file} ${trace} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  const m = /^trace \S+ ops=(\d+) reps=(\d+)/m.exec(r.stdout);
  const ops = +m[1] * +m[2];
  const ranges = readJitdump(join(cwd, readdirSync(cwd).find((f) => f.startsWith("jit-") && f.endsWith(".dump"))));
  const starts = ranges.map((x) => x[0]);
  const jitFn = (a) => {
    let lo = 0, hi = starts.length - 1, k = -1;
    while (lo <= hi) { const mid = (lo + hi) >> 1; if (starts[mid] <= a) { k = mid; lo = mid + 1; } else hi = mid - 1; }
    return k >= 0 && a < ranges[k][1] ? ranges[k][2] : null;
  };
  const spaceLo = starts[0] - (1 << 20);
  const spaceHi = Math.max(...ranges.map((x) => x[1]));
  let names = null;
  const fn = {};
  const add = (name, cost) => {
    const v = fn[name] ?? (fn[name] = new Array(EV.length).fill(0));
    const get = (e) => { const i = names.indexOf(e); return i >= 0 && i < cost.length ? cost[i] : 0; };
    const row = [get("Ir"), get("D1mr") + get("D1mw"), get("DLmr") + get("DLmw"), get("Bc"), get("Bcm"), get("Bi"), get("Bim")];
    for (let i = 0; i < row.length; i++) v[i] += row[i];
  };
  let last = 0, target = null;
  const pos = (t, base) => (t === "*" ? base : t[0] === "+" ? base + Number(t.slice(1)) : t[0] === "-" ? base - Number(t.slice(1)) : Number(t));
  for (const line of readFileSync(out, "utf8").split("\n")) {
    if (line.startsWith("events:")) { names = line.slice(7).trim().split(/\s+/); continue; }
    if (line.startsWith("calls=")) { target = pos(line.split(" ")[1], last); continue; }
    const c = line.charCodeAt(0);
    if (!((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 42)) continue;
    const f = line.split(" ");
    last = pos(f[0], last);
    const cost = f.slice(1).map(Number);
    const name = jitFn(last);
    if (target !== null) {
      if (name !== null && (target < spaceLo || target >= spaceHi)) add(name, cost);
      target = null;
    } else if (name !== null) add(name, cost);
  }
  rmSync(cwd, { recursive: true, force: true });
  return { ops, fn };
}

const rows = [];
for (const trace of values.only.split(",")) {
  const lines = readFileSync(join(traceDir, `${trace}.rep`), "utf8").split("\n").slice(4).filter(Boolean).length;
  const R = Number(values.reps ?? Math.ceil(200000 / lines));
  const res = { trace, reps: R };
  for (const p of values.peers.split(",")) {
    const one = run(files[p], trace, 1);
    const more = run(files[p], trace, 1 + R);
    const per = {};
    const dops = more.ops - one.ops;
    for (const k of new Set([...Object.keys(one.fn), ...Object.keys(more.fn)])) {
      const a = one.fn[k] ?? new Array(EV.length).fill(0), b = more.fn[k] ?? new Array(EV.length).fill(0);
      per[k] = Object.fromEntries(EV.map((e, i) => [e, (b[i] - a[i]) / dops]));
    }
    res[p] = per;
  }
  rows.push(res);
}
rmSync(dir, { recursive: true, force: true });
if (values.json) console.log(JSON.stringify({ events: EV, rows }, null, 1));
else {
  const f = (v) => (Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
  for (const r of rows) {
    for (const p of values.peers.split(",")) {
      const fns = Object.entries(r[p]).filter(([, v]) => Math.abs(v.Ir) > 0.05 || Math.abs(v.D1) > 0.01).sort((a, b) => b[1].Ir - a[1].Ir).slice(0, Number(values.top));
      const tot = Object.fromEntries(EV.map((e) => [e, Object.values(r[p]).reduce((s, v) => s + v[e], 0)]));
      console.log(`\n${r.trace} (${r.reps} replays) ${p}: per trace operation`);
      console.log(["function", ...EV].join("\t"));
      for (const [n, v] of [...fns, ["TOTAL", tot]]) console.log([n.replace("assembly/", ""), ...EV.map((e) => f(v[e]))].join("\t"));
    }
  }
}
