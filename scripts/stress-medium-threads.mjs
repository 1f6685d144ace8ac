#!/usr/bin/env node
// stress-medium-threads.mjs — a stress tool (not a test: `npm test` does not run it) for the medium heap
// (assembly/medium.ts) of a shared heap under Workers: many rounds, each a fresh shared heap with its own
// seed, Workers (scripts/stress-medium-worker.mjs) doing malloc / free / realloc (grow and shrink, in
// place and moved) / usableSize of medium blocks (and some small, page-tight and large ones), frees of
// blocks other Workers allocated while everyone keeps allocating, and memory pressure (a small maxBytes:
// out of memory, pressure reclaim, regions given back and trimmed). validate() runs at every quiescent
// point (every Worker parked between phases), with a check that no two live blocks overlap.
//
// Usage (after `npm run build`: it loads dist/, the threaded builds in it):
//   node scripts/stress-medium-threads.mjs [--minutes M | --rounds N] [--seed S] [--build release|debug|both]
//        [--workers W] [--nodes K] [--cpus-per-node C] [--phases P] [--ops O] [--out DIR] [--max-failures F]
// Defaults: 3 minutes, seed = the time, both builds alternating (debug: lock-order assertions), 4 Workers
// on 2 nodes of 2 CPUs (each Worker claims a free CPU), 4 phases per round, failures saved under
// /tmp/stress-medium.
// Each round's configuration comes from its seed (round seed = S + round): maxBytes (6, 10, 16, 48 or 256
// MiB: the small ones run out of memory, with pressure reclaim), the bytes each Worker tries to hold,
// operations per phase (1000 to 10000, unless --ops), whether medium blocks reach 256 KiB, whether large
// blocks (> 256 KiB) are asked for, and "plain" rounds (the unit test's mix: 4-64 KiB and small blocks,
// malloc and free only).
// Replay one round: --seed <its round seed> --rounds 1 --build <its build> (same W, K, P, O). Thread
// interleavings differ from run to run: a race shows up as a rate, not at a seed.
//
// On a failure (validate problems, overlapping blocks, a payload mismatch, a Worker's trap, a phase that
// hangs) it writes DIR/fail-<seed>-<build>.json: the seed, configuration, phase, validate report (problem
// kinds, addresses), each Worker's stats and last operations, and DIR/fail-<seed>-<build>.bin: the heap's
// memory at that point (a post-mortem walks it with assembly/layout.ts's offsets from `heapAddr`: node
// headers at H_NODES, each N_MEDIUM → the control block → MC_REGIONS → region descriptors). The exit code
// is 1 when any round failed. Run it in bursts on a shared machine: it keeps W + 1 threads busy.
//
// Found with it (2026-11-30): mediumAddRegion's region race — two threads on a node miss at once, or one
// frees a fitting block while the other takes pages; the second region added stayed wholly free
// (validate: V_MEDIUM, code 112). 2 failing rounds of 216 before the fix (default options, 4 minutes);
// after it, 0 of 542 (2 × 2, 1 × 4 and 4 × 1 nodes × CPUs; 18.5 M mallocs, 5.5 M reallocs, 2.9 M frees
// from another Worker, 2598 validates). Test: test/medium-threads.test.ts.
//
// Owns: nothing of the library; the main side of the Worker protocol (stress-medium-worker.mjs header).
import { createAllocator } from "../dist/index.js";
import { Worker } from "node:worker_threads";
import { mkdirSync, writeFileSync } from "node:fs";
import { rng } from "../cli/lib/workload.mjs";

const args = process.argv.slice(2);
function opt(name, dflt) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
}
const minutes = Number(opt("minutes", args.includes("--rounds") ? "1e9" : "3"));
const maxRounds = Number(opt("rounds", "1e9"));
const baseSeed = Number(opt("seed", String(Date.now() % 1e9)));
const buildOpt = opt("build", "both");
const nworkers = Number(opt("workers", "4"));
const nodes = Number(opt("nodes", "2"));
const cpusPerNode = Number(opt("cpus-per-node", "2"));
const phases = Number(opt("phases", "4"));
const opsOpt = opt("ops", "");
const outDir = opt("out", "/tmp/stress-medium");
const maxFailures = Number(opt("max-failures", "5"));
const PHASE_TIMEOUT_MS = 120_000;
const RING = 64;

const builds = buildOpt === "both" ? ["release", "debug"] : [buildOpt];
if (!builds.every((b) => b === "release" || b === "debug")) throw new Error(`--build ${buildOpt}: release, debug or both`);
if (nworkers > nodes * cpusPerNode) throw new Error(`--workers ${nworkers}: at most --cpus-per-node (${cpusPerNode}) per node`);

let pool = [];
function spawn() {
  pool = Array.from({ length: nworkers }, () => new Worker(new URL("./stress-medium-worker.mjs", import.meta.url)));
}
async function killPool() {
  await Promise.all(pool.map((w) => w.terminate()));
  pool = [];
}
// Send msgs[i] to Worker i and wait for every answer (or a timeout: a hang is a failure too).
function all(msgs) {
  return Promise.all(pool.map((w, i) => new Promise((ok, ko) => {
    const t = setTimeout(() => ko(new Error(`worker ${i}: no answer to ${msgs[i].cmd} in ${PHASE_TIMEOUT_MS} ms`)), PHASE_TIMEOUT_MS);
    const onMsg = (m) => { clearTimeout(t); w.off("error", onErr); ok(m); };
    const onErr = (e) => { clearTimeout(t); w.off("message", onMsg); ko(e); };
    w.once("message", onMsg);
    w.once("error", onErr);
    w.postMessage(msgs[i]);
  })));
}

// The blocks still in the rings (sent, not yet freed by their receiver): live blocks too.
function inFlight(ring) {
  const out = [];
  for (let from = 0; from < nworkers; from++) for (let to = 0; to < nworkers; to++) {
    const b = (from * nworkers + to) * (3 * RING + 2);
    for (let t = Atomics.load(ring, b + 1); t < Atomics.load(ring, b); t++) {
      const s = b + 2 + 3 * (t % RING);
      out.push([ring[s], ring[s + 1], ring[s + 2]]);
    }
  }
  return out;
}
function overlaps(blocks) {
  const spans = blocks.map(([p, s]) => [p, p + s]).sort((a, b) => a[0] - b[0]);
  const bad = [];
  for (let i = 1; i < spans.length; i++) if (spans[i][0] < spans[i - 1][1]) bad.push([spans[i - 1], spans[i]]);
  return bad;
}

const totals = { rounds: 0, phases: 0, validates: 0, mallocs: 0, frees: 0, remoteFrees: 0, reallocs: 0, inPlace: 0, oom: 0, failures: 0 };
const started = Date.now();
mkdirSync(outDir, { recursive: true });
spawn();

for (let round = 0; round < maxRounds && Date.now() - started < minutes * 60_000 && totals.failures < maxFailures; round++) {
  const seed = baseSeed + round;
  const build = builds[round % builds.length];
  const r = rng(seed * 7 + 1);
  const maxMiB = [6, 10, 16, 48, 256][Math.floor(r() * 5)];
  const budgetMiB = Math.min(maxMiB, 48) * (0.5 + r() * 0.7);
  const cfg = { maxMiB, bigMedium: r() < 0.5, large: r() < 0.3, plain: r() < 0.25, budget: Math.floor((budgetMiB << 20) / nworkers) };
  const phaseOps = opsOpt ? Number(opsOpt) : [1000, 3000, 3000, 10000][Math.floor(r() * 4)];
  const heap = await createAllocator({ shared: true, nodes, cpusPerNode, maxBytes: maxMiB << 20, reap: false, onOutOfMemory: "null", debugBuild: build === "debug" });
  heap.releaseCpu();
  const ringBuf = new SharedArrayBuffer(nworkers * nworkers * (3 * RING + 2) * 4);
  const ring = new Int32Array(ringBuf);
  let phase = "attach";
  let answers = [];
  const failure = (why, extra = {}) => {
    totals.failures++;
    const name = `${outDir}/fail-${seed}-${build}`;
    const report = { why, seed, build, round, phase, cfg, nworkers, nodes, cpusPerNode, phases, phaseOps, heapAddr: heap.handle().heap, ...extra,
      workers: answers.map((a) => a && { id: a.id, stats: a.stats, trail: a.trail, error: a.error, stack: a.stack }) };
    writeFileSync(`${name}.json`, JSON.stringify(report, null, 1));
    try { writeFileSync(`${name}.bin`, new Uint8Array(heap.memory.buffer.slice(0))); } catch { /* memory gone */ }
    console.log(`FAIL seed ${seed} ${build} phase ${phase}: ${why} → ${name}.json`);
  };
  try {
    const handle = heap.handle();
    answers = await all(pool.map((_, i) => ({ cmd: "attach", handle, seed: seed * 131 + i, id: i, nworkers, rings: ringBuf, ringSize: RING, cfg })));
    let ok = true;
    for (let ph = 0; ph < phases && ok; ph++) {
      phase = `run ${ph}`;
      answers = await all(pool.map(() => ({ cmd: "run", ops: phaseOps })));
      totals.phases++;
      const errs = answers.flatMap((a) => a.error ? [`worker ${a.id}: ${a.error}`] : a.stats.errors);
      if (errs.length) { failure("worker errors", { errors: errs }); ok = false; break; }
      const live = answers.flatMap((a) => a.held).concat(inFlight(ring));
      const bad = overlaps(live);
      const v = heap.validate();
      totals.validates++;
      if (!v.ok || bad.length) { failure(!v.ok ? "validate" : "overlapping blocks", { validate: v, overlaps: bad.slice(0, 20), live: live.length }); ok = false; }
    }
    if (ok) {
      phase = "drain own";
      answers = await all(pool.map(() => ({ cmd: "drainOwn" })));
      phase = "drain inbox";
      answers = await all(pool.map(() => ({ cmd: "drainInbox" })));
      const errs = answers.flatMap((a) => a.error ? [`worker ${a.id}: ${a.error}`] : a.stats.errors);
      const v = heap.validate();
      totals.validates++;
      if (errs.length || !v.ok) failure(errs.length ? "worker errors" : "validate (all freed)", { errors: errs, validate: v });
    }
    for (const a of answers) for (const k of ["mallocs", "frees", "remoteFrees", "reallocs", "inPlace", "oom"]) totals[k] += a.stats?.[k] ?? 0;
  } catch (e) {
    failure(`harness: ${e?.message ?? e}`, { stack: e?.stack });
    await killPool();                                   // a hung or dead Worker: start a fresh pool
    spawn();
  }
  totals.rounds++;
  if (totals.rounds % 10 === 0) console.log(`${totals.rounds} rounds, ${Math.round((Date.now() - started) / 1000)} s: ${JSON.stringify(totals)}`);
}
await killPool();
console.log(`done: seeds ${baseSeed}..${baseSeed + totals.rounds - 1}, builds ${builds.join("+")}, ${nworkers} Workers on ${nodes} nodes × ${cpusPerNode} CPUs, ${phases} phases of ${opsOpt || "1000-10000"} ops per Worker per round, ${Math.round((Date.now() - started) / 1000)} s`);
console.log(JSON.stringify(totals));
process.exit(totals.failures ? 1 : 0);
