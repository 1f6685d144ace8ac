// cli/lib/workload.mjs — workloads that run step by step on a heap, so a live view can refresh between
// steps: a malloc-lab trace, or a synthetic producer/consumer across simulated CPUs and nodes.
// Runs in Node and in the browser (no imports; a trace comes in parsed, from parseTrace()).
//
// Owns: TraceWorkload, SyntheticWorkload, the synthetic workload's caches, and rng(seed) (the seeded
// generator; bench/reclaim.mjs uses it too).
// Entry points: new TraceWorkload(heap, trace, { loop }), new SyntheticWorkload(heap, { seed }); both have
// step(n) → operations done (0 once a non-looping trace has ended), `ops` (done so far), `done`,
// `describe()`. Called by: cli/top.mjs, cli/slabinfo.mjs, dashboard/app.js.
// Invariant: every pointer a workload holds is live in the heap; release() frees all of them.

const OP_ALLOC = 0;
const OP_FREE = 1;

/** A malloc-lab trace replayed through heap.malloc / free / realloc, a few operations per step. */
export class TraceWorkload {
  constructor(heap, trace, { loop = false } = {}) {
    this.heap = heap;
    this.trace = trace;
    this.loop = loop;
    this.ops = 0;
    this.passes = 0;
    this.done = false;
    this.k = 0;
    this.live = new Map(); // id → pointer
  }
  describe() {
    return `trace ${this.trace.name}: ${this.trace.count} operations${this.loop ? ", looping" : ""}`;
  }
  step(n) {
    const { heap, trace } = this;
    const ops = trace.ops;
    let done = 0;
    while (done < n && !this.done) {
      if (this.k >= ops.length) {
        this.passes++;
        if (!this.loop) {
          this.done = true;
          break;
        }
        this.release();
        this.k = 0;
      }
      const op = ops[this.k];
      const id = ops[this.k + 1];
      const size = ops[this.k + 2];
      this.k += 3;
      const p = this.live.get(id) ?? 0;
      if (op === OP_ALLOC) this.live.set(id, heap.malloc(size));
      else if (op === OP_FREE) {
        heap.free(p);
        this.live.delete(id);
      } else {
        const q = heap.realloc(p, size);
        if (size === 0) this.live.delete(id);
        else this.live.set(id, q);
      }
      done++;
    }
    this.ops += done;
    return done;
  }
  /** Free every block the trace holds. */
  release() {
    for (const p of this.live.values()) this.heap.free(p);
    this.live.clear();
  }
}

/** mulberry32: a small seeded generator, so two runs with one seed are the same sequence. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The synthetic workload's object caches: [name, size, share of the messages]. */
export const SYNTHETIC_CACHES = [
  ["msg-64", 64, 0.5],
  ["task-256", 256, 0.3],
  ["buf-2048", 2048, 0.15],
];

/**
 * Producers and consumers across the heap's simulated CPUs: CPU c produces for CPU (c + cpus/2 + 1) mod
 * cpus, so with two nodes most messages are freed on the other node (alien arrays, remote frees). Each
 * step picks a CPU, pins it, and either produces (allocates a message from one of the caches, or a
 * kmalloc buffer for 1 in 20) or consumes the oldest message addressed to it (frees it). The target queue
 * depth swings slowly between 0 and `depth`, so slabs fill up and empty out again: the slab map moves, and
 * reap and shrink have empty slabs to give back.
 */
export class SyntheticWorkload {
  constructor(heap, { seed = 1, depth = 3000, period = 200_000 } = {}) {
    this.heap = heap;
    this.rand = rng(seed);
    this.depth = depth;
    this.period = period;
    this.ops = 0;
    this.done = false;
    this.caches = SYNTHETIC_CACHES.map(([name, size, share]) => ({ cache: heap.createCache(name, { size }), share }));
    this.queues = Array.from({ length: heap.cpus }, () => []); // messages addressed to each CPU: [kind, ptr]
    this.queued = 0;
  }
  describe() {
    return `synthetic producer/consumer: ${this.heap.cpus} CPUs on ${this.heap.nodes} node${this.heap.nodes > 1 ? "s" : ""}, caches ${SYNTHETIC_CACHES.map((c) => c[0]).join(", ")} + kmalloc`;
  }
  target() {
    return (this.depth * (1 - Math.cos((2 * Math.PI * this.ops) / this.period))) / 2;
  }
  step(n) {
    const { heap, queues } = this;
    const cpus = heap.cpus;
    for (let i = 0; i < n; i++) {
      const cpu = Math.floor(this.rand() * cpus);
      heap.pin(cpu);
      const produce = this.queued < this.target() ? this.rand() < 0.7 : this.rand() < 0.3;
      if (produce) {
        const to = (cpu + (cpus >> 1) + 1) % cpus;
        let r = this.rand();
        let msg = null;
        for (const [k, c] of this.caches.entries()) {
          if ((r -= c.share) < 0) {
            msg = [k, c.cache.alloc()];
            break;
          }
        }
        msg ??= [-1, heap.malloc(16 + Math.floor(this.rand() * 3000))];
        queues[to].push(msg);
        this.queued++;
      } else if (queues[cpu].length) {
        const [k, p] = queues[cpu].shift();
        if (k < 0) heap.free(p);
        else this.caches[k].cache.free(p);
        this.queued--;
      }
      this.ops++;
    }
    return n;
  }
  /** Free every message still queued. */
  release() {
    for (const q of this.queues) {
      for (const [k, p] of q) {
        if (k < 0) this.heap.free(p);
        else this.caches[k].cache.free(p);
      }
      q.length = 0;
    }
    this.queued = 0;
  }
}
