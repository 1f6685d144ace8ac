// ab-traces.mjs — trace replay speed of two builds of wasm-slab merged into C (bench/c/mbench.c), run
// side by side: a before/after check for a change to the allocator's malloc path.
//
// Owns: nothing shared; a standalone A/B tool (not a bench/run.mjs section: it needs a second build).
// Usage: node bench/ab-traces.mjs <baseline slab-merge.wasm> [candidate slab-merge.wasm] [--runs N] [--ops N] [TRACE...]
//   e.g. git worktree add /tmp/base main && (cd /tmp/base && npm ci && npm run build)
//        node bench/ab-traces.mjs /tmp/base/dist/slab-merge.wasm dist/slab-merge.wasm --runs 7 bash perl
// mbench.c is compiled once (clang, wasi-libc; as util-peers.mjs) and merged with each allocator build
// (scripts/merge-c.mjs). Each run is one child process under bench/wasm-run.mjs's engine flags
// (wasmRunFlags: TurboFan code) that instantiates both modules afresh and replays the trace REPS times in
// each (REPS makes about --ops operations, default 400 000), the builds alternating which goes first run
// by run. One process per run, not one for all: Node 20's V8 crashed (or handed back a freed object) after
// a dozen multi-MiB instances in one process. Prints, per trace, the median replay seconds of each
// (mbench's CPU clock: the timed region only) and the median of the per-run candidate/baseline ratios.
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { WASI } from "node:wasi";
import { mergeC } from "../scripts/merge-c.mjs";
import { traceDir } from "./util-peers.mjs";
import { wasmRunFlags } from "./wasm-run.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const self = fileURLToPath(import.meta.url);

/** One fresh instance of the module in `file` replays `trace` `reps` times; mbench's replay seconds (its CPU
 * clock: time this process spent descheduled by other load is not in it). */
function replay(file, trace, reps, work) {
  const out = join(work, `out-${process.pid}.txt`);
  const fd = openSync(out, "w");
  const wasi = new WASI({ version: "preview1", args: ["mbench", "traces", String(reps), trace], preopens: { [dirname(trace)]: dirname(trace) }, stdout: fd, returnOnExit: true });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(file)), { env: { hook: () => 0 }, wasi_snapshot_preview1: wasi.wasiImport });
  wasi.start(instance);
  closeSync(fd);
  const m = /cpu=([\d.]+)/.exec(readFileSync(out, "utf8"));
  if (!m) throw new Error(`${trace}: no replay line`);
  return Number(m[1]);
}

// Child mode (one run): --pair WORK TRACE REPS FIRST(0|1) — replay with both builds, FIRST one first.
if (process.argv[2] === "--pair") {
  const [work, trace, reps, first] = process.argv.slice(3);
  const order = first === "0" ? [0, 1] : [1, 0];
  const secs = [0, 0];
  for (const i of order) secs[i] = replay(join(work, i === 0 ? "baseline.wasm" : "candidate.wasm"), trace, Number(reps), work);
  console.log(JSON.stringify(secs));
  process.exit(0);
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: "string", default: "7" }, ops: { type: "string", default: "400000" } } });
if (positionals.length < 1 || !positionals[0].endsWith(".wasm")) {
  console.error("usage: node bench/ab-traces.mjs <baseline slab-merge.wasm> [candidate slab-merge.wasm] [--runs N] [--ops N] [TRACE...]");
  process.exit(2);
}
const baseline = resolve(positionals[0]);
const candidate = resolve(positionals[1]?.endsWith(".wasm") ? positionals[1] : join(root, "dist", "slab-merge.wasm"));
const dir = traceDir();
const names = positionals.filter((p) => !p.endsWith(".wasm"));
const traces = names.length ? names : ["coalescing-bal", "short2-bal", "bash", "perl"];

const work = mkdtempSync(join(tmpdir(), "ab-traces-"));
execFileSync("clang", ["--target=wasm32-wasi", "-O2", "-Wl,--export=__heap_base", `-I${join(root, "c")}`, join(here, "c", "mbench.c"), join(root, "c", "slab_shim.c"), "-o", join(work, "own.wasm")]);
for (const [name, slab] of [["baseline", baseline], ["candidate", candidate]]) {
  if (!existsSync(slab)) throw new Error(`${slab}: no such build`);
  mergeC(join(work, "own.wasm"), join(work, `${name}.wasm`), { slab });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const t of traces) {
  const file = join(dir, `${t}.rep`);
  const ops = Number(readFileSync(file, "utf8").split(/\s+/)[2]);   // the header's third number: operations
  const reps = Math.max(1, Math.round(Number(values.ops) / ops));
  const secs = [[], []];
  for (let r = 0; r < Number(values.runs); r++) {
    const c = spawnSync(process.execPath, [...wasmRunFlags, self, "--pair", work, file, String(reps), String(r % 2)], { encoding: "utf8" });
    if (c.status !== 0) throw new Error(`${t}: run ${r} exited ${c.status}: ${c.stderr}`);
    const [a, b] = JSON.parse(c.stdout.trim().split("\n").pop());
    secs[0].push(a);
    secs[1].push(b);
  }
  const [a, b] = secs.map(median);
  const ratio = median(secs[1].map((x, i) => x / secs[0][i]));
  console.log(`${t.padEnd(16)} reps ${String(reps).padStart(5)}  baseline ${a.toFixed(4)} s  candidate ${b.toFixed(4)} s  candidate/baseline ${ratio.toFixed(3)} (median of per-run ratios)`);
}
