// medium.mjs — one Worker of test/medium-threads.test.ts: malloc / free of medium blocks (4 KiB ..
// 64 KiB, some small) on a shared heap, payload written on malloc and checked on free; then it hands the
// blocks it still holds to the test (which gives them to another Worker to check and free).
//
// Protocol: workerData { handle, seed, ops }; posts { phase: 1, held: [[p, size, tag]...], stats };
// receives { free: [[p, size, tag]...] }, checks and frees them, releases its CPU, posts { phase: 2, stats }.
import { attachAllocator } from "../../dist/index.js";
import { parentPort, workerData } from "node:worker_threads";

const { handle, seed, ops } = workerData;
const heap = await attachAllocator(handle);
let rng = seed >>> 0;
function rand(n) {
  rng ^= rng << 13; rng >>>= 0;
  rng ^= rng >>> 17;
  rng ^= rng << 5; rng >>>= 0;
  return rng % n;
}
let u8 = new Uint8Array(heap.memory.buffer);
function view() {
  if (u8.buffer !== heap.memory.buffer) u8 = new Uint8Array(heap.memory.buffer);
  return u8;
}
const stats = { mallocs: 0, frees: 0, oom: 0, errors: [] };
function check(p, size, tag) {
  const m = view();
  for (const at of [p, p + size - 1, p + (size >> 1)]) {
    if (m[at] !== tag) { stats.errors.push(`block ${p} (${size} B): byte ${at - p} is ${m[at]}, not ${tag}`); return; }
  }
}
const held = [];
for (let i = 0; i < ops; i++) {
  if (rand(100) < 55 || held.length === 0) {
    const size = rand(10) === 0 ? 16 + rand(2000) : 4097 + rand(60_000);
    const p = heap.malloc(size);
    if (p === 0) { stats.oom++; continue; }
    const tag = 1 + rand(250);
    view().fill(tag, p, p + size);
    held.push([p, size, tag]);
    stats.mallocs++;
  } else {
    const k = rand(held.length);
    const [p, size, tag] = held[k];
    held[k] = held[held.length - 1];
    held.pop();
    check(p, size, tag);
    heap.free(p);
    stats.frees++;
  }
}
parentPort.postMessage({ phase: 1, held, stats });
parentPort.once("message", (msg) => {
  for (const [p, size, tag] of msg.free) {
    check(p, size, tag);
    heap.free(p);
    stats.frees++;
  }
  heap.releaseCpu();
  parentPort.postMessage({ phase: 2, stats });
});
