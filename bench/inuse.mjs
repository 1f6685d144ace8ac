#!/usr/bin/env node
// bench/inuse.mjs — the fast-path cost of hardening (issue 4, item 3), measured in one process:
//   base    the allocator at a baseline git revision (default: main), before any hardening
//   cur     this tree, a cache without the in-use bit (always-on check: the top of the main array)
//   inuse   this tree, a cache with the per-object in-use bit (CacheFlags.INUSE)
// Workloads: an alloc+free pair of one object inside Wasm (bench_pairs), 32 allocs then 32 frees inside
// Wasm (bench_batch), and the pair called from JS through the exports. Each figure is the median of
// RUNS runs, in ns per pair, with its ratio to `base` measured in the same run.
//
// Usage: node bench/inuse.mjs [--base <git-rev>] [--runs N]      (needs git and the dev dependencies)
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const BASE = opt("--base", "main");
const RUNS = Number(opt("--runs", "9"));
const F_INUSE = 1 << 8;
const asc = join(root, "node_modules", ".bin", "asc");

function build(srcRoot, out) {
  execFileSync(asc, ["bench/wasm/pairs.ts", "--config", join(root, "asconfig.json"), "--target", "release",
    "--outFile", out, "--textFile", out.replace(/\.wasm$/, ".wat")], { cwd: srcRoot, stdio: "inherit" });
  return readFileSync(out);
}

const tmp = mkdtempSync(join(tmpdir(), "wasm-slab-bench-"));
try {
  // Baseline tree: the revision's assembly/ plus this bench entry.
  const baseDir = join(tmp, "base");
  mkdirSync(baseDir);
  const tar = execFileSync("git", ["archive", BASE, "assembly"], { cwd: root, maxBuffer: 1 << 28 });
  execFileSync("tar", ["-x", "-C", baseDir], { input: tar });
  mkdirSync(join(baseDir, "bench", "wasm"), { recursive: true });
  cpSync(join(root, "bench", "wasm", "pairs.ts"), join(baseDir, "bench", "wasm", "pairs.ts"));
  const baseBytes = build(baseDir, join(tmp, "base.wasm"));
  const curBytes = build(root, join(tmp, "cur.wasm"));

  async function instance(bytes, flags) {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const { instance } = await WebAssembly.instantiate(bytes, { env: { memory, hook: () => 0 } });
    const x = instance.exports;
    if (x.slab_init(x.data_end(), 1, 1, 0) !== 0) throw new Error("init");
    const cache = x.cache_create(32, 8, flags, 0xffffffff);
    const bufCache = x.cache_create(4096, 8, 0, 0);
    const buf = x.cache_alloc(bufCache);
    if (!cache || !buf) throw new Error("cache");
    return { x, cache, buf };
  }
  const configs = [
    ["base", await instance(baseBytes, 0)],
    ["cur", await instance(curBytes, 0)],
    ["inuse", await instance(curBytes, F_INUSE)],
  ];

  const N = 2_000_000;
  const workloads = {
    "pair in Wasm": ({ x, cache }) => (x.bench_pairs(cache, N), N),
    "32 allocs + 32 frees in Wasm": ({ x, cache, buf }) => (x.bench_batch(cache, N / 32, 32, buf), N),
    "pair from JS": ({ x, cache }) => {
      const a = x.cache_alloc, f = x.cache_free;
      for (let i = 0; i < N; i++) f(cache, a(cache));
      return N;
    },
  };
  const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
  console.log(`baseline ${BASE}; ${RUNS} runs of ${N} pairs each; ns per alloc+free pair (median), ratio to base`);
  for (const [wname, fn] of Object.entries(workloads)) {
    const times = Object.fromEntries(configs.map(([n]) => [n, []]));
    for (const [, c] of configs) fn(c); // warm-up
    for (let r = 0; r < RUNS; r++) {
      for (const [n, c] of configs) {   // interleaved, so drift hits every config alike
        const t0 = process.hrtime.bigint();
        const pairs = fn(c);
        times[n].push(Number(process.hrtime.bigint() - t0) / pairs);
      }
    }
    const base = median(times.base);
    const row = configs.map(([n]) => `${n} ${median(times[n]).toFixed(2)} ns (${(median(times[n]) / base).toFixed(2)}×)`);
    console.log(`${wname.padEnd(30)} ${row.join("   ")}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
