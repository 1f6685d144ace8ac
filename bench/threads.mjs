// threads.mjs — wasm-slab across Workers sharing one memory (issue 13). Not a test: figures only.
//
//   1. local alloc/free (bursts of K objects, allocated and freed by the same Worker, loop inside Wasm)
//      in 1, 2 and 4 Workers, each owning a CPU: ops/s, and 2 Workers ÷ 1 Worker        goal ≥ 1.8
//   2. the same workload on "the single-threaded allocator behind one global lock": every operation takes
//      one heap-wide lock and runs as one shared CPU (what a single-lock malloc gives a threaded Wasm
//      program); at 2 Workers, ours ÷ that                                                goal ≥ 2
//   3. a producer/consumer pair across Workers and nodes (producer on node 0 allocates, consumer on node 1
//      frees through a shared ring): lock acquisitions per 1000 remote frees, alien arrays on and off.
// Every figure is the median of --runs runs (default 5); the configurations are interleaved run by run,
// so machine noise hits them alike. This machine is shared: the absolute ops/s are context, the ratios
// are the result, and a 2-core machine shared with other jobs may not give 2 Workers two cores.
// Results: printed, and written through bench/harness.mjs writeSection (threads.json under
// $WASM_SLAB_BENCH_DIR when bench/run.mjs runs it).
//   4. (--single-vs OLD.wasm) the single-threaded build must not get slower: the fast paths of this
//      checkout's build/release.wasm against another single-threaded build (e.g. main's), in this process,
//      interleaved: an alloc+free pair from JS, a pair inside Wasm, a malloc+free pair inside Wasm.
// Usage: node bench/threads.mjs [--runs N] [--ops N] [--single-vs OLD.wasm]
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { attachAllocator, createAllocator } from "../dist/index.js";
import { fmt, measure, median, table, writeSection } from "./harness.mjs";

const K = 16;            // burst depth of the local workload
const LOCKED_CPU = 5;    // the CPU every Worker of the single-lock baseline runs as (nobody owns it)
let lastCores = 0;       // cores the process got during the last throughput() run
let lastPerCpuSecond = 0; // operations per CPU-second of the process in that run (cost per op, whatever the cores)

if (!isMainThread) {
  await workerMain(workerData);
} else {
  await main();
}

async function workerMain(d) {
  const heap = await attachAllocator(d.handle, d.cpu === undefined ? {} : { cpu: d.cpu });
  const ctl = new Int32Array(d.ctl);
  const w = heap.wasm;
  if (d.mode === "local" || d.mode === "locked") {
    const cache = heap.cache("bench");
    const scratch = heap.malloc(4 * K);
    const run = d.mode === "local"
      ? (n) => w.bench_bursts(cache.addr, n, K, scratch)
      : (n) => w.bench_locked_bursts(cache.addr, n, K, scratch, d.lockWord, LOCKED_CPU);
    run(20000); // warm: arrays filled, code tiered up
    Atomics.add(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    while (Atomics.load(ctl, 1) === 0) Atomics.wait(ctl, 1, 0);
    run(d.ops);
    const end = performance.timeOrigin + performance.now(); // absolute: the test takes the last end
    heap.free(scratch);
    heap.releaseCpu();
    parentPort.postMessage({ end });
    return;
  }
  // producer / consumer
  const cache = heap.cache("pc");
  const ring = new Int32Array(d.ring);
  const size = ring.length - 2;
  const cpu = heap.cpu;
  const before = cache.stats().perCpu[cpu];
  if (d.mode === "producer") {
    for (let i = 0; i < d.ops; i++) {
      const p = cache.alloc();
      for (;;) {
        const h = Atomics.load(ring, 0);
        const t = Atomics.load(ring, 1);
        if (t - h < size) {
          ring[2 + (t % size)] = p;
          Atomics.store(ring, 1, t + 1);
          break;
        }
        Atomics.wait(ring, 0, h, 1);
      }
    }
  } else {
    for (let i = 0; i < d.ops; i++) {
      let h;
      for (;;) {
        h = Atomics.load(ring, 0);
        if (h !== Atomics.load(ring, 1)) break;
        Atomics.wait(ring, 1, h, 1);
      }
      const p = ring[2 + (h % size)];
      Atomics.store(ring, 0, h + 1);
      Atomics.notify(ring, 0);
      cache.free(p);
    }
  }
  const after = cache.stats().perCpu[cpu];
  heap.releaseCpu();
  parentPort.postMessage({
    lockAcquire: after.lock_acquire - before.lock_acquire,
    alienFree: after.alien_free - before.alien_free,
    frees: d.mode === "consumer" ? d.ops : 0,
  });
}

function spawn(data) {
  return new Promise((resolve, reject) => {
    const wk = new Worker(new URL(import.meta.url), { workerData: data });
    wk.on("error", reject);
    wk.on("message", (m) => { resolve(m); void wk.terminate(); });
  });
}

async function throughput(mode, workers, ops) {
  const heap = await createAllocator({ shared: true, nodes: 2, cpusPerNode: 3, maxBytes: 64 << 20, reap: false });
  heap.createCache("bench", { size: 64 });
  const lockWord = heap.malloc(64);
  new Int32Array(heap.memory.buffer, lockWord, 1)[0] = 0;
  heap.releaseCpu();
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const handle = heap.handle();
  const done = Array.from({ length: workers }, (_, i) => spawn({ handle, mode, ops, lockWord, ctl: ctl.buffer, cpu: i }));
  while (Atomics.load(ctl, 0) < workers) await new Promise((r) => setTimeout(r, 1));
  const cpu0 = process.cpuUsage();
  const start = performance.timeOrigin + performance.now();
  Atomics.store(ctl, 1, 1);
  Atomics.notify(ctl, 1);
  const rs = await Promise.all(done);
  const wallMs = Math.max(...rs.map((r) => r.end)) - start; // from GO to the last Worker's end
  const cpu = process.cpuUsage(cpu0);
  // Cores this process got while the Workers ran (CPU time ÷ wall time; includes Worker start-up and
  // teardown after the last end, so it overstates a little): on a shared machine, less than `workers`.
  lastCores = (cpu.user + cpu.system) / 1e3 / wallMs;
  lastPerCpuSecond = (workers * ops) / ((cpu.user + cpu.system) / 1e6);
  return (workers * ops) / (wallMs / 1e3); // ops/s of all Workers together
}

async function producerConsumer(alienArrays, ops) {
  const heap = await createAllocator({ shared: true, nodes: 2, cpusPerNode: 2, maxBytes: 64 << 20, reap: false, alienArrays });
  heap.createCache("pc", { size: 64 });
  heap.releaseCpu();
  const handle = heap.handle();
  const ring = new SharedArrayBuffer(4 * (2 + 1024));
  const ctl = new SharedArrayBuffer(8);
  const [p, c] = await Promise.all([
    spawn({ handle, mode: "producer", ops, ring, ctl, cpu: 0 }),   // node 0
    spawn({ handle, mode: "consumer", ops, ring, ctl, cpu: 2 }),   // node 1
  ]);
  return { perK: (c.lockAcquire / c.frees) * 1000, alienShare: c.alienFree / c.frees, producerPerK: (p.lockAcquire / ops) * 1000 };
}

// A single-threaded build over its own memory, raw ABI: one cache of 64-byte objects, arrays warm.
async function rawSingle(bytes) {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory, hook: () => 0 } });
  const w = instance.exports;
  if (w.slab_init(w.data_end(), 1, 1, 0) !== 0) throw new Error("slab_init failed");
  const c = w.cache_create(64, 8, 0, 0xffffffff);
  w.cache_free(c, w.cache_alloc(c));
  w.free(w.malloc(48));
  return { w, c };
}

async function singleVs(oldFile, runs) {
  const now = await rawSingle(readFileSync(new URL("../build/release.wasm", import.meta.url)));
  const old = await rawSingle(readFileSync(oldFile));
  const N = 2_000_000;
  const M = 20_000_000;
  const cases = {};
  for (const [tag, { w, c }] of [["old", old], ["new", now]]) {
    cases[`${tag}: pair from JS`] = { ops: N, fn: (n) => { for (let i = 0; i < n; i++) w.cache_free(c, w.cache_alloc(c)); } };
    cases[`${tag}: pair in Wasm`] = { ops: M, fn: (n) => w.bench_pairs(c, n) };
    cases[`${tag}: malloc+free from JS`] = { ops: N, fn: (n) => { for (let i = 0; i < n; i++) w.free(w.malloc(48)); } };
  }
  const r = measure(cases, { runs });
  const rows = [];
  const figures = [];
  for (const what of ["pair from JS", "pair in Wasm", "malloc+free from JS"]) {
    const ratio = r[`new: ${what}`] / r[`old: ${what}`];
    rows.push([what, fmt(r[`old: ${what}`]), fmt(r[`new: ${what}`]), fmt(ratio)]);
    figures.push({ name: `single-threaded build, ${what}: this build vs ${oldFile}`, value: r[`new: ${what}`], unit: "ns/op", baseline: oldFile, baselineValue: r[`old: ${what}`], ratio });
  }
  console.log(`single-threaded build, this checkout vs ${oldFile}: median of ${runs} interleaved runs`);
  table(["fast path", "old ns/op", "new ns/op", "new/old"], rows);
  return figures;
}

async function main() {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "5" }, ops: { type: "string", default: "4000000" }, "single-vs": { type: "string" } } });
  const runs = Number(values.runs);
  const ops = Number(values.ops);
  if (values["single-vs"]) {
    const figures = await singleVs(values["single-vs"], Math.max(runs, 5));
    writeSection("threads-single", { figures });
    return;
  }
  const configs = [];
  for (const workers of [1, 2, 4]) for (const mode of ["local", "locked"]) configs.push({ mode, workers });
  const samples = new Map(configs.map((c) => [`${c.mode}/${c.workers}`, []]));
  const cores = new Map(configs.map((c) => [`${c.mode}/${c.workers}`, []]));
  const perCpuS = new Map(configs.map((c) => [`${c.mode}/${c.workers}`, []]));
  const pc = { on: [], off: [], onShare: [], prodOn: [], prodOff: [] };
  for (let r = 0; r < runs; r++) {
    for (const c of configs) {
      const o = c.mode === "locked" ? Math.round(ops / 4) : ops; // the baseline is slow: fewer ops, same rate
      samples.get(`${c.mode}/${c.workers}`).push(await throughput(c.mode, c.workers, o));
      cores.get(`${c.mode}/${c.workers}`).push(lastCores);
      perCpuS.get(`${c.mode}/${c.workers}`).push(lastPerCpuSecond);
    }
    const on = await producerConsumer(true, 200000);
    const off = await producerConsumer(false, 200000);
    pc.on.push(on.perK);
    pc.onShare.push(on.alienShare);
    pc.off.push(off.perK);
    pc.prodOn.push(on.producerPerK);
    pc.prodOff.push(off.producerPerK);
  }
  const m = (k) => median(samples.get(k));
  const ours1 = m("local/1");
  const ours2 = m("local/2");
  const ours4 = m("local/4");
  const lk1 = m("locked/1");
  const lk2 = m("locked/2");
  const lk4 = m("locked/4");
  const onK = median(pc.on);
  const offK = median(pc.off);
  const figures = [
    { name: "local alloc/free, 1 Worker", value: ours1, unit: "ops/s" },
    { name: "local alloc/free, 2 Workers", value: ours2, unit: "ops/s", baseline: "1 Worker", baselineValue: ours1, goal: 1.8, better: "higher" },
    { name: "local alloc/free, 4 Workers", value: ours4, unit: "ops/s", baseline: "1 Worker", baselineValue: ours1, better: "higher" },
    { name: "single global lock, 1 Worker", value: lk1, unit: "ops/s" },
    { name: "single global lock, 2 Workers", value: lk2, unit: "ops/s" },
    { name: "single global lock, 4 Workers", value: lk4, unit: "ops/s" },
    { name: "2 Workers: wasm-slab vs single global lock", value: ours2, unit: "ops/s", baseline: "single global lock, 2 Workers", baselineValue: lk2, goal: 2, better: "higher" },
    { name: "4 Workers: wasm-slab vs single global lock", value: ours4, unit: "ops/s", baseline: "single global lock, 4 Workers", baselineValue: lk4, better: "higher" },
    { name: "cores the process got, local: 1 / 2 / 4 Workers", value: median(cores.get("local/1")), unit: "cores", note: [1, 2, 4].map((w) => fmt(median(cores.get(`local/${w}`)))).join(" / ") },
    { name: "ops per CPU-second, local: 1 / 2 / 4 Workers", value: median(perCpuS.get("local/1")), unit: "ops/CPU-s", note: [1, 2, 4].map((w) => fmt(median(perCpuS.get(`local/${w}`)) / 1e6, 1) + "M").join(" / ") },
    { name: "ops per CPU-second, single lock: 1 / 2 / 4 Workers", value: median(perCpuS.get("locked/1")), unit: "ops/CPU-s", note: [1, 2, 4].map((w) => fmt(median(perCpuS.get(`locked/${w}`)) / 1e6, 1) + "M").join(" / ") },
    { name: "remote frees, alien arrays on: lock acquisitions per 1000", value: onK, unit: "locks/1000 frees", baseline: "alien arrays off", baselineValue: offK },
    { name: "remote frees, alien arrays off: lock acquisitions per 1000", value: offK, unit: "locks/1000 frees" },
    { name: "remote frees that went to an alien array (on)", value: median(pc.onShare), unit: "share" },
    { name: "producer refills: lock acquisitions per 1000 allocs (aliens on / off)", value: median(pc.prodOn), unit: "locks/1000 allocs", baseline: "aliens off", baselineValue: median(pc.prodOff) },
  ];
  console.log(`threads: Workers over one shared heap, median of ${runs} runs, ${ops} ops per Worker (Node ${process.version})`);
  for (const f of figures) if (f.baselineValue !== undefined) f.ratio = f.value / f.baselineValue;
  table(
    ["figure", "value", "unit", "ratio", "goal", "reached"],
    figures.map((f) => [f.name, f.note ?? fmt(f.value, f.unit === "ops/s" ? 0 : 2), f.unit, f.ratio === undefined ? "" : fmt(f.ratio), f.goal === undefined ? "" : `≥ ${f.goal}×`, f.goal === undefined ? "" : f.ratio >= f.goal ? "yes" : "not reached"]),
  );
  writeSection("threads", { runs, opsPerWorker: ops, figures });
}
