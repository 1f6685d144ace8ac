#!/usr/bin/env node
// inuse.mjs — the fast-path cost of double-free hardening (issue 4, item 3):
//   base    the allocator at a baseline git revision (default: 6b59b9e, main just before the hardening
//           landed), compiled here from that revision's assembly/
//   cur     this tree, a cache without the in-use bit: the default hardening, the free key (harden.ts,
//           inuse.ts: cleared on alloc, checked and written on free)
//   inuse   this tree, a cache with the per-object in-use bit (CacheFlags.INUSE / inUseBits: true)
// The pair from JS goes through the raw exports, so it also pays the ABI's cache handle check.
// Workloads (64-byte objects, default array capacity): an alloc+free pair inside Wasm (bench_pairs),
// bursts of 32 allocs then 32 frees inside Wasm (bench_bursts), and the pair called from JS through the
// raw exports. Figures: ns per alloc+free pair, median of RUNS runs, and the ratio to `base`.
//
// Every sample runs in a fresh Node process, the three configurations interleaved run by run: in one
// process, V8 calls into the first instantiated module about twice as fast from JS as into later ones,
// which would swamp the difference being measured.
//
// Usage: npm run build && node bench/inuse.mjs [--base <git-rev>] [--runs N] [--json]
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fmt, median, progress, table, writeSection } from "./harness.mjs";

const self = fileURLToPath(import.meta.url);
const root = join(dirname(self), "..");
const { values } = parseArgs({
  options: {
    base: { type: "string" },
    runs: { type: "string", default: "9" },
    json: { type: "boolean", default: false },
    child: { type: "string" }, // internal: "<wasm path>,<flags>"
  },
});
const F_INUSE = 1 << 8;
const WORKLOADS = ["pair inside Wasm", "bursts of 32 inside Wasm", "pair from JS (raw ABI)"];

if (values.child) {
  // One sample of every workload for one configuration.
  const [path, flags] = values.child.split(",");
  const memory = new WebAssembly.Memory({ initial: 1 });
  const { instance } = await WebAssembly.instantiate(readFileSync(path), { env: { memory, hook: () => 0 } });
  const x = instance.exports;
  if (x.slab_init(x.data_end(), 1, 1, 0) !== 0) throw new Error("init failed");
  const cache = x.cache_create(64, 8, Number(flags), 0xffffffff);
  const scratch = x.cache_alloc(x.cache_create(4096, 8, 0, 0));
  if (!cache || !scratch) throw new Error("setup failed");
  const M = 10_000_000;
  const N = 2_000_000;
  const jsPairs = (n) => {
    for (let i = 0; i < n; i++) x.cache_free(cache, x.cache_alloc(cache));
  };
  const runs = {
    "pair inside Wasm": [M, (n) => x.bench_pairs(cache, n)],
    "bursts of 32 inside Wasm": [M, (n) => x.bench_bursts(cache, n, 32, scratch)],
    "pair from JS (raw ABI)": [N, jsPairs],
  };
  const out = {};
  for (const w of WORKLOADS) {
    const [ops, fn] = runs[w];
    for (let k = 0; k < 3; k++) fn(ops >> 2); // warm-up; then let background tier-up finish
    await new Promise((r) => setTimeout(r, 50));
    const t0 = process.hrtime.bigint();
    fn(ops);
    out[w] = Number(process.hrtime.bigint() - t0) / ops;
  }
  console.log(JSON.stringify(out));
  process.exit(0);
}

const runs = Number(values.runs);
const git = (...a) => execFileSync("git", a, { cwd: root, maxBuffer: 1 << 28 });
const baseRev = values.base ?? "6b59b9e0edfa"; // main before the hardening (issue 4)
const tmp = mkdtempSync(join(tmpdir(), "wasm-slab-bench-"));
try {
  // The baseline: that revision's assembly/ compiled with this tree's asconfig (release target).
  const dir = join(tmp, "base");
  mkdirSync(dir);
  execFileSync("tar", ["-x", "-C", dir], { input: git("archive", baseRev, "assembly") });
  const basePath = join(tmp, "base.wasm");
  execFileSync(join(root, "node_modules", ".bin", "asc"), ["assembly/index.ts", "--config", join(root, "asconfig.json"),
    "--target", "release", "--outFile", basePath, "--textFile", join(tmp, "base.wat")], { cwd: dir, stdio: "inherit" });
  const curPath = join(root, "build", "release.wasm");
  const cfg = { base: `${basePath},0`, cur: `${curPath},0`, inuse: `${curPath},${F_INUSE}` };
  const samples = Object.fromEntries(Object.keys(cfg).map((k) => [k, Object.fromEntries(WORKLOADS.map((w) => [w, []]))]));
  const bar = progress("base / cur / inuse", runs);
  for (let r = 0; r < runs; r++) {
    for (const [k, arg] of Object.entries(cfg)) {
      const res = JSON.parse(execFileSync(process.execPath, [self, "--child", arg]).toString());
      for (const w of WORKLOADS) samples[k][w].push(res[w]);
    }
    bar.tick();
  }
  bar.done();
  const results = WORKLOADS.map((what) => {
    const [base, cur, inuse] = ["base", "cur", "inuse"].map((k) => median(samples[k][what]));
    return { what, base, cur, inuse, curRatio: cur / base, inuseRatio: inuse / base };
  });
  if (values.json) console.log(JSON.stringify({ baseRev, runs, results }, null, 2));
  else {
    console.log(`double-free hardening cost, median of ${runs} runs, one process per sample (Node ${process.version}); baseline ${baseRev.slice(0, 12)}`);
    table(
      ["workload (ns per alloc+free pair)", "base", "cur", "cur/base", "inuse", "inuse/base"],
      results.map((r) => [r.what, fmt(r.base), fmt(r.cur), fmt(r.curRatio), fmt(r.inuse), fmt(r.inuseRatio)]),
    );
  }
  writeSection("inuse", {
    runs,
    baseRev,
    figures: results.flatMap((r) => [
      { name: `${r.what}, always-on checks (cur)`, value: r.cur, unit: "ns/pair", baseline: `base ${baseRev.slice(0, 12)}`, baselineValue: r.base, ratio: r.curRatio, goal: 1.15, better: "lower" }, // a default may cost ≤ 15% (README)
      { name: `${r.what}, in-use bit (inuse)`, value: r.inuse, unit: "ns/pair", baseline: `base ${baseRev.slice(0, 12)}`, baselineValue: r.base, ratio: r.inuseRatio },
    ]),
  });
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
