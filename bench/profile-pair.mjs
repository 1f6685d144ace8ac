#!/usr/bin/env node
// profile-pair.mjs — the alloc+free pair inside Wasm against the toy LIFO, on one or more release builds
// interleaved in one process: what each part of the pair costs, by builds with a part taken out
// (bench/PROFILE.md, "the in-Wasm pair"), in time or (--count) in exact x86 instructions.
//
// Owns: nothing but the measurement. Entry points:
//   node bench/profile-pair.mjs [--rounds N] [--flags F] [A.wasm B.wasm ...]   (default build/release.wasm)
//   node bench/profile-pair.mjs --count [--flags F] [--size S] [A.wasm ...]   (needs valgrind; no build
//     named: this tree's release build compiled with --use BENCH_KMALLOC=1, which bench_kmalloc_pairs needs)
// Calls profile-builds.mjs (loadBuild), then each build's bench_pairs (the real cacheAlloc + cacheFree,
// assembly/bench.ts), bench_kmalloc_pairs (kmalloc + kfree of --size bytes, assembly/index.ts) and
// bench_toy_pairs (the floor: pop, one-byte node check, push) on a 64-byte cache of its own memory.
// Time: per build, ns per pair of each and their ratio per round, median over --rounds rounds, the builds
// taking turns round by round. --count: x86 instructions per pair of each loop under valgrind's callgrind
// (TurboFan only, one thread, V8's jitdump naming each function's code range): the instructions executed
// inside the loop's own code divided by its pairs; exact, whatever else the process runs. (--child is the
// counted process's own mode.)
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fmt, median, table } from "./harness.mjs";
import { loadBuild } from "./profile-builds.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: "string", default: "15" },
    flags: { type: "string", default: "0" },
    size: { type: "string", default: "64" },
    count: { type: "boolean", default: false },
    child: { type: "string" },
  },
});
const files = positionals.length ? positionals : [values.count && !values.child ? countBuild() : join(here, "..", "build", "release.wasm")];

/** --count with no build named: this tree's release build with bench_kmalloc_pairs compiled in. */
function countBuild() {
  const out = join(mkdtempSync(join(tmpdir(), "profile-pair-")), "release-kmalloc.wasm");
  const r = spawnSync(process.execPath, [join(here, "..", "node_modules", "assemblyscript", "bin", "asc.js"), "assembly/index.ts",
    "--target", "release", "--use", "abort=", "--use", "BENCH_KMALLOC=1", "--outFile", out], { cwd: join(here, ".."), encoding: "utf8" });
  if (r.status !== 0) throw new Error(`profile-pair: asc failed: ${r.stderr}`);
  return out;
}
const N = 5_000_000;
const WARM = 3;
const size = Number(values.size);

/** One build set up for the three loops: { run(loop, n) }. */
async function setUp(file) {
  const { w, memory, cache } = await loadBuild(file, Number(values.flags));
  const stage = w.stage_alloc();
  if (w.cache_alloc_bulk(cache, stage, 64) !== 64) throw new Error(`${file}: alloc_bulk failed`);
  const objs = new Uint32Array(memory.buffer, stage, 64).slice();
  const toy = w.stage_alloc();
  w.bench_toy_init(toy, objs[0], 64, 64);
  w.cache_free(cache, w.cache_alloc(cache)); // warm the arrays: the pair runs on the fast path
  // warm malloc's class past its warm-up (arrays on) and onto its fast path
  const held = [];
  for (let i = 0; i < 600; i++) held.push(w.malloc(size));
  for (const p of held) w.free(p);
  const loops = {
    toy: (n) => w.bench_toy_pairs(toy, n),
    pair: (n) => w.bench_pairs(cache, n),
    kmalloc: (n) => w.bench_kmalloc_pairs(size, n),
  };
  return { file, loops, pair: [], floor: [], ratio: [] };
}

const LOOPS = ["toy", "pair", "kmalloc"];
const EXPORTS = { toy: "bench_toy_pairs", pair: "bench_pairs", kmalloc: "bench_kmalloc_pairs" };

/** Function index of each export of a Wasm binary (its export section, read directly). */
function exportIndices(bytes) {
  let at = 8;
  const leb = () => { let r = 0, sh = 0, b; do { b = bytes[at++]; r |= (b & 0x7f) << sh; sh += 7; } while (b & 0x80); return r >>> 0; };
  const out = {};
  while (at < bytes.length) {
    const id = bytes[at++];
    const len = leb();
    const end = at + len;
    if (id === 7) {
      for (let n = leb(); n > 0; n--) {
        const nl = leb();
        const name = new TextDecoder().decode(bytes.subarray(at, at + nl));
        at += nl;
        const kind = bytes[at++];
        const idx = leb();
        if (kind === 0) out[name] = idx;
      }
    }
    at = end;
  }
  return out;
}

/** The code ranges V8 logged with --perf-prof (a jitdump): [start, end, name] of each TurboFan Wasm function. */
function readJitdump(path) {
  const b = readFileSync(path);
  const ranges = [];
  let off = b.readUInt32LE(8);
  while (off + 16 <= b.length) {
    const id = b.readUInt32LE(off);
    const size = b.readUInt32LE(off + 4);
    if (size < 16) break;
    if (id === 0) {
      const name = b.toString("utf8", off + 56, b.indexOf(0, off + 56));
      if (/turbofan$/.test(name)) ranges.push([Number(b.readBigUInt64LE(off + 32)), Number(b.readBigUInt64LE(off + 32)) + Number(b.readBigUInt64LE(off + 40)), name]);
    }
    off += size;
  }
  return ranges;
}

/** Instructions per pair of each loop: the instructions callgrind counted at addresses inside the loop's
 * own TurboFan code (the pair is inlined there; calls out of it — a slow path — are left out), divided by
 * the pairs it ran (the warm call's 1000 included). Exact: start-up and the engine do not enter. */
function countLoops(file, n) {
  const cwd = mkdtempSync(join(tmpdir(), "profile-pair-"));
  const out = join(cwd, "callgrind.out");
  const r = spawnSync("valgrind", ["--tool=callgrind", "--dump-instr=yes", `--callgrind-out-file=${out}`,
    process.execPath, "--no-liftoff", "--single-threaded", "--perf-prof", fileURLToPath(import.meta.url), "--child",
    LOOPS.map(() => n).join(","), "--flags", values.flags, "--size", values.size, file], { cwd, encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`callgrind ${file}: ${r.stderr.slice(-2000)}`);
  const dump = readdirSync(cwd).find((f) => f.startsWith("jit-") && f.endsWith(".dump"));
  if (!dump) throw new Error("profile-pair: V8 wrote no jitdump (--perf-prof)");
  const idx = exportIndices(readFileSync(file));
  const ranges = readJitdump(join(cwd, dump));
  const want = LOOPS.map((l) => {
    const k = idx[EXPORTS[l]];
    const hit = ranges.filter(([, , name]) => new RegExp(`-${k}-turbofan$`).test(name));
    if (hit.length !== 1) throw new Error(`profile-pair: ${EXPORTS[l]} (function ${k}): ${hit.length} TurboFan ranges`);
    return hit[0];
  });
  const count = LOOPS.map(() => 0);
  let last = 0, skip = false;
  const pos = (t, base) => (t === "*" ? base : t[0] === "+" ? base + parseInt(t.slice(1), 16) : t[0] === "-" ? base - parseInt(t.slice(1), 16) : parseInt(t, 16));
  for (const line of readFileSync(out, "utf8").split("\n")) {
    if (line.startsWith("calls=")) { skip = true; continue; }       // the next line is a call's inclusive cost
    const c = line.charCodeAt(0);
    if (!((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 42)) continue;
    const f = line.split(" ");
    last = pos(f[0], last);
    if (skip) { skip = false; continue; }
    const k = want.findIndex(([lo, hi]) => last >= lo && last < hi);
    if (k >= 0) count[k] += Number(f[f.length - 1]);
  }
  rmSync(cwd, { recursive: true, force: true });
  return Object.fromEntries(LOOPS.map((l, i) => [l, count[i] / (n + 1000)]));
}
if (values.child) {
  // counted process: each loop warmed (TurboFan compiles it), then run its count of pairs ("n,n,n")
  const counts = values.child.split(",").map(Number);
  const b = await setUp(files[0]);
  LOOPS.forEach((l) => b.loops[l](1000));
  LOOPS.forEach((l, i) => b.loops[l](counts[i]));
} else if (values.count) {
  const N = 300_000;
  const rows = [];
  for (const file of files) {
    const per = countLoops(file, N);
    rows.push([file, fmt(per.toy), fmt(per.pair), fmt(per.pair / per.toy) + "×", per.kmalloc > 5 ? fmt(per.kmalloc) : "— (build without BENCH_KMALLOC)"]);
  }
  console.log(`x86 instructions per pair inside each loop's own code (callgrind + V8 jitdump, ${N} pairs), cache flags ${values.flags}, malloc(${size})`);
  table(["build", "toy", "cache pair", "pair ÷ toy", `malloc(${size})+free`], rows);
} else {
  const builds = [];
  for (const file of files) builds.push(await setUp(file));
  for (let r = 0; r < WARM + Number(values.rounds); r++) {
    for (const b of builds) {
      let t0 = performance.now();
      b.loops.toy(N);
      const floor = ((performance.now() - t0) * 1e6) / N;
      t0 = performance.now();
      b.loops.pair(N);
      const pair = ((performance.now() - t0) * 1e6) / N;
      if (r >= WARM) { b.pair.push(pair); b.floor.push(floor); b.ratio.push(pair / floor); }
    }
  }
  console.log(`alloc+free pair inside Wasm vs the toy LIFO, 64-byte objects, flags ${values.flags}; median of ${values.rounds} rounds`);
  table(["build", "pair ns", "toy ns", "pair ÷ toy"], builds.map((b) => [b.file, fmt(median(b.pair)), fmt(median(b.floor)), fmt(median(b.ratio)) + "×"]));
}
