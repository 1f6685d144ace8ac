// package-size.test.ts — the size budget of the default browser bundle (dist/browser/wasm-slab.min.js,
// from rollup.config.mjs: ESM, minified, the release Wasm embedded as base64), raw and gzipped, and the
// layout that keeps it there: the debug Wasm lives in its own chunk, reached only by a dynamic import.
// Reads dist/ (npm test builds first). The README's "Using the package" section states the same figures.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ROOT } from "./cc.js";

/** The budget (bytes): raw and gzip -9 of the default browser bundle, debug chunk excluded. */
export const BUDGET = { raw: 148_000, gzip: 58_500 }; // raw 147_500 → 148_000: session 12's merges together (manylive: a refill takes a made or reused slab whole, binary-bal allocator −16% x86/op; medfree: kfreePage and the free block's list index, random/random2-bal allocator −2.7%): 147 706 B raw, 58 395 B gzipped at their merge (each alone was within 147 500); raw → 147_500, gzip → 58_500: session 9's merges together (the magazine, pairfloor's fast paths, medium3's kfreeSlow dispatch, realloc3's front, the debug classes' fix): 146 711 B raw, ~58 030 B gzipped at fe2d39d; raw 144_500 → 146_500, gzip 57_000 → 58_000: the JS magazine (bindings/cache.ts alloc/free with the free checks in JS, assembly/prefill.ts magRefill/magReturn, index.ts cache_mag; the Cache pair 3.3–3.8× → ~2.7× two empty Wasm calls): 141 677 / ~56 280 → 145 299 / 57 420 B; gzip 54_000 → 55_000: the medium heap (assembly/medium.ts); → 55_500: cold classes (kmalloc.ts lend, +250 B); → 56_000: a small heap's own blocks (cache.ts/sheaf.ts/medium.ts, knownCache out of line), whole-array refill/flush (cpu.ts, node.ts) and the medium heap's top growth and region hand-over (medium.ts, page.ts, kmalloc.ts classify): 55 497 → ~55 650 B; the base64 copy of the Wasm moves ±100 B with small code changes; → 56_600: the pre-chunk medium region (arena.ts, medium.ts regionStart/End, takeTail and mediumAllocWith, kmalloc.ts classify/lend/borrow, footprint.ts, validate.ts, bindings pageMap): 56 529 B, 56 293 B after merging main at bb5f32b; raw 144_000 → 144_500: 144 090 B after merging main at ed73dc8 (midslow); gzip → 56_700: the chunkless heap's limit (kmalloc.ts chunklessLoan, KM_CHUNKLESS_MAX: a small heap that keeps allocating gets slabs, the malloc trace's replays 2.8× → 1.2× the time before the pre-chunk region) on top of lendfast's relink (56 498 B): 56 651 B; gzip → 57_000: page.ts's top run (binary-bal −7.6, random-bal −5.2, random2-bal −4.0 allocator instructions per op; +157 B of release Wasm, +154 B of it gzipped): 56 447 → 56 713 B at main b33443b, 56 805 B at lendfast (main 56 498), 56 937 B at main 948e2ad (main 56 651)

const dist = (...p: string[]) => join(ROOT, "dist", ...p);

describe("browser bundle size", () => {
  const main = readFileSync(dist("browser", "wasm-slab.min.js"));
  const release = readFileSync(join(ROOT, "build", "release.wasm"));
  const debug = readFileSync(join(ROOT, "build", "debug.wasm"));

  it(`stays within ${BUDGET.raw} B raw and ${BUDGET.gzip} B gzipped`, () => {
    const gz = gzipSync(main, { level: 9 }).length;
    console.log(`dist/browser/wasm-slab.min.js: ${main.length} B raw, ${gz} B gzipped (budget ${BUDGET.raw} / ${BUDGET.gzip})`);
    expect(main.length).toBeLessThanOrEqual(BUDGET.raw);
    expect(gz).toBeLessThanOrEqual(BUDGET.gzip);
  });

  it("embeds the release Wasm and loads the debug Wasm as a separate chunk", () => {
    const text = main.toString("utf8");
    expect(text).toContain(release.toString("base64"));
    expect(text).not.toContain(debug.toString("base64").slice(0, 4096));
    // the dynamically imported chunks: the debug build's, and the threaded builds' (shared heaps)
    const chunks = [...text.matchAll(/import\("\.\/([\w.-]+\.js)"\)/g)].map((m) => m[1]!);
    const chunk = chunks.find((c) => readFileSync(dist("browser", c), "utf8").includes(debug.toString("base64")));
    expect(chunk).toBeDefined();
    // the Node entries have the same split
    expect(readFileSync(dist("index.js"), "utf8")).not.toContain(debug.toString("base64").slice(0, 4096));
    expect(readFileSync(dist("index.cjs"), "utf8")).not.toContain(debug.toString("base64").slice(0, 4096));
    expect(readdirSync(dist()).filter((f) => /\.(c?js)$/.test(f)).sort()).toEqual([
      "debug-wasm.cjs", "debug-wasm.js", "index.cjs", "index.js",
      "threaded-debug-wasm.cjs", "threaded-debug-wasm.js", "threaded-wasm.cjs", "threaded-wasm.js",
    ]);
  });

  it("keeps the error names literal after minification", () => {
    const text = main.toString("utf8");
    for (const name of ["OutOfMemoryError", "InvalidFreeError", "DoubleFreeError", "InvalidArgumentError", "CacheBusyError", "RedZoneError"]) {
      expect(text).toContain(`name="${name}"`);
    }
  });
});
