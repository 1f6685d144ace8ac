#!/usr/bin/env node
// profile-pair.mjs — the alloc+free pair inside Wasm against the toy LIFO, on one or more release builds
// interleaved in one process: what each part of the pair costs, by builds with a part taken out
// (bench/PROFILE.md, "the in-Wasm pair").
//
// Owns: nothing but the measurement. Entry point:
//   node bench/profile-pair.mjs [--rounds N] [--flags F] [A.wasm B.wasm ...]   (default build/release.wasm)
// Calls profile-builds.mjs (loadBuild), then each build's bench_pairs (the real cacheAlloc + cacheFree, assembly/bench.ts) and
// bench_toy_pairs (the floor: pop, one-byte node check, push) on a 64-byte cache of its own memory.
// Per build: ns per pair of each, and their ratio per round, median over --rounds rounds, the builds
// taking turns round by round.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fmt, median, table } from "./harness.mjs";
import { loadBuild } from "./profile-builds.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: "string", default: "15" }, flags: { type: "string", default: "0" } },
});
const files = positionals.length ? positionals : [join(here, "..", "build", "release.wasm")];
const N = 5_000_000;
const WARM = 3;

const builds = [];
for (const file of files) {
  const { w, memory, cache } = await loadBuild(file, Number(values.flags));
  const stage = w.stage_alloc();
  if (w.cache_alloc_bulk(cache, stage, 64) !== 64) throw new Error(`${file}: alloc_bulk failed`);
  const objs = new Uint32Array(memory.buffer, stage, 64).slice();
  const toy = w.stage_alloc();
  w.bench_toy_init(toy, objs[0], 64, 64);
  w.cache_free(cache, w.cache_alloc(cache)); // warm the arrays: the pair runs on the fast path
  builds.push({ file, w, cache, toy, pair: [], floor: [], ratio: [] });
}
for (let r = 0; r < WARM + Number(values.rounds); r++) {
  for (const b of builds) {
    let t0 = performance.now();
    b.w.bench_toy_pairs(b.toy, N);
    const floor = ((performance.now() - t0) * 1e6) / N;
    t0 = performance.now();
    b.w.bench_pairs(b.cache, N);
    const pair = ((performance.now() - t0) * 1e6) / N;
    if (r >= WARM) { b.pair.push(pair); b.floor.push(floor); b.ratio.push(pair / floor); }
  }
}
console.log(`alloc+free pair inside Wasm vs the toy LIFO, 64-byte objects, flags ${values.flags}; median of ${values.rounds} rounds`);
table(["build", "pair ns", "toy ns", "pair ÷ toy"], builds.map((b) => [b.file, fmt(median(b.pair)), fmt(median(b.floor)), fmt(median(b.ratio)) + "×"]));
