#!/usr/bin/env node
// replay-split.mjs — by hand: where a trace sample's CPU time goes, replay by replay. One process per run
// replays the trace N times in one fresh instance (mbench.c given the file N times, 1 repetition each: the
// heap carries over from one replay to the next, as in malloc-peers.mjs's samples) and prints each
// replay's CPU time (mbench's cpu clock), the process's minor page faults (first touches of new memory)
// and its memory pages at exit; dlmalloc and each given wasm-slab build alternate run by run.
//
// Owns: nothing shared; a measurement tool (bench/PROFILE.md "Where big traces' time goes, session 11").
// Usage: node bench/replay-split.mjs TRACE.rep N RUNS [name=slab-merge.wasm ...]
//   e.g. node bench/replay-split.mjs ../shared/traces/random2-bal.rep 6 11 main=/tmp/main/slab-merge.wasm new=dist/slab-merge.wasm
// Prints per build the median ms of each replay, the mean of replays 2..N, memory pages and faults, and per
// wasm-slab build dlmalloc's time ÷ its time per run (sorted), then the medians of that ratio for the first
// replay alone and for the rest. (malloc-peers.mjs runs the big traces 6 times a sample: random-bal,
// random2-bal, coalescing-bal; expr-bal 31, cp-decl-bal 25.)
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { WASI } from "node:wasi";
import { buildWasmPeers } from "./c/build.mjs";
import { mergeC } from "../scripts/merge-c.mjs";
import { wasmRunFlags } from "./wasm-run.mjs";
import { median } from "./harness.mjs";

const self = fileURLToPath(import.meta.url);
// Child mode (one run): --child FILE TRACE N → {"c": [cpu s per replay], "pages", "faults"}
if (process.argv[2] === "--child") {
  const [file, trace, n] = process.argv.slice(3);
  const out = join(tmpdir(), `replay-split-${process.pid}.txt`);
  const fd = openSync(out, "w");
  const wasi = new WASI({ version: "preview1", args: ["mbench", "traces", "1", ...Array(Number(n)).fill(trace)], preopens: { [dirname(trace)]: dirname(trace) }, stdout: fd, returnOnExit: true });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(file)), { env: { hook: () => 0 }, wasi_snapshot_preview1: wasi.wasiImport });
  const f0 = process.resourceUsage().minorPageFault;
  wasi.start(inst);
  const faults = process.resourceUsage().minorPageFault - f0;
  closeSync(fd);
  const c = [...readFileSync(out, "utf8").matchAll(/cpu=([\d.]+)/g)].map((m) => Number(m[1]));
  rmSync(out);
  console.log(JSON.stringify({ c, pages: inst.exports.memory.buffer.byteLength / 65536, faults }));
  process.exit(0);
}

const [trace, n, runs, ...builds] = process.argv.slice(2);
if (!trace || !(Number(n) >= 1) || !(Number(runs) >= 1)) {
  console.error("usage: node bench/replay-split.mjs TRACE.rep N RUNS [name=slab-merge.wasm ...]");
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), "replay-split-"));
const peers = buildWasmPeers(work, {});
const files = { dl: peers.dl };
if (builds.length === 0) files.slab = peers.slab;
for (const b of builds) {
  const [name, f] = b.split("=");
  mergeC(peers.own, join(work, `${name}.wasm`), { slab: resolve(f) });
  files[name] = join(work, `${name}.wasm`);
}
const res = {};
for (let r = 0; r < Number(runs); r++) {
  for (const [name, f] of Object.entries(files)) {
    const c = spawnSync(process.execPath, [...wasmRunFlags, self, "--child", f, resolve(trace), n], { encoding: "utf8" });
    if (c.status !== 0) throw new Error(`${name}: run ${r} exited ${c.status}: ${c.stderr}`);
    (res[name] ??= []).push(JSON.parse(c.stdout.trim().split("\n").pop()));
  }
}
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
for (const [name, rs] of Object.entries(res)) {
  const per = rs[0].c.map((_, i) => median(rs.map((x) => x.c[i])) * 1000);
  const rest = per.length > 1 ? (sum(per.slice(1)) / (per.length - 1)).toFixed(3) : "-";
  console.log(`${name.padEnd(8)} ms per replay (median): ${per.map((x) => x.toFixed(2)).join(" ")}  mean of 2..N ${rest}  pages ${median(rs.map((x) => x.pages))}  faults ${median(rs.map((x) => x.faults))}`);
}
for (const [name, rs] of Object.entries(res)) {
  if (name === "dl") continue;
  const dl = res.dl;
  const total = rs.map((x, i) => sum(dl[i].c) / sum(x.c)).sort((a, b) => a - b);
  const first = median(rs.map((x, i) => dl[i].c[0] / x.c[0]));
  const rest = Number(n) > 1 ? median(rs.map((x, i) => sum(dl[i].c.slice(1)) / sum(x.c.slice(1)))).toFixed(3) : "-";
  const share = median(dl.map((x) => x.c[0] / sum(x.c)));
  console.log(`${name}: dlmalloc ÷ ${name} time per run ${total.map((x) => x.toFixed(2)).join(" ")}; first replay ${first.toFixed(3)}, replays 2..N ${rest}; the first replay is ${(share * 100).toFixed(0)}% of dlmalloc's time`);
}
rmSync(work, { recursive: true, force: true });
