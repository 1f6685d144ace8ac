// mix-ab.mjs — the malloc/free mix (bench/c/mbench.c `mix`) of several builds of the same C program,
// timed interleaved: a before/after and a floor tool for the mix's time (bench/PROFILE.md, "mixtime").
//
// Owns: nothing shared; a standalone A/B tool (not a bench/run.mjs section: it needs builds made apart).
// Usage: node bench/mix-ab.mjs NAME=FILE.wasm ... [--rounds N] [--ops N] [--ref NAME]
//   Each FILE is a whole wasm32-wasi build of mbench.c (a merged slab build: scripts/merge-c.mjs; or
//   dlmalloc's: clang mbench.c). Every round runs each build once, each in its own process under
//   bench/wasm-run.mjs's engine flags, the order rotated round by round. Prints each build's median CPU ns
//   per operation (mbench's cpu clock) and the median over rounds of ref's time ÷ the build's (ref: the
//   first build unless --ref), so a loaded machine moves every build of a round alike.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { wasmRunFlags, wasmRunner } from "./wasm-run.mjs";
import { median } from "./harness.mjs";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { rounds: { type: "string", default: "9" }, ops: { type: "string", default: "5000000" }, ref: { type: "string" }, json: { type: "boolean", default: false } } });
const builds = positionals.map((p) => { const i = p.indexOf("="); if (i < 1) throw new Error(`${p}: want NAME=FILE.wasm`); return { name: p.slice(0, i), file: resolve(p.slice(i + 1)) }; });
if (builds.length < 1) { console.error("usage: node bench/mix-ab.mjs NAME=FILE.wasm ... [--rounds N] [--ops N] [--ref NAME]"); process.exit(2); }
const ref = values.ref ?? builds[0].name;
if (!builds.some((b) => b.name === ref)) throw new Error(`--ref ${ref}: no such build`);
const rounds = Number(values.rounds);
const ns = Object.fromEntries(builds.map((b) => [b.name, []]));
for (let r = 0; r < rounds; r++) {
  for (let j = 0; j < builds.length; j++) {
    const b = builds[(j + r) % builds.length];
    const c = spawnSync(process.execPath, [...wasmRunFlags, wasmRunner, b.file, "", "--", "mix", values.ops], { encoding: "utf8" });
    const m = /cpu_ns_per_op=([\d.]+)/.exec(c.stdout);
    if (c.status !== 0 || !m) throw new Error(`${b.name}: exited ${c.status}: ${c.stderr}`);
    ns[b.name].push(Number(m[1]));
  }
  process.stderr.write(".");
}
process.stderr.write("\n");
const out = builds.map((b) => ({ name: b.name, ns: median(ns[b.name]), refOver: median(ns[ref].map((x, i) => x / ns[b.name][i])) }));
if (values.json) console.log(JSON.stringify({ rounds, ops: Number(values.ops), ref, builds: out, raw: ns }));
else for (const o of out) console.log(`${o.name.padEnd(16)} ${o.ns.toFixed(2).padStart(8)} cpu ns/op   ${ref} ÷ it ${o.refOver.toFixed(3)}× (median of ${rounds} rounds)`);
