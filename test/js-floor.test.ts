// js-floor.test.ts — bench/js-floor.mjs (the Cache pair's floor in JS, step by step) runs and reports every
// variant, and its step variants really do their work: the free key refuses a second free, the checked
// step refuses what the magazine's checks refuse, and the end-state check catches a loop that did not run.
// Nothing here is timed (a tiny N: the figures of such a run mean nothing).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Abi } from "../bindings/generated/abi.js";
// @ts-expect-error — a plain .mjs module without types
import { VARIANTS, abiConst, buildVariants } from "../bench/js-floor.mjs";

const ROOT = join(__dirname, "..");

describe("bench/js-floor.mjs", () => {
  it("writes every variant with a positive finite ratio to the empty calls (--json, 2 processes, tiny N)", () => {
    const dir = mkdtempSync(join(tmpdir(), "js-floor-"));
    try {
      const file = join(dir, "floor.json");
      const r = spawnSync(process.execPath, [join(ROOT, "bench", "js-floor.mjs"), "--processes", "2", "--runs", "1", "--n", "2000", "--json", file], { encoding: "utf8" });
      expect(r.stderr.includes("Error"), r.stderr).toBe(false);
      expect(r.status).toBe(0);
      const doc = JSON.parse(readFileSync(file, "utf8"));
      expect(doc.processes).toBe(2);
      expect(doc.variants.map((v: { name: string }) => v.name)).toEqual(VARIANTS.map(([k]: [string]) => k));
      for (const v of doc.variants) {
        for (const x of [v.ratio.min, v.ratio.median, v.ratio.max, v.ns.median]) {
          expect(Number.isFinite(x) && x > 0, `${v.name}: ${x}`).toBe(true);
        }
        expect(v.perProcess).toHaveLength(2);
      }
      expect(doc.variants[0].ratio.median).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("takes the layout constants from bindings/generated/abi.ts", () => {
    for (const k of ["CHUNK_SHIFT", "PAGE_SHIFT", "DESC_SHIFT", "FREE_KEY", "H_CHUNK_TABLE", "SH_HDR"] as const) expect(abiConst(k)).toBe(Abi[k]);
  });

  it("its step variants do their work and refuse what they must", async () => {
    const { variants, steps, lays, caches } = await buildVariants();
    const { pop, keyed, checked } = steps;
    // end state after real pairs
    for (const k of Object.keys(variants)) {
      variants[k].run(100);
      variants[k].check();
    }
    // the check catches a loop that did not run all its pairs (the counters)
    variants["+ every check"].run(0);
    checked.allocs--;
    expect(() => variants["+ every check"].check()).toThrow(/counters/);
    checked.allocs++;
    // ... and a pair whose free did not push back (the count)
    pop.alloc();
    expect(() => variants["pop/push, no check"].check()).toThrow(/count/);
    pop.free(lays.pop.objects.at(-1));
    variants["pop/push, no check"].check();
    // the free key: a second free of the same object is refused, nothing changed
    for (const s of [keyed, checked]) {
      const p = s.alloc();
      const n = s.n;
      s.free(p);
      expect(s.n).toBe(n + 1);
      expect(() => s.free(p)).toThrow(/refused|double free/);
      expect(s.n).toBe(n + 1);
    }
    variants["+ free key"].check();
    // every other check of the magazine's free
    const p = checked.alloc();
    const q = checked.alloc(); // another object, allocated
    for (const bad of [p + 4, p + 1, p - 2 ** 32, p + 0.5, -1, lays.checked.chunkBase - 64, lays.checked.slab + (lays.checked.geo.slabMask + 1)]) {
      expect(() => checked.free(bad), `free(${bad})`).toThrow(/refused/);
    }
    expect(() => checked.free(String(p) as unknown as number)).toThrow(/refused/);
    checked.addr ^= 8; // the page descriptor names another cache
    expect(() => checked.free(p)).toThrow(/refused/);
    checked.addr ^= 8;
    checked.node = 1; // the chunk is another node's
    expect(() => checked.free(p)).toThrow(/refused/);
    checked.node = 0;
    const cap = checked.cap;
    checked.cap = checked.n; // no room
    expect(() => checked.free(p)).toThrow(/refused/);
    checked.cap = cap;
    checked.free(q);
    checked.free(p);
    checked.allocs -= 3; // the test's own pairs (one above, two here), so the check counts the loops' only
    checked.frees -= 3;
    variants["+ every check"].check();
    // the Cache variants ran on their caches: nothing live
    for (const c of Object.values(caches) as { live: number }[]) expect(c.live).toBe(0);
  });
});
