#!/usr/bin/env node
// inuse.mjs — the fast-path cost of double-free hardening (issue 4, item 3), measured in one process:
//   base    the allocator at a baseline git revision (default: the merge base with main), without any
//           hardening of the fast path
//   cur     this tree, a cache without the in-use bit: the always-on checks only (the free refuses the
//           object on top of the CPU's main array; an in-use flag test on alloc and free)
//   inuse   this tree, a cache with the per-object in-use bit (CacheFlags.INUSE / inUseBits: true)
// Workloads (64-byte objects, default array capacity): an alloc+free pair inside Wasm (bench_pairs),
// bursts of 32 allocs then 32 frees inside Wasm (bench_bursts), and the pair called from JS through the
// raw exports. Each figure is the median of RUNS interleaved runs, in ns per alloc+free pair, with its
// ratio to `base` from the same run.
//
// Usage: npm run build && node bench/inuse.mjs [--base <git-rev>] [--runs N] [--json]
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fmt, measure, table } from "./harness.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: { base: { type: "string" }, runs: { type: "string", default: "9" }, json: { type: "boolean", default: false } },
});
const runs = Number(values.runs);
const git = (...a) => execFileSync("git", a, { cwd: root, maxBuffer: 1 << 28 });
const baseRev = values.base ?? git("merge-base", "HEAD", "main").toString().trim();
const F_INUSE = 1 << 8;

// The baseline: that revision's assembly/ compiled with this tree's asconfig (release target).
const tmp = mkdtempSync(join(tmpdir(), "wasm-slab-bench-"));
let baseBytes;
try {
  const dir = join(tmp, "base");
  mkdirSync(dir);
  execFileSync("tar", ["-x", "-C", dir], { input: git("archive", baseRev, "assembly") });
  const out = join(tmp, "base.wasm");
  execFileSync(join(root, "node_modules", ".bin", "asc"), ["assembly/index.ts", "--config", join(root, "asconfig.json"),
    "--target", "release", "--outFile", out, "--textFile", join(tmp, "base.wat")], { cwd: dir, stdio: "inherit" });
  baseBytes = readFileSync(out);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
const curBytes = readFileSync(join(root, "build", "release.wasm"));

async function setup(bytes, flags) {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory, hook: () => 0 } });
  const x = instance.exports;
  if (x.slab_init(x.data_end(), 1, 1, 0) !== 0) throw new Error("init failed");
  const cache = x.cache_create(64, 8, flags, 0xffffffff);
  const scratch = x.cache_alloc(x.cache_create(4096, 8, 0, 0));
  if (!cache || !scratch) throw new Error("setup failed");
  x.cache_free(cache, x.cache_alloc(cache)); // warm the arrays
  return { x, cache, scratch };
}
const cfg = { base: await setup(baseBytes, 0), cur: await setup(curBytes, 0), inuse: await setup(curBytes, F_INUSE) };

const M = 10_000_000;
const N = 2_000_000;
const workloads = {
  "pair inside Wasm": (c) => ({ ops: M, fn: (n) => c.x.bench_pairs(c.cache, n) }),
  "bursts of 32 inside Wasm": (c) => ({ ops: M, fn: (n) => c.x.bench_bursts(c.cache, n, 32, c.scratch) }),
  "pair from JS (raw ABI)": (c) => ({
    ops: N,
    fn: (n) => {
      const { x, cache } = c;
      for (let i = 0; i < n; i++) x.cache_free(cache, x.cache_alloc(cache));
    },
  }),
};
const results = [];
for (const [what, make] of Object.entries(workloads)) {
  const r = measure(Object.fromEntries(Object.entries(cfg).map(([k, c]) => [k, make(c)])), { runs });
  results.push({ what, base: r.base, cur: r.cur, inuse: r.inuse, curRatio: r.cur / r.base, inuseRatio: r.inuse / r.base });
}
if (values.json) console.log(JSON.stringify({ baseRev, runs, results }, null, 2));
else {
  console.log(`double-free hardening cost, median of ${runs} runs (Node ${process.version}); baseline ${baseRev.slice(0, 12)}`);
  table(
    ["workload (ns per alloc+free pair)", "base", "cur", "cur/base", "inuse", "inuse/base"],
    results.map((r) => [r.what, fmt(r.base), fmt(r.cur), fmt(r.curRatio), fmt(r.inuse), fmt(r.inuseRatio)]),
  );
}
