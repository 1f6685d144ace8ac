// medium.mjs — one Worker of test/medium-threads.test.ts: malloc / free of medium blocks (4 KiB ..
// 64 KiB, some small) on a shared heap, payload written on malloc and checked on free; then it hands the
// blocks it still holds to the test (which gives them to another Worker to check and free).
// Every access goes through view(end): the bindings' heap.u8, which must reach every block handed out
// in any thread. Another Worker's memory.grow is seen here late (V8 hands this thread the longer buffer when
// it handles the grow); fill() through a too-short view clamps and writes nothing, and the block's old
// bytes then failed the check as "byte 0 is 0" although the heap was right. bindings/core.ts brings the
// buffer up to date (memory.grow(0)) when the heap's high-water mark lies past it; stats.staleViews counts
// the accesses where this thread's memory.buffer was behind (the case that fix is for).
//
// Protocol: workerData { handle, seed, ops }; posts { phase: 1, held: [[p, size, tag]...], stats }
// (stats: mallocs, frees, oom, staleViews, errors);
// receives { free: [[p, size, tag]...] }, checks and frees them, releases its CPU, posts { phase: 2, stats }.
import { attachAllocator } from "../../dist/index.js";
import { rng } from "../../cli/lib/workload.mjs";
import { parentPort, workerData } from "node:worker_threads";

const { handle, seed, ops } = workerData;
const heap = await attachAllocator(handle);
const random = rng(seed);                      // the project's one PRNG (cli/lib/workload.mjs, mulberry32)
const rand = (n) => Math.floor(random() * n);
const stats = { mallocs: 0, frees: 0, oom: 0, staleViews: 0, errors: [] };
// heap.u8, checked to reach `end` (an error otherwise: the bindings' view lagged another Worker's grow).
function view(end) {
  if (heap.memory.buffer.byteLength < end) stats.staleViews++;
  const u8 = heap.u8;
  if (u8.length < end) stats.errors.push(`heap.u8 (${u8.length} B) does not reach ${end}`);
  return u8;
}
// The whole payload is the tag: the first 16 bytes (where a free block's links would go), then every
// 61st byte and the last.
function check(p, size, tag) {
  const m = view(p + size);
  for (let i = 0; i < size; i = i < 16 ? i + 1 : i + 61) {
    if (m[p + i] !== tag) { stats.errors.push(`block ${p} (${size} B): byte ${i} is ${m[p + i]}, not ${tag}`); return; }
  }
  if (m[p + size - 1] !== tag) stats.errors.push(`block ${p} (${size} B): byte ${size - 1} is ${m[p + size - 1]}, not ${tag}`);
}
const held = [];
for (let i = 0; i < ops; i++) {
  if (rand(100) < 55 || held.length === 0) {
    const size = rand(10) === 0 ? 16 + rand(2000) : 4097 + rand(60_000);
    const p = heap.malloc(size);
    if (p === 0) { stats.oom++; continue; }
    const tag = 1 + rand(250);
    view(p + size).fill(tag, p, p + size);
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
