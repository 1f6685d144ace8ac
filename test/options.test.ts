// options.test.ts — options are checked, not ignored (bindings/options.ts): an unknown key in
// createAllocator, createCache or tune is an InvalidArgumentError naming the key and the accepted ones;
// every value out of range is an InvalidArgumentError with a clear message; a refused option creates
// nothing and writes nothing.
import { describe, expect, it } from "vitest";
import { CacheFlags, InvalidArgumentError, createAllocator, type Heap } from "../bindings/index.js";

/** The InvalidArgumentError `fn` throws (or its promise rejects with); fails the test otherwise. */
async function refusal(fn: () => unknown): Promise<InvalidArgumentError> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InvalidArgumentError);
  return err as InvalidArgumentError;
}

/** Everything a refused call must leave as it was. */
function fingerprint(heap: Heap): string {
  return JSON.stringify([heap.stats(), heap.slabinfo(), heap.caches().map((c) => [c.name, c.stats()])]);
}

describe("unknown option keys", () => {
  it("createCache('x', { size: 64, reclaimable: true }) names the key and the accepted ones, and creates nothing", async () => {
    const heap = await createAllocator({ reap: false });
    const before = fingerprint(heap);
    const e = await refusal(() => heap.createCache("x", { size: 64, reclaimable: true } as never));
    expect(e.message).toContain("'reclaimable'");
    for (const k of ["size", "align", "flags", "ctor", "arrayCapacity", "debug", "inUseBits", "reclaim"]) expect(e.message).toContain(k);
    expect(heap.caches()).toHaveLength(0);
    expect(fingerprint(heap)).toBe(before);
  });

  it("createAllocator refuses an unknown key (a typo of a real one too)", async () => {
    for (const opts of [{ node: 2 }, { cpus: 4 }, { maxbytes: 1 << 20 }, { reapInterval: 5 }, { sharedMemory: true }]) {
      const e = await refusal(() => createAllocator(opts as never));
      expect(e.message).toContain(`'${Object.keys(opts)[0]}'`);
      expect(e.message).toContain("cpusPerNode");
      expect(e.message).toContain("onOutOfMemory");
    }
  });

  it("tune refuses an unknown key and changes nothing", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("t", { size: 64 });
    const cap = c.arrayCapacity;
    const e = await refusal(() => c.tune({ capacity: 4 } as never));
    expect(e.message).toContain("'capacity'");
    expect(e.message).toContain("arrayCapacity");
    expect(c.arrayCapacity).toBe(cap);
    c.tune({ arrayCapacity: 4 });
    expect(c.arrayCapacity).toBe(4);
  });

  it("nested option objects are checked too: debug, reap, reclaim", async () => {
    const heap = await createAllocator({ reap: false });
    expect((await refusal(() => createAllocator({ debug: { redzone: true } as never }))).message).toContain("'redzone'");
    expect((await refusal(() => createAllocator({ reap: { interval: 5 } as never }))).message).toContain("'interval'");
    expect((await refusal(() => heap.createCache("d", { size: 64, debug: { poisen: true } as never }))).message).toContain("'poisen'");
    const e = await refusal(() => heap.createCache("r", { size: 64, reclaim: { destructor: () => 0, shrinker: 1 } as never }));
    expect(e.message).toContain("'shrinker'");
    expect(heap.caches()).toHaveLength(0);
  });

  it("an option object that is not an object is refused", async () => {
    const heap = await createAllocator({ reap: false });
    for (const o of [null, 5, "size", [64], undefined]) await refusal(() => heap.createCache("x", o as never));
    for (const o of [null, 5, "x", [1]]) await refusal(() => createAllocator(o as never));
    const c = heap.createCache("t", { size: 8 });
    for (const o of [null, 5, "x", [1], undefined]) await refusal(() => c.tune(o as never));
  });
});

describe("option values are range-checked", () => {
  const allocatorCases: [string, Record<string, unknown>, RegExp][] = [
    ["nodes 0", { nodes: 0 }, /nodes 0 .*1\.\.8/],
    ["nodes 9", { nodes: 9 }, /nodes 9/],
    ["nodes 1.5", { nodes: 1.5 }, /nodes 1\.5/],
    ["nodes '2'", { nodes: "2" }, /nodes "2"/],
    ["cpusPerNode 0", { cpusPerNode: 0 }, /cpusPerNode 0/],
    ["cpusPerNode 65", { cpusPerNode: 65 }, /cpusPerNode 65/],
    ["nodes × cpusPerNode > 64", { nodes: 8, cpusPerNode: 9 }, /1\.\.64/],
    ["maxBytes -1", { maxBytes: -1 }, /maxBytes -1/],
    ["maxBytes NaN", { maxBytes: NaN }, /maxBytes NaN/],
    ["maxBytes Infinity", { maxBytes: Infinity }, /maxBytes Infinity/],
    ["maxBytes below a chunk", { maxBytes: 1000 }, /below one chunk/],
    ["maxBytes a string", { maxBytes: "1e9" }, /maxBytes "1e9"/],
    ["heapBase -1", { heapBase: -1 }, /heapBase -1/],
    ["heapBase 1.5", { heapBase: 1.5 }, /heapBase 1\.5/],
    ["heapBase 2^32", { heapBase: 2 ** 32 }, /heapBase 4294967296/],
    ["heapBase near 2^32 (would wrap)", { heapBase: 2 ** 32 - 4096 }, /heapBase 4294963200/],
    ["heapBase a string", { heapBase: "4096" }, /heapBase "4096"/],
    ["memory not a Memory", { memory: new ArrayBuffer(65536) }, /not a WebAssembly.Memory/],
    ["debugBuild a string", { debugBuild: "yes" }, /debugBuild "yes"/],
    ["onOutOfMemory 'maybe'", { onOutOfMemory: "maybe" }, /onOutOfMemory "maybe"/],
    ["alienArrays 0", { alienArrays: 0 }, /alienArrays 0/],
    ["debug 1", { debug: 1 }, /expected an options object/],
    ["debug.redZone 'y'", { debug: { redZone: "y" } }, /debug.redZone "y"/],
    ["inUseBits 'true'", { inUseBits: "true" }, /inUseBits "true"/],
    ["onReport 5", { onReport: 5 }, /onReport must be a function/],
    ["reap true", { reap: true }, /expected an options object/],
    ["reap.intervalMs 0", { reap: { intervalMs: 0 } }, /intervalMs 0/],
    ["reap.intervalMs 2^31", { reap: { intervalMs: 2 ** 31 } }, /intervalMs/],
  ];
  for (const [name, opts, msg] of allocatorCases) {
    it(`createAllocator: ${name}`, async () => {
      const e = await refusal(() => createAllocator(opts as never));
      expect(e.message).toMatch(msg);
    });
  }

  it("a refused heapBase writes nothing into the given memory", async () => {
    const memory = new WebAssembly.Memory({ initial: 2 });
    await refusal(() => createAllocator({ memory, heapBase: 2 ** 32 - 64 * 1024 }));
    expect(new Uint8Array(memory.buffer).every((b) => b === 0)).toBe(true);
  });

  it("the limits themselves are accepted", async () => {
    const big = await createAllocator({ nodes: 8, cpusPerNode: 8, maxBytes: 1 << 20, reap: { intervalMs: 2 ** 31 - 1 } });
    expect(big.cpus).toBe(64);
    big.close();
    const h = await createAllocator({ debug: { redZone: true, poison: false }, inUseBits: false, alienArrays: false, onOutOfMemory: "null", reap: false, debugBuild: false });
    expect(h.createCache("x", { size: 64 }).flags & CacheFlags.RED_ZONE).toBe(CacheFlags.RED_ZONE);
  });

  const cacheCases: [string, unknown, RegExp][] = [
    ["size 0", { size: 0 }, /size 0 is not in 1\.\.32768/],
    ["size 32769", { size: 32769 }, /size 32769/],
    ["size 1.5", { size: 1.5 }, /size 1\.5/],
    ["size '64'", { size: "64" }, /size "64"/],
    ["no size", {}, /size undefined/],
    ["align 3", { size: 64, align: 3 }, /align 3 is not a power of two/],
    ["align 8192", { size: 64, align: 8192 }, /align 8192/],
    ["align 0", { size: 64, align: 0 }, /align 0/],
    ["flags 1 << 30", { size: 64, flags: 1 << 30 }, /unknown flags 0x40000000/],
    ["flags -1", { size: 64, flags: -1 }, /unknown flags/],
    ["flags 0.5", { size: 64, flags: 0.5 }, /unknown flags/],
    ["arrayCapacity -1", { size: 64, arrayCapacity: -1 }, /arrayCapacity -1 is not an integer in 0\.\.4092/],
    ["arrayCapacity 4093", { size: 64, arrayCapacity: 4093 }, /arrayCapacity 4093/],
    ["arrayCapacity 1.5", { size: 64, arrayCapacity: 1.5 }, /arrayCapacity 1\.5/],
    ["ctor 5", { size: 64, ctor: 5 }, /ctor must be a function/],
    ["reclaim {}", { size: 64, reclaim: {} }, /needs reclaim.destructor/],
    ["reclaim.destructor 5", { size: 64, reclaim: { destructor: 5 } }, /destructor must be a function/],
    ["RECLAIMABLE flag without a destructor", { size: 64, flags: CacheFlags.RECLAIMABLE }, /needs reclaim.destructor/],
    ["reclaimable and size < 4", { size: 2, reclaim: { destructor: () => 0 } }, /size ≥ 4/],
    ["debug 'on'", { size: 64, debug: "on" }, /expected an options object/],
    ["inUseBits 1", { size: 64, inUseBits: 1 }, /inUseBits 1/],
  ];
  for (const [name, opts, msg] of cacheCases) {
    it(`createCache: ${name}`, async () => {
      const heap = await createAllocator({ reap: false });
      const before = fingerprint(heap);
      const e = await refusal(() => heap.createCache("c", opts as never));
      expect(e.message).toMatch(msg);
      expect(fingerprint(heap)).toBe(before);
    });
  }

  it("createCache: a name that is not a non-empty string", async () => {
    const heap = await createAllocator({ reap: false });
    for (const n of ["", 5, undefined, null]) await refusal(() => heap.createCache(n as never, { size: 8 }));
  });

  it("tune: arrayCapacity out of range changes nothing", async () => {
    const heap = await createAllocator({ reap: false });
    const c = heap.createCache("t", { size: 64 });
    const cap = c.arrayCapacity;
    for (const v of [-1, 4093, 1.5, "8", null, NaN]) {
      const e = await refusal(() => c.tune({ arrayCapacity: v as never }));
      expect(e.message).toContain("arrayCapacity");
      expect(c.arrayCapacity).toBe(cap);
    }
    c.tune({}); // nothing to change
    expect(c.arrayCapacity).toBe(cap);
  });
});
