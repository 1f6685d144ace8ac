#!/usr/bin/env node
// layout-cg.mjs — the program's own D1/LL data misses at each allocator's layout (helper layout, session 11).
//
// Owns: nothing shared; a standalone measurement.
// Usage: node bench/layout-cg.mjs [--slab FILE.wasm] [--peers slab,dl] [--reps N] [--ll SIZE,ASSOC,LINE] TRACE...
//   (after `npm run build`). --ll: the last level cachegrind simulates (valgrind's --LL), e.g. 1048576,16,64 for
//   a 1 MiB L2: on this VM the detected L3 is 512 MiB, so LL misses are ~0 without it.
// Calls: bench/c/build.mjs (the Wasm peers), bench/wasm-run.mjs, valgrind's cachegrind.
//
// Per trace and peer, two cachegrind runs of bench/c/mbench.c built with -DORACLE_WARM_REPS=1: `oracle 1`
// and `oracle 1+N` (three untimed replays, one warm replay through the allocator, one recording replay,
// then 1 or 1+N replays at the recorded addresses with no allocator call). Their difference is N oracle
// replays: the program's own work (memset, head/tail checks, a moved realloc's memmove) at the layout that
// allocator gave, per trace operation. Deterministic (cachegrind's simulated caches: the host's L1 and last level).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { execFileSync } from "node:child_process";
import { mergeC } from "../scripts/merge-c.mjs";
import { wasmRunFlags, wasmRunner } from "./wasm-run.mjs";
import { traceDir as findTraceDir } from "./util-peers.mjs";

const { values, positionals } = parseArgs({ allowPositionals: true, options: {
  slab: { type: "string" }, peers: { type: "string", default: "slab,dl" }, reps: { type: "string", default: "4" },
  ll: { type: "string" } } });
const traceDir = findTraceDir();
const dir = mkdtempSync(join(tmpdir(), "layout-cg-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
// bench/c/build.mjs buildWasmPeers's slab and dl peers, with one timed warm replay in oracle mode
const WASI = ["--target=wasm32-wasi", "-O2", "-Wl,--export=__heap_base", "-DORACLE_WARM_REPS=1"];
const src = join(import.meta.dirname, "c", "mbench.c");
execFileSync("clang", [...WASI, `-I${join(import.meta.dirname, "..", "c")}`, src, join(import.meta.dirname, "..", "c", "slab_shim.c"), "-o", join(dir, "own.wasm")]);
mergeC(join(dir, "own.wasm"), join(dir, "slab.wasm"), values.slab ? { slab: values.slab } : {});
execFileSync("clang", [...WASI, src, "-o", join(dir, "dl.wasm")]);
const builds = { slab: join(dir, "slab.wasm"), dl: join(dir, "dl.wasm") };
const N = Number(values.reps);
function cg(file, args) {
  const r = spawnSync("valgrind", ["--tool=cachegrind", "--cache-sim=yes", "--smc-check=all-non-file", "--cachegrind-out-file=/dev/null",
    ...(values.ll ? [`--LL=${values.ll}`] : []),
    process.execPath, ...wasmRunFlags, wasmRunner, file, traceDir, "--", ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`cachegrind ${file} ${args}: ${r.status} ${r.stderr.slice(-1500)}`);
  const num = (re) => Number(re.exec(r.stderr)[1].replace(/,/g, ""));
  return { ir: num(/I\s+refs:\s+([\d,]+)/), dr: num(/D\s+refs:\s+([\d,]+)/), d1: num(/D1\s+misses:\s+([\d,]+)/), ll: num(/LLd misses:\s+([\d,]+)/) };
}
const sub = (a, b) => Object.fromEntries(Object.keys(a).map((k) => [k, a[k] - b[k]]));
for (const t of positionals) {
  const file = join(traceDir, `${t}.rep`);
  const ops = readFileSync(file, "utf8").split("\n").slice(4).filter(Boolean).length;
  for (const p of values.peers.split(",")) {
    const or = sub(cg(builds[p], ["oracle", String(1 + N), file]), cg(builds[p], ["oracle", "1", file]));
    const per = (x) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, +(v / (N * ops)).toFixed(3)]));
    console.log(JSON.stringify({ trace: t, peer: p, slab: values.slab ?? "dist", ll: values.ll ?? "host", oracle: per(or) }));
  }
}
