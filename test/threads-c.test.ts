// threads-c.test.ts — a C program compiled with threads (c/threads_demo.c: freestanding, -matomics
// -mbulk-memory, --shared-memory) runs in 4 Workers over one shared heap and allocates and frees across
// threads through the allocator's malloc/free imports. Skipped (visibly) without clang (test/cc.ts).
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { createAllocator, cHeapBase, STAT_NAMES, type SharedHeap } from "../dist/index.js";
import { FREESTANDING, ROOT, clang, haveClang, tmp } from "./cc.js";

/** Objects in a cache's slabs, every node (CN_TOTAL_OBJECTS), read through the heap's views. */
function totalObjects(heap: SharedHeap, addr: number): number {
  let t = 0;
  for (let n = 0; n < heap.nodes; n++) t += heap.u32(addr + heap.L.C_HDR + n * heap.L.CN_SIZE + heap.L.CN_TOTAL_OBJECTS);
  return t;
}


const MAX_MEMORY = 64 << 20;

function build(): Uint8Array<ArrayBuffer> {
  const out = join(tmp(), "threads_demo.wasm");
  clang([
    ...FREESTANDING, "-matomics", "-mmutable-globals", "-Wl,--shared-memory", `-Wl,--max-memory=${MAX_MEMORY}`,
    "-Wl,--import-memory", "-Wl,--allow-undefined", "-Wl,--export=__stack_pointer", "-Wl,--export=work",
    join(ROOT, "c", "threads_demo.c"), "-o", out,
  ]);
  return new Uint8Array(readFileSync(out));
}

describe.skipIf(!haveClang)("threads: a C program with threads over one shared heap", () => {
  it("4 Workers run the threaded C program: blocks allocated in one thread are freed in another, none lost", async () => {
    const bytes = build();
    const module = await WebAssembly.compile(bytes);
    // The program's memory: shared, the same maximum as it was linked with; its data and stack lie below
    // __heap_base, the heap above.
    const memory = new WebAssembly.Memory({ initial: 2, maximum: MAX_MEMORY / 65536, shared: true });
    const heap = (await createAllocator({
      shared: true, memory, heapBase: cHeapBase(bytes), nodes: 2, cpusPerNode: 3, maxBytes: MAX_MEMORY - (4 << 20), reap: false,
    })) as SharedHeap;
    heap.releaseCpu();
    const handle = heap.handle();
    const results = await Promise.all([0, 1, 2, 3].map((id) => new Promise<any>((resolve, reject) => {
      const w = new Worker(new URL("./workers/c-thread.mjs", import.meta.url), {
        workerData: { handle, module, id, nthreads: 4, ops: 100_000, stackBytes: 64 * 1024 },
      });
      w.on("error", reject);
      w.on("message", (m) => { void w.terminate(); m.ok ? resolve(m) : reject(new Error(m.error)); });
    })));
    expect(results.map((r) => r.problems)).toEqual([0, 0, 0, 0]);
    expect(results.flatMap((r) => r.reports)).toEqual([]);
    expect(new Set(results.map((r) => r.cpu)).size).toBe(4);
    heap.claimCpu();
    let live = 0;
    let remote = 0;
    for (const c of heap.walkCaches()) {
      if (!c.name.startsWith("kmalloc-")) continue;
      live += heap.wasm.cache_live(c.addr);
      const alienFree = STAT_NAMES.indexOf("alien_free");
      for (let cpu = 0; cpu < heap.cpus; cpu++) {
        const slot = c.addr + heap.u32(heap.hdr + heap.L.H_CPU_OFF) + cpu * heap.L.CC_SIZE;
        remote += heap.u64(slot + heap.L.CC_STATS + 8 * alienFree);
      }
    }
    expect(live).toBe(0);
    expect(remote).toBeGreaterThan(0);              // blocks of the other node went through alien arrays
    expect(heap.validate().ok).toBe(true);
    heap.shrink();
    for (const c of heap.walkCaches()) if (c.name.startsWith("kmalloc-")) expect(totalObjects(heap, c.addr)).toBe(0);
  });
});
