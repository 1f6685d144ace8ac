// replay.test.ts — the trace replayer: parsing (corner cases of the format), its checks catching a broken
// allocator, and every trace in ../shared/traces replayed on malloc with no problem found.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createAllocator, parseTrace, replayTrace, type ReplayHeap } from "../bindings/index.js";
import { ROOT } from "./cc.js";

// ../shared/traces beside the repository (CI: a fresh clone with shared/ beside it; a worktree one
// level deeper finds it too).
const TRACE_DIRS = [process.env.WASM_SLAB_TRACES, join(ROOT, "..", "shared", "traces"), join(ROOT, "..", "..", "shared", "traces")];
const traceDir = TRACE_DIRS.find((d) => d !== undefined && existsSync(d));
if (!traceDir && process.env.CI === "true") throw new Error(`no trace directory (looked in ${TRACE_DIRS.filter(Boolean).join(", ")})`);
if (!traceDir) console.warn("\n*** SKIPPING trace replays: ../shared/traces not found (set WASM_SLAB_TRACES) ***\n");

describe("parseTrace", () => {
  it("reads the header and the three operations; f -1 and unknown ids are null pointers", () => {
    const t = parseTrace("0\n3\n5\n0\na 0 10\nr 1 20\nf -1\nr 0 0\nf 7\n", "t");
    expect(t.count).toBe(5);
    expect(t.ids).toBe(3);
    expect([...t.ops]).toEqual([0, 0, 10, 2, 1, 20, 1, -1, 0, 2, 0, 0, 1, 7, 0]);
    expect(() => parseTrace("1\n2\n", "short")).toThrow(/header/);
    expect(() => parseTrace("0\n1\n1\n0\nx 1 2\n", "bad")).toThrow(/unknown operation/);
  });

  it("replays corners: realloc of a never-allocated id allocates, realloc to 0 frees", async () => {
    const heap = await createAllocator();
    const r = replayTrace(heap, parseTrace("0\n3\n4\n0\nr 6 10\na 1 100\nr 1 0\nf 1\n", "c"));
    expect(r.errors).toEqual([]);
    expect(r.peakLive).toBe(110);
    for (const c of heap.walkCaches()) if (c.name.startsWith("kmalloc-")) expect(heap.wasm.cache_live(c.addr)).toBe(0);
  });
});

describe("the replayer's checks", () => {
  // A toy allocator over a plain buffer, broken on purpose in one way at a time.
  function toy(kind: "overlap" | "misalign" | "scribble"): ReplayHeap {
    const u8 = new Uint8Array(1 << 16);
    let top = 64;
    return {
      u8,
      malloc(n) {
        const p = kind === "overlap" ? 64 : top + (kind === "misalign" ? 4 : 0);
        top += ((n + 15) & ~15) + 16;
        if (kind === "scribble" && top > 200) u8.fill(0xff, 64, 70);
        return p;
      },
      free() {},
      realloc(p, n) { return n === 0 ? 0 : this.malloc(n); },
    };
  }
  const trace = parseTrace("0\n3\n4\n0\na 0 40\na 1 40\na 2 40\nf 0\n", "toy");
  it("reports overlapping blocks", () => {
    expect(replayTrace(toy("overlap"), trace, { footprint: () => 1 }).errors[0]).toMatch(/overlaps/);
  });
  it("reports misaligned blocks", () => {
    expect(replayTrace(toy("misalign"), trace, { footprint: () => 1 }).errors[0]).toMatch(/aligned/);
  });
  it("reports lost payload", () => {
    expect(replayTrace(toy("scribble"), trace, { footprint: () => 1 }).errors[0]).toMatch(/payload/);
  });
});

describe.skipIf(!traceDir)("every trace in ../shared/traces", () => {
  const files = traceDir ? readdirSync(traceDir).filter((f) => f.endsWith(".rep")).sort() : [];
  it("finds traces", () => expect(files.length).toBeGreaterThan(0));
  for (const f of files) {
    it(`${f}: no overlap, aligned, payload kept, heap valid, all memory back`, async () => {
      const heap = await createAllocator();
      const r = replayTrace(heap, parseTrace(readFileSync(join(traceDir!, f), "utf8"), f));
      expect(r.errors).toEqual([]);
      expect(r.utilization).toBeGreaterThan(0);
      expect(r.utilization).toBeLessThanOrEqual(1);
      expect(heap.validate().ok).toBe(true);
      // only the medium heap's home region stays (assembly/medium.ts: it holds the heap's control block)
      const ctl = heap.core.u32(heap.core.hdr + heap.L.H_NODES! + heap.L.N_MEDIUM!);
      // (the pre-chunk region's pages count in MC_PAGES, not in largePages: it lies in no chunk)
      const pre = heap.core.u32(heap.core.hdr + heap.L.H_PRE_LO!);
      const prePages = pre === 0 ? 0 : Math.floor((heap.core.u32(heap.core.hdr + heap.L.H_CHUNK_BASE!) - pre) / heap.L.PAGE_SIZE!);
      expect(heap.stats().largePages[0]).toBe(ctl === 0 ? 0 : heap.core.u32(ctl + heap.L.MC_PAGES!) - prePages);
      // the replayer freed what the trace left live: only objects parked in per-CPU arrays remain
      for (const c of heap.walkCaches()) if (c.name.startsWith("kmalloc-")) expect(heap.wasm.cache_live(c.addr), c.name).toBe(0);
    });
  }
});
