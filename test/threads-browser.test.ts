// threads-browser.test.ts — a shared heap in headless Chromium: the page (cross-origin isolated: the
// server sends COOP/COEP) creates the heap on its main thread, where locks may only spin, and 4 module
// Workers attach to it and allocate and free across threads (test/workers/browser-thread.js). The page
// then checks, at a quiescent point, that nothing is live and validate() is clean, and that every slab
// goes back. A minimal harness: the unbundled dist/ served as ES modules (playwright-core driving
// /usr/bin/chromium). Without Chromium the test is skipped with a message; under CI that is an error.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, normalize } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./cc.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === "true") throw new Error(`the threads browser test needs ${CHROMIUM} under CI`);
if (!haveChromium) console.warn(`\n*** SKIPPING the threads browser test: no ${CHROMIUM} (apt-get install chromium) ***\n`);

const TYPES: Record<string, string> = { ".js": "text/javascript", ".html": "text/html", ".wasm": "application/wasm" };
const ISOLATION = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" };

describe.skipIf(!haveChromium)("threads: a shared heap in Chromium with Workers", () => {
  let server: Server;
  let origin: string;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (path === "/") {
        res.writeHead(200, { "content-type": "text/html", ...ISOLATION }).end(
          '<!doctype html><title>wasm-slab threads</title><script type="module">import * as lib from "/dist/index.js"; window.lib = lib;</script>',
        );
        return;
      }
      // /dist/** (the compiled TS layer, wasm embedded) and /worker.js; nothing else
      let file: string | undefined;
      if (path === "/worker.js") file = join(ROOT, "test", "workers", "browser-thread.js");
      else if (/^\/dist\/[\w./-]+$/.test(path) && !path.includes("..")) file = normalize(join(ROOT, path.slice(1)));
      if (file === undefined || !existsSync(file)) {
        res.writeHead(404, ISOLATION).end();
        return;
      }
      res.writeHead(200, { "content-type": TYPES[path.slice(path.lastIndexOf("."))] ?? "application/octet-stream", ...ISOLATION }).end(readFileSync(file));
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    profile = mkdtempSync(join(tmpdir(), "wasm-slab-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await new Promise((ok) => server?.close(ok));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("4 Workers allocate and free across threads; the main thread only spins; all accounted for", async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (window as unknown as { lib?: unknown }).lib !== undefined);
    const r = await page.evaluate(async () => {
      const lib = (window as unknown as { lib: typeof import("../bindings/index.js") }).lib;
      const isolated = crossOriginIsolated;
      const heap = (await lib.createAllocator({ shared: true, nodes: 2, cpusPerNode: 3, maxBytes: 32 << 20, reap: false })) as import("../bindings/index.js").SharedHeap;
      const cache = heap.createCache("obj", { size: 32 });
      const p = cache.alloc();                                  // the main thread allocates too (spinning locks)
      cache.free(p);
      heap.releaseCpu();
      const nworkers = 4;
      const ringSize = 1024;
      const rings = new SharedArrayBuffer(4 * (nworkers * (ringSize + 2) + 1));
      const handle = heap.handle();
      const results = await Promise.all(Array.from({ length: nworkers }, (_, id) => new Promise<any>((resolve) => {
        const w = new Worker("/worker.js", { type: "module" });
        w.onmessage = (ev) => { resolve(ev.data); w.terminate(); };
        w.onerror = (ev) => { resolve({ ok: false, error: String(ev.message) }); w.terminate(); };
        w.postMessage({ handle, id, nworkers, ops: 60000, rings, ringSize });
      })));
      heap.claimCpu();
      let mallocLive = 0;
      for (const c of heap.walkCaches()) if (c.name.startsWith("kmalloc-")) mallocLive += heap.wasm.cache_live(c.addr);
      const live = cache.stats().activeObjects;
      const valid = heap.validate().ok;
      heap.shrink();
      // objects in a cache's slabs, every node (CN_TOTAL_OBJECTS)
      const totalObjects = (h: typeof heap, addr: number): number => {
        let t = 0;
        for (let n = 0; n < h.nodes; n++) t += h.u32(addr + h.L.C_HDR + n * h.L.CN_SIZE + h.L.CN_TOTAL_OBJECTS);
        return t;
      };
      let slabObjects = 0;
      for (const c of heap.walkCaches()) if (c.name !== "kmem_cache") slabObjects += totalObjects(heap, c.addr);
      return { isolated, results, live, mallocLive, valid, slabObjects };
    });
    expect(errors).toEqual([]);
    expect(r.isolated).toBe(true);
    for (const w of r.results) expect(w, JSON.stringify(w)).toMatchObject({ ok: true, problems: 0 });
    expect(new Set(r.results.map((w: { cpu: number }) => w.cpu)).size).toBe(4);
    expect(r.results.reduce((s: number, w: { remote: number }) => s + w.remote, 0)).toBeGreaterThan(1000);
    expect(r.live).toBe(0);
    expect(r.mallocLive).toBe(0);
    expect(r.valid).toBe(true);
    expect(r.slabObjects).toBe(0);
  }, 120_000);
});
