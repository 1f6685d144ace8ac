// dashboard.test.ts — the dashboard in headless Chromium: dashboard/server.mjs serves the page, which
// runs wasm-slab (dist/index.js, unbundled) in the browser. Checks that it loads without errors, draws
// the slab map (cells for every page of the heap, slab cells among them, non-white pixels on the canvas),
// that the numbers move while the workload runs, stop when paused, move by exactly one frame's operations
// on step, that reap and shrink answer in the log, that a trace workload runs, and that the server
// refuses paths outside what it serves. Saves a screenshot (its path is printed) for a person to look at.
// Skipped when /usr/bin/chromium is absent (CI installs it: .ci/run).
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type BrowserContext, type Page } from "playwright-core";
// @ts-expect-error — a plain .mjs module without types
import { startServer } from "../dashboard/server.mjs";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

describe.skipIf(!existsSync(CHROMIUM))("dashboard in Chromium", () => {
  let srv: { url: string; close: () => Promise<void> };
  let ctx: BrowserContext;
  let page: Page;
  let profile: string;
  const errors: string[] = [];
  const dash = <T>(f: string) => page.evaluate(`window.dashboard.${f}`) as Promise<T>;

  beforeAll(async () => {
    srv = await startServer({ port: 0 });
    profile = mkdtempSync(join(tmpdir(), "wasm-slab-dash-"));
    ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1500, height: 950 } });
    page = await ctx.newPage();
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("response", (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()} ${r.url()}`); });
    await page.goto(srv.url);
    await page.waitForFunction("window.dashboard && window.dashboard.ready && window.dashboard.frames > 5", null, { timeout: 60_000 });
  }, 120_000);

  afterAll(async () => {
    await ctx?.close();
    await srv?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("loads without errors and draws one cell per page, slabs among them", async () => {
    expect(errors).toEqual([]);
    expect(await dash<string | null>("error")).toBeNull();
    const cells = await dash<number>("cellsDrawn");
    expect(cells).toBeGreaterThanOrEqual(256); // at least one 1 MiB chunk of 4 KiB pages
    expect(cells % 256).toBe(0);
    expect(await dash<number>("slabCells")).toBeGreaterThan(0);
    // the canvas really has coloured pixels (not only white and greys)
    const coloured = await page.evaluate(() => {
      const c = document.getElementById("map") as HTMLCanvasElement;
      const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (Math.max(d[i]!, d[i + 1]!, d[i + 2]!) - Math.min(d[i]!, d[i + 1]!, d[i + 2]!) > 40) n++;
      return n;
    });
    expect(coloured).toBeGreaterThan(100);
    expect(await page.locator("#caches tr").count()).toBeGreaterThan(3); // header + the workload's caches
    expect(await page.locator("#slabinfo").textContent()).toContain("slabinfo - version: 2.1");
  });

  it("the numbers move while the workload runs, and stop when paused", async () => {
    const a = Number(await page.locator("#ops").textContent());
    await page.waitForTimeout(700);
    const b = Number(await page.locator("#ops").textContent());
    expect(b).toBeGreaterThan(a);
    await page.click("#pause");
    expect(await dash<boolean>("paused")).toBe(true);
    const c = await dash<number>("ops");
    await page.waitForTimeout(400);
    expect(await dash<number>("ops")).toBe(c);
    await page.click("#step");
    expect(await dash<number>("ops")).toBe(c + (await dash<number>("opsPerFrame()")));
    expect(Number(await page.locator("#ops").textContent())).toBe(c + (await dash<number>("opsPerFrame()")));
  });

  it("reap and shrink run and report in the log", async () => {
    await page.click("#reap");
    await page.click("#shrink");
    const text = await page.locator("#log").textContent();
    expect(text).toMatch(/reap: CPU \d+, \d+ pages given back/);
    expect(text).toMatch(/shrink: \d+ pages given back/);
    await page.click("#pause"); // resume
    expect(await dash<boolean>("paused")).toBe(false);
  });

  it("saves a screenshot", async () => {
    await page.waitForTimeout(1500);
    const file = join(tmpdir(), "wasm-slab-dashboard.png");
    await page.screenshot({ path: file, fullPage: true });
    console.log(`dashboard screenshot: ${file}`);
    expect(existsSync(file)).toBe(true);
  });

  it("runs a trace workload chosen in the page", async () => {
    const options = await page.locator("#workload option").allTextContents();
    expect(options.some((o) => o.startsWith("trace "))).toBe(true);
    await page.selectOption("#workload", "binary-bal");
    await page.waitForFunction("window.dashboard.ready && window.dashboard.ops > 2000", null, { timeout: 30_000 });
    expect(await page.locator("#summary").textContent()).toContain("trace binary-bal");
    expect(await dash<string | null>("error")).toBeNull();
    expect(errors).toEqual([]);
  });

  it("the server serves only its files", async () => {
    for (const path of ["/dist/../package.json", "/dashboard/../package.json", "/cli/lib/args.mjs", "/traces/..%2F..%2Fetc%2Fpasswd.rep", "/nope"]) {
      const res = await fetch(new URL(path, srv.url));
      expect(res.status, path).toBe(404);
    }
    const ok = await fetch(new URL("/dist/index.js", srv.url));
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toContain("javascript");
    expect((await fetch(new URL("/", srv.url), { method: "POST" })).status).toBe(405);
  });
});
