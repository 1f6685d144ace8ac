// stress-medium-worker.mjs — one Worker of scripts/stress-medium-threads.mjs (a tool, not a test): malloc,
// free, realloc (grow and shrink, in place and moved) and usableSize of medium blocks (and some small,
// page-tight and large ones) on a shared heap, and frees of blocks another Worker allocated, sent through
// single-producer rings while both keep allocating (frees across threads and nodes, concurrent with the
// owner node's own allocations, region growth and trims).
//
// Owns: the Worker's side of the protocol below; nothing shared beyond its own ring slots.
// Every payload byte access goes through heap.u8 (the bindings refresh a view that lags another Worker's
// grow). A block is filled with its tag on malloc / realloc; the first 16 bytes (a free block's links),
// every 61st byte and the last are checked before it is freed, reallocated or sent.
//
// Protocol (messages from the main script; every answer carries `stats` and the last ops in `trail`):
//   { cmd: "attach", handle, seed, id, nworkers, rings, ringSize, cfg } → attach (claims a CPU) → "attached"
//   { cmd: "run", ops, phase } → `ops` operations, then stop sending → { held } (the quiescent point:
//       the main script validates while every Worker waits for the next message)
//   { cmd: "drainOwn" } → free every held block → "freed"
//   { cmd: "drainInbox" } → free what is still in the inbound rings (no sender is left), release the CPU
//       → "released"
// A trap (RuntimeError: a debug build's assertion, a lock timeout) is posted as { error, stack } instead.
import { attachAllocator } from "../dist/index.js";
import { rng } from "../cli/lib/workload.mjs";
import { parentPort } from "node:worker_threads";

let heap = null;
let random = Math.random;
const rand = (n) => Math.floor(random() * n);
let id = 0;
let nworkers = 1;
let ring = null;           // Int32Array over every ring: ring (from, to) at ((from × n) + to) × (3 × size + 2)
let ringSize = 0;
let cfg = {};
let held = [];             // [p, size, tag]
let stats = null;
const trail = [];          // the last TRAIL operations, for a failure report
const TRAIL = 64;

function note(op) {
  if (trail.length >= TRAIL) trail.shift();
  trail.push(op);
}
function fail(msg) {
  if (stats.errors.length < 20) stats.errors.push(`worker ${id}: ${msg}`);
}

function u8(end) {
  const v = heap.u8;
  if (v.length < end) fail(`heap.u8 (${v.length} B) does not reach ${end}`);
  return v;
}
function fill(p, size, tag) {
  u8(p + size).fill(tag, p, p + size);
}
function check(p, size, tag, what) {
  const m = u8(p + size);
  for (let i = 0; i < size; i = i < 16 ? i + 1 : i + 61) {
    if (m[p + i] !== tag) { fail(`${what}: block ${p} (${size} B): byte ${i} is ${m[p + i]}, not ${tag}`); return false; }
  }
  if (m[p + size - 1] !== tag) { fail(`${what}: block ${p} (${size} B): byte ${size - 1} is ${m[p + size - 1]}, not ${tag}`); return false; }
  return true;
}

// A request size: mostly medium (4 KiB .. 256 KiB), some small (class objects), some page-tight (a page
// multiple less a few bytes: the exact-page-run rule before a node's medium heap exists, and blocks that
// end at a region's end), some large (page runs past 256 KiB).
function pickSize() {
  if (cfg.plain) return rand(10) === 0 ? 16 + rand(2000) : 4097 + rand(60_000);  // the unit test's mix
  const r = rand(100);
  if (r < 8) return 1 + rand(2048);
  if (r < 12) return 2049 + rand(2048);
  if (r < 52) return 4097 + rand(12288);
  if (r < 72) return 16385 + rand(49152);
  if (r < 79) return 65537 + rand(cfg.bigMedium ? 196608 : 65536);
  if (r < 93) return (2 + rand(15)) * 4096 - rand(24);
  if (r < 97) return 4096 + 8 * rand(4);                         // just past a class: header-tight
  return 262145 + rand(cfg.large ? 786432 : 4096);
}

function heldBytes() {
  let s = 0;
  for (const h of held) s += h[1];
  return s;
}

function takeHeld(k) {
  const h = held[k];
  held[k] = held[held.length - 1];
  held.pop();
  return h;
}

// ---- the rings: SPSC, one per (from, to); slots of [p, size, tag]; head (written by from), tail (by to)
function ringBase(from, to) { return (from * nworkers + to) * (3 * ringSize + 2); }
function send(h) {
  const to = (id + 1 + rand(nworkers - 1)) % nworkers;
  const b = ringBase(id, to);
  const head = Atomics.load(ring, b);
  const tail = Atomics.load(ring, b + 1);
  if (head - tail >= ringSize) return false;                      // full: keep it
  const s = b + 2 + 3 * (head % ringSize);
  ring[s] = h[0]; ring[s + 1] = h[1]; ring[s + 2] = h[2];
  Atomics.store(ring, b, head + 1);
  return true;
}
function drainInbox(max) {
  let n = 0;
  for (let from = 0; from < nworkers; from++) {
    if (from === id) continue;
    const b = ringBase(from, id);
    let tail = Atomics.load(ring, b + 1);
    const head = Atomics.load(ring, b);
    while (tail < head && n < max) {
      const s = b + 2 + 3 * (tail % ringSize);
      const p = ring[s], size = ring[s + 1], tag = ring[s + 2];
      check(p, size, tag, `remote free from worker ${from}`);
      note(["rfree", p, size]);
      heap.free(p);
      stats.frees++;
      stats.remoteFrees++;
      tail++;
      n++;
    }
    Atomics.store(ring, b + 1, tail);
  }
  return n;
}

function doMalloc() {
  const size = pickSize();
  const p = heap.malloc(size);
  note(["malloc", size, p]);
  if (p === 0) { stats.oom++; relieve(); return; }
  if (p % 8 !== 0) fail(`malloc(${size}) = ${p}: not aligned`);
  const tag = 1 + rand(250);
  fill(p, size, tag);
  held.push([p, size, tag]);
  stats.mallocs++;
}

// Out of memory: free a quarter of what this Worker holds (pressure reclaim ran already in the Wasm).
function relieve() {
  for (let k = held.length >> 2; k > 0 && held.length > 0; k--) {
    const [p, size, tag] = takeHeld(rand(held.length));
    check(p, size, tag, "free (oom relief)");
    note(["free", p, size]);
    heap.free(p);
    stats.frees++;
  }
}

function doFree() {
  const [p, size, tag] = takeHeld(rand(held.length));
  check(p, size, tag, "free");
  note(["free", p, size]);
  heap.free(p);
  stats.frees++;
}

// realloc: small growth (in place into the next free block or the region's pages), growth past 32 KiB
// (moved to a page run), shrink (a split in place), shrink below 4 KiB (moved to a class), or an
// unrelated new size.
function doRealloc() {
  const k = rand(held.length);
  const [p, size, tag] = held[k];
  const r = rand(100);
  let n;
  if (r < 35) n = size + 16 + rand(4096);
  else if (r < 50) n = size + rand(size + 1) + 1;
  else if (r < 75) n = Math.max(1, size - rand(size));
  else if (r < 85) n = 1 + rand(4096);
  else n = pickSize();
  if (!check(p, size, tag, "realloc (before)")) return;
  const q = heap.realloc(p, n);
  note(["realloc", p, size, n, q]);
  if (q === 0) {                                                  // out of memory: p still holds size
    stats.oom++;
    check(p, size, tag, "realloc failed (p kept)");
    relieve();
    return;
  }
  stats.reallocs++;
  if (q === p) stats.inPlace++;
  const keep = Math.min(size, n);
  check(q, keep, tag, `realloc ${p} (${size} B) → ${q} (${n} B): kept bytes`);
  const tag2 = 1 + rand(250);
  fill(q, n, tag2);
  held[k] = [q, n, tag2];
}

function doUsable() {
  const [p, size] = held[rand(held.length)];
  const u = heap.usableSize(p);
  if (u < size) fail(`usableSize(${p}) = ${u} < ${size}`);
}

function doSend() {
  const k = rand(held.length);
  const h = held[k];
  if (!check(h[0], h[1], h[2], "send")) return;
  if (send(h)) { takeHeld(k); stats.sent++; note(["send", h[0], h[1]]); }
}

function run(ops) {
  const budget = cfg.budget;                                      // bytes this Worker tries to stay under
  for (let i = 0; i < ops; i++) {
    if ((i & 7) === 0) drainInbox(8);
    const r = rand(100);
    const over = held.length > 0 && (held.length > 400 || (i & 15) === 0 && heldBytes() > budget);
    if (held.length === 0 || (!over && r < (cfg.plain ? 55 : 42))) doMalloc();
    else if (r < 68 || over || cfg.plain && r < 93) doFree();
    else if (r < 86) doRealloc();
    else if (r < 95) doSend();
    else doUsable();
  }
  drainInbox(1 << 30);
}

function answer(msg) {
  parentPort.postMessage({ ...msg, id, stats, trail: trail.slice() });
}

parentPort.on("message", async (msg) => {
  try {
    if (msg.cmd === "attach") {
      ({ id, nworkers, ringSize, cfg } = msg);
      ring = new Int32Array(msg.rings);
      random = rng(msg.seed);
      held = [];
      trail.length = 0;
      stats = { mallocs: 0, frees: 0, remoteFrees: 0, reallocs: 0, inPlace: 0, sent: 0, oom: 0, errors: [] };
      heap = await attachAllocator(msg.handle);
      answer({ done: "attached" });
    } else if (msg.cmd === "run") {
      run(msg.ops);
      answer({ done: "run", held });
    } else if (msg.cmd === "drainOwn") {
      while (held.length) doFree();
      answer({ done: "freed" });
    } else if (msg.cmd === "drainInbox") {
      drainInbox(1 << 30);
      heap.releaseCpu();
      heap = null;
      answer({ done: "released" });
    }
  } catch (e) {
    answer({ done: "error", error: String(e), stack: e?.stack });
  }
});
