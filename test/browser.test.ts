// browser.test.ts — the rollup browser bundle (dist/browser/wasm-slab.min.js) in headless Chromium
// (playwright-core driving the system's /usr/bin/chromium; .ci/run installs it with apt), served from a
// Node http server on 127.0.0.1. In the page: createAllocator, a cache's alloc/free with the bytes kept,
// allocBulk/freeBulk, prefill/returnPrefilled, stats, slabinfo, validate, malloc/free, and a bad free
// giving a typed error (err.name and instanceof), with the heap unchanged by it; then debugBuild: true,
// which fetches the debug chunk, and only then.
// Without Chromium the test is skipped with a message; under CI (CI=true) that is an error.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./cc.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === "true") throw new Error(`the browser test needs ${CHROMIUM} under CI (see .ci/run)`);
if (!haveChromium) console.warn(`\n*** SKIPPING the browser test: no ${CHROMIUM} (apt-get install chromium) ***\n`);

type Lib = typeof import("../bindings/index.js");
declare global {
  interface Window { lib: Lib }
}

const TYPES: Record<string, string> = { ".js": "text/javascript", ".html": "text/html", ".wasm": "application/wasm" };

describe.skipIf(!haveChromium)("the browser bundle in headless Chromium", () => {
  let server: Server;
  let origin: string;
  let context: BrowserContext;
  let profile: string;
  const requested: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      requested.push(path);
      if (path === "/") {
        // the page imports the bundle as a module script and hands it to the test as window.lib
        res.writeHead(200, { "content-type": "text/html" }).end(
          '<!doctype html><title>wasm-slab</title><script type="module">import * as lib from "/wasm-slab.min.js"; window.lib = lib;</script>',
        );
        return;
      }
      const file = join(ROOT, "dist", "browser", path.slice(1));
      if (!/^\/[\w.-]+$/.test(path) || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": TYPES[path.slice(path.lastIndexOf("."))] ?? "application/octet-stream" }).end(readFileSync(file));
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    profile = mkdtempSync(join(tmpdir(), "wasm-slab-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await new Promise((ok) => server?.close(ok));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("allocates, frees, bulk, prefill, stats, slabinfo, validate; a bad free is a typed error", async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.lib !== undefined);
    const r = await page.evaluate(async () => {
      const lib = window.lib;
      const heap = await lib.createAllocator({ nodes: 2, cpusPerNode: 2, reap: false });
      const points = heap.createCache("point", { size: 24, align: 8 });
      heap.pin(0);
      const ptrs: number[] = [];
      for (let i = 0; i < 5000; i++) {
        const p = points.alloc();
        new Float64Array(heap.memory.buffer, p, 3).set([i, i * 2, i * 3]);
        ptrs.push(p);
      }
      const kept = ptrs.every((p, i) => new Float64Array(heap.memory.buffer, p, 3)[2] === i * 3);
      const distinct = new Set(ptrs).size;
      for (const p of ptrs.splice(0, 2500)) points.free(p);
      const many = points.allocBulk(1000);
      const bulkDistinct = new Set([...many, ...ptrs]).size;
      points.freeBulk(many);
      const h = points.prefill(32);
      const fromHandle = [h.alloc(), h.alloc()];
      const remaining = h.remaining;
      points.returnPrefilled(h);
      for (const p of fromHandle) points.free(p);
      const m = heap.malloc(100);
      heap.free(m);
      const before = JSON.stringify(points.stats());
      let bad: { name: string; isInvalidFree: boolean; isSlabError: boolean; reason: string; message: string } | undefined;
      try {
        points.free(ptrs[0]! + 4);
      } catch (e) {
        const err = e as InstanceType<Lib["InvalidFreeError"]>;
        bad = { name: err.name, isInvalidFree: err instanceof lib.InvalidFreeError, isSlabError: err instanceof lib.SlabError, reason: err.reason, message: err.message };
      }
      const unchanged = JSON.stringify(points.stats()) === before;
      let double: string | undefined;
      const q = points.alloc();
      points.free(q);
      try { points.free(q); } catch (e) { double = e instanceof lib.DoubleFreeError ? (e as Error).name : "other"; }
      const s = points.stats();
      const hs = heap.stats();
      return {
        kept, distinct, bulkDistinct, remaining, bad, double, unchanged,
        active: s.activeObjects, alloc: s.counters.alloc_fastpath + s.counters.alloc_slowpath, slabs: s.slabs,
        grown: hs.bytesGrown,
        slabinfo: heap.slabinfo(), valid: heap.validate(),
      };
    });
    expect(errors).toEqual([]);
    expect(r.kept).toBe(true);
    expect(r.distinct).toBe(5000);
    expect(r.bulkDistinct).toBe(3500);
    expect(r.remaining).toBe(30);
    expect(r.bad).toMatchObject({ name: "InvalidFreeError", isInvalidFree: true, isSlabError: true, reason: "not-object" });
    expect(r.bad!.message).toContain("is not the start of an object");
    expect(r.double).toBe("DoubleFreeError");
    expect(r.unchanged).toBe(true);
    expect(r.active).toBe(2500);
    expect(r.alloc).toBeGreaterThanOrEqual(5001);
    expect(r.slabs).toBeGreaterThan(0);
    expect(r.grown).toBeGreaterThan(0);
    expect(r.slabinfo).toMatch(/^slabinfo - version: 2\.1/);
    expect(r.slabinfo).toMatch(/^point\s+2500\s/m);
    expect(r.valid).toMatchObject({ ok: true, problemCount: 0 });
    await page.close();
  }, 60_000);

  it("loads the debug chunk only for debugBuild: true", async () => {
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.lib !== undefined);
    requested.length = 0;
    await page.evaluate(async () => {
      const lib = window.lib;
      await lib.createAllocator({ reap: false });
    });
    expect(requested.filter((p) => p.includes("debug"))).toEqual([]);
    const ok = await page.evaluate(async () => {
      const lib = window.lib;
      const heap = await lib.createAllocator({ debugBuild: true, reap: false });
      const c = heap.createCache("d", { size: 16 });
      const p = c.alloc();
      c.free(p);
      return heap.validate().ok;
    });
    expect(ok).toBe(true);
    expect(requested.filter((p) => p.includes("debug"))).toEqual(["/debug-wasm.min.js"]);
    await page.close();
  }, 60_000);
});
