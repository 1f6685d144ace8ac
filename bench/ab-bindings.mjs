// ab-bindings.mjs — the JS-side fast paths of two builds of the bindings, in one process: Cache alloc+free
// pair, Cache bulk alloc+free (1000 per call), heap malloc+free pair.
//
// Owns: nothing shared; a standalone A/B tool (not a bench/run.mjs section: it needs a second build).
// Usage: node bench/ab-bindings.mjs <baseline dist/index.js> [candidate dist/index.js] [--runs N] [--clock cpu|wall]
//   e.g. git worktree add /tmp/base main && (cd /tmp/base && npm ci && npm run build)
//        node bench/ab-bindings.mjs /tmp/base/dist/index.js dist/index.js --runs 9
// Each figure is the median of N runs, cases interleaved round by round. A round runs its cases in order,
// which favours one position; so the cases run twice, in both orders, and the ratio candidate/baseline
// is the geometric mean of the two orders' ratios (both are printed). --clock cpu (the default) times
// with the process's CPU time (process.cpuUsage: user + system), which a machine shared by many jobs
// disturbs far less than wall time (the time this process was not scheduled is not counted);
// --clock wall uses hrtime (both: bench/harness.mjs measure).
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { fmt, measure, table } from "./harness.mjs";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: "string", default: "9" }, clock: { type: "string", default: "cpu" } } });
if (positionals.length < 1) {
  console.error("usage: node bench/ab-bindings.mjs <baseline dist/index.js> [candidate dist/index.js] [--runs N]");
  process.exit(2);
}
const url = (p) => pathToFileURL(resolve(p)).href;
const baseUrl = url(positionals[0]);
const candUrl = url(positionals[1] ?? "dist/index.js");
const base = await import(baseUrl);
const cand = await import(candUrl === baseUrl ? `${candUrl}?candidate` : candUrl); // same file: A/A control
const runs = Number(values.runs);
if (values.clock !== "cpu" && values.clock !== "wall") throw new Error(`--clock ${values.clock}: use cpu or wall`);

const timed = (cases) => measure(cases, { runs, clock: values.clock });

async function setup(m) {
  const heap = await m.createAllocator({ reap: false });
  const c = heap.createCache("bench-64", { size: 64 });
  c.free(c.alloc());
  c.freeBulk(c.allocBulk(1000));
  heap.free(heap.malloc(64));
  return { heap, c };
}
const b = await setup(base);
const n = await setup(cand);

const N = 2_000_000;
const K = 1000;
const kinds = {
  "Cache alloc+free pair": [N, (s) => (k) => { const c = s.c; for (let i = 0; i < k; i++) c.free(c.alloc()); }],
  "Cache bulk alloc+free, per object": [200 * K, (s) => (k) => { const c = s.c; for (let i = 0; i < k; i += K) c.freeBulk(c.allocBulk(K)); }],
  "heap malloc+free pair": [N / 2, (s) => (k) => { const h = s.heap; for (let i = 0; i < k; i++) h.free(h.malloc(64)); }],
};
const cases = (first, second, a, z) =>
  Object.fromEntries(Object.entries(kinds).flatMap(([k, [ops, f]]) => [[`${a} ${k}`, { ops, fn: f(first) }], [`${z} ${k}`, { ops, fn: f(second) }]]));
const r1 = timed(cases(b, n, "base", "cand"));
const r2 = timed(cases(n, b, "cand", "base"));

console.log(`bindings A/B, median of ${runs} runs per order, ${values.clock} time (Node ${process.version})`);
console.log(`baseline  ${baseUrl}\ncandidate ${candUrl}`);
table(
  ["fast path", "base ns", "cand ns", "cand/base", "orders"],
  Object.keys(kinds).map((k) => {
    const q1 = r1[`cand ${k}`] / r1[`base ${k}`];
    const q2 = r2[`cand ${k}`] / r2[`base ${k}`];
    return [k, fmt((r1[`base ${k}`] + r2[`base ${k}`]) / 2), fmt((r1[`cand ${k}`] + r2[`cand ${k}`]) / 2), fmt(Math.sqrt(q1 * q2), 3), `${fmt(q1, 3)}, ${fmt(q2, 3)}`];
  }),
);
