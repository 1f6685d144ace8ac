// shared-views.test.ts — the bindings' memory views on a shared heap reach every block handed out, even
// when this thread's memory.buffer lags a grow (bindings/core.ts #stale). V8 gives a thread the longer
// SharedArrayBuffer of a shared memory that another thread grew only when it handles that grow, so for a
// while memory.buffer is the old, shorter one; memory.grow(0) brings it up to date. That lag cannot be
// produced on demand with real Workers, so the engine's behaviour is played by a stand-in memory object
// on the heap's Core: its `buffer` stays the buffer taken before the growth until grow(0) is called.
import { describe, expect, it } from "vitest";
import { createAllocator, type SharedHeap } from "../dist/index.js";

interface Lagging { buffer: SharedArrayBuffer; grow(n: number): number; grows0: number }

function lagBehind(heap: SharedHeap): Lagging {
  const core = (heap as unknown as { core: { memory: WebAssembly.Memory } }).core;
  const real = core.memory;
  let seen = real.buffer as unknown as SharedArrayBuffer;
  const standIn: Lagging = {
    get buffer() { return seen; },
    grow(n: number) { const r = real.grow(n); seen = real.buffer as unknown as SharedArrayBuffer; if (n === 0) standIn.grows0++; return r; },
    grows0: 0,
  };
  Object.defineProperty(core, "memory", { value: standIn, configurable: true });
  return standIn;
}

describe("shared heap: views over a lagging memory.buffer", () => {
  it("heap.u8 / dv reach a block handed out past the lagging buffer (grow(0) once), and write into it", async () => {
    const heap = (await createAllocator({ shared: true, nodes: 1, cpusPerNode: 1, maxBytes: 64 << 20 })) as SharedHeap;
    const mem = lagBehind(heap);
    const before = mem.buffer.byteLength;
    const size = 3 << 20;
    const p = heap.malloc(size);
    expect(p).toBeGreaterThan(0);
    expect(p + size).toBeGreaterThan(before);              // the block lies past the lagging buffer
    expect(mem.buffer.byteLength).toBe(before);            // and the stand-in still lags
    const u8 = heap.u8;
    expect(u8.length).toBeGreaterThanOrEqual(p + size);
    expect(mem.grows0).toBe(1);
    u8.fill(0x5a, p, p + size);
    expect(heap.u8[p + size - 1]).toBe(0x5a);
    expect(heap.dv.getUint8(p + size - 1)).toBe(0x5a);
    expect(mem.grows0).toBe(1);                             // up to date: no further grow(0)
    heap.free(p);
    expect(heap.validate().ok).toBe(true);
  });

  it("a new buffer that still ends before the block (this thread grew, another grew further) is brought up to date too", async () => {
    const heap = (await createAllocator({ shared: true, nodes: 1, cpusPerNode: 1, maxBytes: 64 << 20 })) as SharedHeap;
    const core = (heap as unknown as { core: { memory: WebAssembly.Memory } }).core;
    const real = core.memory;
    real.grow(1);
    const newer = real.buffer as unknown as SharedArrayBuffer;         // a new buffer over the same memory...
    const size = 3 << 20;
    const p = heap.malloc(size);                            // ...which then grows past it
    expect(newer.byteLength).toBeLessThan(p + size);
    // this thread is handed `newer` (another identity than the views', still short) until grow(0)
    let current = newer;
    let grows0 = 0;
    Object.defineProperty(core, "memory", {
      value: { get buffer() { return current; }, grow(n: number) { const r = real.grow(n); current = real.buffer as unknown as SharedArrayBuffer; if (n === 0) grows0++; return r; } },
      configurable: true,
    });
    const u8 = heap.u8;
    expect(u8.length).toBeGreaterThanOrEqual(p + size);     // (before the fix: newer's view)
    expect(grows0).toBe(1);
    u8[p + size - 1] = 0xa5;
    expect(heap.dv.getUint8(p + size - 1)).toBe(0xa5);
    heap.free(p);
    expect(heap.validate().ok).toBe(true);
  });

  it("a heap whose buffer is current never calls grow(0)", async () => {
    const heap = (await createAllocator({ shared: true, nodes: 1, cpusPerNode: 1, maxBytes: 64 << 20 })) as SharedHeap;
    const mem = lagBehind(heap);
    for (let i = 0; i < 100; i++) {
      const p = heap.malloc(64);
      heap.u8[p] = i;
      heap.free(p);
    }
    expect(mem.grows0).toBe(0);
  });
});
