// medium-threads.test.ts — the medium heap (assembly/medium.ts) under Workers sharing one heap: each
// Worker mallocs and frees medium blocks (payload written and checked), then the blocks one Worker still
// holds are checked and freed by another (frees across threads and nodes, under the medium lock).
// validate() runs at the quiescent point and at the end. Correctness only: nothing here measures time.
// The Workers write and check payload through the bindings' heap.u8 and fail when it does not reach the
// block (workers/medium.mjs view): a Worker's memory.buffer lags another Worker's grow, and the bindings
// bring it up to date (bindings/core.ts #stale: memory.grow(0) when the heap's high-water mark lies past it).
// staleViews counts the accesses where the lag happened; the test prints the total.
import { describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import { createAllocator, type SharedHeap } from "../dist/index.js";

interface Msg { phase: number; held?: [number, number, number][]; stats: { mallocs: number; frees: number; oom: number; staleViews: number; errors: string[] } }

describe("medium blocks across threads", () => {
  for (const debugBuild of [false, true]) it(`4 Workers on 2 nodes: no block handed out twice, payload kept, heap valid, frees from other Workers${debugBuild ? " (debug build: lock-order assertions)" : ""}`, async () => {
    const heap = (await createAllocator({ shared: true, nodes: 2, cpusPerNode: 2, maxBytes: 256 << 20, reap: false, onOutOfMemory: "null", debugBuild })) as SharedHeap;
    heap.releaseCpu();
    const n = 4;
    const workers = Array.from({ length: n }, (_, i) => new Worker(new URL("./workers/medium.mjs", import.meta.url), {
      workerData: { handle: heap.handle(), seed: 1234 + 77 * i, ops: debugBuild ? 5_000 : 20_000 },
    }));
    const next = (w: Worker) => new Promise<Msg>((ok, ko) => { w.once("message", ok); w.once("error", ko); });
    const first = await Promise.all(workers.map(next));
    for (const m of first) expect(m.stats.errors).toEqual([]);
    // no two held blocks overlap
    const spans = first.flatMap((m) => m.held!).map(([p, s]) => [p, p + s] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    expect(heap.validate().ok).toBe(true);
    const second = workers.map(next);
    workers.forEach((w, i) => w.postMessage({ free: first[(i + 1) % n]!.held }));
    const done = await Promise.all(second);
    for (const m of done) expect(m.stats.errors).toEqual([]);
    console.log(`medium-threads${debugBuild ? " (debug)" : ""}: accesses where memory.buffer lagged another Worker's grow: ${[...first, ...done].reduce((s, m) => s + m.stats.staleViews, 0)}`);
    expect(done.reduce((s, m) => s + m.stats.mallocs, 0)).toBe(done.reduce((s, m) => s + m.stats.frees, 0));
    await Promise.all(workers.map((w) => w.terminate()));
    expect(heap.validate().ok).toBe(true);
  }, 120_000);
});
