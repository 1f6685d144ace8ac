// stress.mjs — one Worker of the threads stress test (test/threads-stress.test.ts).
//
// Owns nothing shared; uses: the shared heap (attachAllocator), a shared ownership bitmap (one bit per
// 8 bytes of memory: set on alloc, cleared on free — an object handed out twice is caught at once), and a
// ring per worker (its inbox): a worker sends some of its objects to the next worker, which frees them,
// so a large share of frees are of objects another Worker allocated. Payload words are written on alloc
// and checked on free.
//
// Protocol with the test (control words in `ctl`, Int32Array):
//   phase 1: `ops` operations (a send waits while the next inbox is full, freeing its own inbox meanwhile);
//            then ctl[DONE]++ and wait until every worker is done, draining the inbox meanwhile;
//            drain it once more (nothing is in flight any more), post the counts, wait for GO;
//   phase 2: (the test validated the quiescent heap) free everything held, release the CPU, post final.
import { attachAllocator } from "../../dist/index.js";
import { rng } from "../../cli/lib/workload.mjs";
import { parentPort, workerData } from "node:worker_threads";

const { handle, id, nworkers, ops, seed, rings, bits, ctl, ringSize, sendPct, mallocPct, poolMax, allocPct = 50 } = workerData;
const DONE = 0;
const GO = 1;
const ring = new Int32Array(rings);
const bitmap = new Int32Array(bits);
const control = new Int32Array(ctl);
const RING = ringSize + 2; // head, tail, slots

const heap = await attachAllocator(handle);
const cache = heap.cache("stress");
const random = rng(seed);                      // the project's one PRNG (cli/lib/workload.mjs, mulberry32)
const rand = (n) => Math.floor(random() * n);

let u32 = new Uint32Array(heap.memory.buffer);
function view() {
  if (u32.buffer !== heap.memory.buffer) u32 = new Uint32Array(heap.memory.buffer);
  return u32;
}

const stats = { allocs: 0, frees: 0, remoteFrees: 0, oom: 0, mallocs: 0, errors: [] };
function fail(msg) {
  if (stats.errors.length < 10) stats.errors.push(`worker ${id}: ${msg}`);
}

// Objects are tagged: bit 0 set = from malloc (free with heap.free), else from the cache.
function claim(p, tag) {
  const b = p >>> 3;
  const old = Atomics.or(bitmap, b >>> 5, 1 << (b & 31));
  if (old & (1 << (b & 31))) fail(`0x${p.toString(16)} handed out twice`);
  const v = view();
  v[p >>> 2] = p;
  v[(p >>> 2) + 1] = (id << 24) | (stats.allocs & 0xffffff);
  v[(p >>> 2) + 3] = ~p >>> 0;
  return p | tag;
}

function release(t) {
  const p = t & ~1;
  const v = view();
  if (v[p >>> 2] !== p || v[(p >>> 2) + 3] !== (~p >>> 0)) fail(`payload of 0x${p.toString(16)} changed`);
  v[p >>> 2] = 0;
  const b = p >>> 3;
  const old = Atomics.and(bitmap, b >>> 5, ~(1 << (b & 31)));
  if (!(old & (1 << (b & 31)))) fail(`0x${p.toString(16)} freed but not owned`);
  if (t & 1) heap.free(p);
  else cache.free(p);
  stats.frees++;
}

function send(t) {
  const to = ((id + 1) % nworkers) * RING;
  const h = Atomics.load(ring, to);
  const tl = Atomics.load(ring, to + 1);
  if (tl - h >= ringSize) return false;
  Atomics.store(ring, to + 2 + (tl % ringSize), t);
  Atomics.store(ring, to + 1, tl + 1);
  return true;
}

// Send t to the next worker, waiting while its inbox is full (so the share of remote frees does not
// depend on how the Workers are scheduled). While waiting, free what is in my own inbox: every waiting
// worker drains, so a cycle of full rings always moves.
function sendWaiting(t) {
  while (!send(t)) {
    const r = receive();
    if (r !== 0) {
      release(r);
      stats.remoteFrees++;
    } else Atomics.wait(control, GO, 0, 1);
  }
}

function receive() {
  const me = id * RING;
  const h = Atomics.load(ring, me);
  if (h === Atomics.load(ring, me + 1)) return 0;
  const t = Atomics.load(ring, me + 2 + (h % ringSize));
  Atomics.store(ring, me, h + 1);
  return t;
}

function alloc() {
  let p;
  let tag = 0;
  if (rand(100) < mallocPct) {
    p = heap.malloc(16 + rand(200));
    tag = 1;
  } else {
    p = cache.alloc();
  }
  if (p === 0) {
    stats.oom++;
    return 0;
  }
  stats.allocs++;
  if (tag) stats.mallocs++;
  return claim(p, tag);
}

const pool = [];
try {
  for (let i = 0; i < ops; i++) {
    const r = rand(100);
    if (r < allocPct || pool.length === 0) {
      const t = alloc();
      if (t === 0) {
        if (pool.length) release(pool.pop());
        continue;
      }
      if (rand(100) < sendPct) {
        sendWaiting(t);
        continue;
      }
      if (pool.length >= poolMax) release(pool.splice(rand(pool.length), 1)[0]);
      pool.push(t);
    } else {
      const t = receive();
      if (t !== 0) {
        release(t);
        stats.remoteFrees++;
      } else {
        const k = rand(pool.length);
        const last = pool.pop();
        if (k < pool.length) {
          release(pool[k]);
          pool[k] = last;
        } else release(last);
      }
    }
  }
  // Everyone stops producing; then whatever is left in my inbox is mine to count.
  Atomics.add(control, DONE, 1);
  // Objects another Worker sent me and I free later (in phase 2) are remote frees too. Drain while
  // waiting: a worker still running may be waiting for room in my inbox.
  const late = [];
  for (;;) {
    for (let t = receive(); t !== 0; t = receive()) late.push(t);
    const done = Atomics.load(control, DONE);
    if (done >= nworkers) break;
    Atomics.wait(control, DONE, done, 1);
  }
  for (let t = receive(); t !== 0; t = receive()) late.push(t);
  let held = 0;
  let heldMalloc = 0;
  for (const t of late) pool.push(t);
  for (const t of pool) (t & 1 ? heldMalloc++ : held++);
  parentPort.postMessage({ phase: 1, id, cpu: heap.cpu, held, heldMalloc, ...stats });
  while (Atomics.load(control, GO) === 0) Atomics.wait(control, GO, 0, 100);
  for (const t of pool) release(t);
  stats.remoteFrees += late.length;
  pool.length = 0;
  heap.releaseCpu();
  parentPort.postMessage({ phase: 2, id, ...stats });
} catch (e) {
  parentPort.postMessage({ phase: -1, id, error: String(e && e.stack ? e.stack : e), ...stats });
}
