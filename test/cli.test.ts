// cli.test.ts — the `wasm-slab` command and its subcommands, run as a user runs them (node
// bin/wasm-slab.mjs ...): exit codes, --help, unknown options and arguments, and real output of bench
// (one quick section into a results directory), replay and slabinfo on traces of ../shared/traces, top
// --once / --iterations on a trace and on the synthetic workload, and the dashboard server. Also the
// pieces under them: the results writer (harness.writeSection, bench/report.mjs charts), the page map
// against heap.stats(), the cache rows against slabinfo, and the synthetic workload's determinism.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { STAT_NAMES, createAllocator, parseTrace } from "../dist/index.js";
// @ts-expect-error — plain .mjs modules without types
import { PAGE, pageMap } from "../cli/lib/pagemap.mjs";
// @ts-expect-error — plain .mjs modules without types
import { cacheRows } from "../cli/lib/caches.mjs";
// @ts-expect-error — plain .mjs modules without types
import { SyntheticWorkload, TraceWorkload } from "../cli/lib/workload.mjs";
// @ts-expect-error — plain .mjs modules without types
import { writeReport } from "../bench/report.mjs";

const ROOT = join(__dirname, "..");
const BIN = join(ROOT, "bin", "wasm-slab.mjs");
const TRACES = [join(ROOT, "..", "shared", "traces"), join(ROOT, "..", "..", "shared", "traces")].find(existsSync)!;
const trace = (n: string) => join(TRACES, `${n}.rep`);
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "wasm-slab-cli-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: ROOT, env: { ...process.env, WASM_SLAB_BENCH_DIR: "" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const COMMANDS = ["bench", "replay", "slabinfo", "top", "dashboard", "merge-c"];

describe("wasm-slab", () => {
  it("lists its commands; no command or an unknown one is a usage error", () => {
    const help = cli("--help");
    expect(help.code).toBe(0);
    for (const c of COMMANDS) expect(help.out).toContain(`  ${c}`);
    expect(cli().code).toBe(2);
    const bad = cli("nosuch");
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("unknown command 'nosuch'");
  });

  it.each(COMMANDS)("%s: --help exits 0, an unknown option exits 2", (c) => {
    const h = cli(c, "--help");
    expect(h.code).toBe(0);
    expect(h.out).toContain(`usage: wasm-slab ${c}`);
    const u = cli(c, "--bogus", "1");
    expect(u.code).toBe(2);
    expect(u.err).toMatch(/Unknown option '--bogus'/);
  });
});

describe("wasm-slab bench", () => {
  it("rejects unknown sections and bad --runs, lists the sections", () => {
    const r = cli("bench", "micr");
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown section 'micr'");
    expect(cli("bench", "--runs", "0", "micro").code).toBe(2);
    expect(cli("bench", "--runs", "x").code).toBe(2);
    const l = cli("bench", "--list");
    expect(l.code).toBe(0);
    for (const s of ["micro", "capacity", "overhead", "reclaim", "replay", "malloc"]) expect(l.out).toContain(s);
  });

  it("runs a section into the results directory it names: results.json, results.md, the section's files", () => {
    const out = join(tmp(), "res");
    const r = cli("bench", "overhead", "--out", out);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`results directory: ${out}`);
    expect(r.out).toContain("=== [1/1] overhead");
    expect(r.out).toMatch(/about .* left in the suite/);
    const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    expect(res.machine.node).toBe(process.version);
    expect(res.machine.cpu.model.length).toBeGreaterThan(0);
    expect(res.machine.git.revision).toMatch(/^[0-9a-f]{40}$/);
    expect(Date.parse(res.date)).toBeGreaterThan(0);
    const [s] = res.sections;
    expect(s).toMatchObject({ name: "overhead", status: "ok", exitCode: 0 });
    expect(s.figures.find((f: { name: string }) => f.name === "objects per slab, 64 B").value).toBe(64);
    expect(s.tables[0].header[0]).toBe("object B");
    const md = readFileSync(join(out, "results.md"), "utf8");
    expect(md).toContain("## overhead");
    expect(md).toContain(res.machine.git.revision);
    expect(readFileSync(join(out, "overhead.txt"), "utf8")).toContain("objs/slab");
    expect(existsSync(join(out, "overhead.json"))).toBe(true);
  }, 120_000);
});

describe("the results contract", () => {
  it("writeSection writes <section>.json only when WASM_SLAB_BENCH_DIR is set, and checks its input", async () => {
    const dir = tmp();
    const prev = process.env.WASM_SLAB_BENCH_DIR;
    // @ts-expect-error — a plain .mjs module without types
    const { writeSection } = await import("../bench/harness.mjs");
    try {
      delete process.env.WASM_SLAB_BENCH_DIR;
      expect(writeSection("x", { figures: [] })).toBeNull();
      process.env.WASM_SLAB_BENCH_DIR = dir;
      const f = writeSection("demo", { figures: [{ name: "a", value: 3, unit: "ns", baselineValue: 2, goal: 1.2 }] });
      const doc = JSON.parse(readFileSync(f, "utf8"));
      expect(doc.figures[0]).toMatchObject({ ratio: 1.5, better: "lower", reached: false });
      expect(() => writeSection("Bad Name", { figures: [] })).toThrow(TypeError);
      expect(() => writeSection("demo", { figures: [{ value: 1 }] })).toThrow(TypeError);
    } finally {
      if (prev === undefined) delete process.env.WASM_SLAB_BENCH_DIR;
      else process.env.WASM_SLAB_BENCH_DIR = prev;
    }
  });

  it("the report draws the goals chart and the charts a section asks for", () => {
    const dir = tmp();
    const section = {
      section: "demo",
      figures: [
        { name: "fast", value: 1, ratio: 0.8, goal: 1.5, better: "lower", reached: true },
        { name: "slow <&>", value: 1, ratio: 4, goal: 3, better: "higher", reached: true },
        { name: "no goal", value: 7, unit: "ns" },
      ],
      tables: [{ title: "t", header: ["a", "b"], rows: [["x", "1"]] }],
      charts: [
        { id: "curve", kind: "lines", title: "curve", series: [{ name: "s", points: [[0, 1], [8, 50], [60, 99]] }] },
        { id: "util", kind: "bars", title: "util", categories: ["t1", "t2"], series: [{ name: "a", values: [50, 70] }], unit: "%" },
        { id: "../evil", kind: "bars", title: "x", categories: [], series: [] },
      ],
    };
    writeFileSync(join(dir, "demo.json"), JSON.stringify(section));
    writeFileSync(join(dir, "demo-own.svg"), "<svg/>"); // a chart the section drew itself
    const machine = { node: "v0", v8: "0", os: "x", cpu: { model: "cpu", cores: 1 }, git: { revision: "r", branch: "b", dirty: false } };
    const files = writeReport(dir, { date: "2026-01-01T00:00:00Z", argv: ["wasm-slab", "bench"], machine, sections: [{ name: "demo", what: "a demo", status: "ok", exitCode: 0, seconds: 1 }] });
    expect(files).toEqual(["results.json", "results.md", "goals.svg", "demo-curve.svg", "demo-util.svg", "demo-own.svg"]);
    const goals = readFileSync(join(dir, "goals.svg"), "utf8");
    expect(goals).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(goals.trimEnd().endsWith("</svg>")).toBe(true);
    expect(goals).toContain("demo: slow &lt;&amp;&gt;");
    expect(goals).not.toContain("no goal");
    expect(readFileSync(join(dir, "demo-curve.svg"), "utf8")).toContain("<polyline");
    expect(readFileSync(join(dir, "demo-util.svg"), "utf8")).toContain("t2, a: 70%");
    const md = readFileSync(join(dir, "results.md"), "utf8");
    expect(md).toContain("![ratios against their goals](goals.svg)");
    expect(md).toContain("| demo | slow <&> |");
    expect(md).toContain("(demo-own.svg)");
  });
});

describe("wasm-slab replay", () => {
  it("prints checks, ops/s and utilization per trace, and the footprint breakdown when the heap has one", async () => {
    const r = cli("replay", "--runs", "1", trace("short1-bal"), trace("binary-bal"));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/short1-bal\s+12\s+ok\s+[\d.]+\s+8144\s+\d+\s+[\d.]+%/);
    expect(r.out).toMatch(/binary-bal\s+6000\s+ok/);
    const heap = await createAllocator({ reap: false });
    if (typeof (heap as unknown as { footprint?: unknown }).footprint === "function") expect(r.out).toContain("footprint breakdown of binary-bal");
    else expect(r.out).toContain("no footprint breakdown");
  }, 120_000);

  it("--json gives the figures; bad input is an error", () => {
    const j = cli("replay", "--runs", "0", "--json", trace("binary-bal"));
    expect(j.code).toBe(0);
    const [res] = JSON.parse(j.out);
    expect(res).toMatchObject({ trace: "binary-bal", ops: 6000, ok: true, peakLive: 576000 });
    expect(res.utilization).toBeGreaterThan(0);
    expect(res.utilization).toBeLessThanOrEqual(1);
    expect(cli("replay").code).toBe(2);
    expect(cli("replay", "--classes", "odd", trace("binary-bal")).code).toBe(2);
    const missing = cli("replay", "/nonexistent/x.rep");
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("no such file");
  }, 60_000);
});

describe("wasm-slab slabinfo", () => {
  it("prints slabinfo after the synthetic workload", () => {
    const r = cli("slabinfo", "--ops", "5000", "--validate");
    expect(r.code).toBe(0);
    expect(r.out).toContain("slabinfo - version: 2.1");
    expect(r.out).toContain("5000 operations run");
    const msg = r.out.split("\n").find((l) => l.startsWith("msg-64"))!;
    expect(Number(msg.split(/\s+/)[1])).toBeGreaterThan(0);
    expect(r.out).toContain("# validate: ok");
  });

  it("prints slabinfo after a trace; bad options are usage errors", () => {
    const r = cli("slabinfo", "--trace", trace("binary-bal"));
    expect(r.code).toBe(0);
    expect(r.out).toContain("trace binary-bal: 6000 operations; 6000 operations run");
    expect(r.out).toMatch(/^kmalloc-\d+ /m);
    expect(cli("slabinfo", "--trace", "/nonexistent.rep").code).toBe(2);
    expect(cli("slabinfo", "--trace", trace("binary-bal"), "--synthetic").code).toBe(2);
    expect(cli("slabinfo", "--nodes", "9").code).toBe(2);
    expect(cli("slabinfo", "--loop").code).toBe(2);
    expect(cli("slabinfo", "stray").code).toBe(2);
  });
});

describe("wasm-slab top", () => {
  const frames = (out: string) => out.split("Active / Total Objects").length - 1;
  it("--once prints one slabtop frame", () => {
    const r = cli("top", "--once", "--ops", "5000");
    expect(r.code).toBe(0);
    expect(frames(r.out)).toBe(1);
    expect(r.out).toMatch(/Active \/ Total Slabs \(% used\)\s+: \d+ \/ \d+/);
    expect(r.out).toContain("OBJS ACTIVE  USE OBJ SIZE");
    expect(r.out).toMatch(/ 5000 ops/);
    expect(r.out).toMatch(/ msg-64\n/);
  });

  it("--iterations N refreshes N times and the workload moves between them; --sort orders the rows", () => {
    const r = cli("top", "--iterations", "3", "--ops", "1000", "--delay", "0.05", "--sort", "name");
    expect(r.code).toBe(0);
    expect(frames(r.out)).toBe(3);
    expect([...r.out.matchAll(/; (\d+) ops,/g)].map((m) => Number(m[1]))).toEqual([1000, 2000, 3000]);
    const last = r.out.slice(r.out.lastIndexOf("OBJS ACTIVE"));
    const names = last.trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/).pop()!);
    expect(names.length).toBeGreaterThan(3);
    expect(names).toEqual([...names].sort());
  });

  it("runs a trace; bad options are usage errors", () => {
    const r = cli("top", "--once", "--trace", trace("binary-bal"), "--ops", "6000");
    expect(r.code).toBe(0);
    expect(r.out).toContain("trace binary-bal");
    expect(r.out).toMatch(/kmalloc-\d+/);
    expect(cli("top", "--sort", "bogus", "--once").code).toBe(2);
    expect(cli("top", "--delay", "0", "--once").code).toBe(2);
    expect(cli("top", "--once", "--iterations", "2").code).toBe(2);
  });
});

describe("wasm-slab dashboard", () => {
  it("rejects a bad port; serves the page on 127.0.0.1 until interrupted", async () => {
    expect(cli("dashboard", "--port", "99999").code).toBe(2);
    const child = spawn(process.execPath, [BIN, "dashboard", "--port", "0"], { cwd: ROOT });
    const url = await new Promise<string>((ok, fail) => {
      let text = "";
      child.stdout.on("data", (b) => {
        text += b;
        const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(text);
        if (m) ok(m[1]!);
      });
      child.on("exit", (c) => fail(new Error(`exited ${c}`)));
    });
    const page = await (await fetch(url)).text();
    expect(page).toContain("slab map");
    const traces = await (await fetch(url + "traces/")).json();
    expect(traces).toContain("binary-bal");
    const code = await new Promise((ok) => {
      child.on("exit", ok);
      child.kill("SIGINT");
    });
    expect(code).toBe(0);
  });
});

describe("the pieces under top and the dashboard", () => {
  it("the page map agrees with heap.stats(): slab, free and large pages", async () => {
    const heap = await createAllocator({ nodes: 2, cpusPerNode: 2, reap: false });
    const w = new SyntheticWorkload(heap, { seed: 7 });
    w.step(30_000);
    const big = heap.malloc(3 << 20); // a run of whole chunks
    const large = heap.malloc(100_000); // a large block (a page run)
    // runs: chunk runs (huge blocks) live; the first chunk of a run keeps its descriptor pages, which the
    // map shows as META and stats counts among the large pages
    const check = (runs: number) => {
      const pm = pageMap(heap);
      const hs = heap.stats();
      const count = (k: number) => pm.kind.reduce((n: number, x: number) => n + (x === k ? 1 : 0), 0);
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      expect(pm.pages).toBe(hs.chunks * 256);
      expect(count(PAGE.SLAB)).toBe(sum(hs.slabPages));
      expect(count(PAGE.FREE) + count(PAGE.UNCOMMITTED)).toBe(sum(hs.freePages));
      expect(count(PAGE.LARGE) + 2 * runs).toBe(sum(hs.largePages));
      for (let p = 0; p < pm.pages; p++) {
        if (pm.kind[p] !== PAGE.SLAB) continue;
        expect(pm.owner[p]).toBeGreaterThanOrEqual(0);
        expect(pm.fill[p]).toBeGreaterThanOrEqual(0);
        expect(pm.fill[p]).toBeLessThanOrEqual(1);
      }
      return pm;
    };
    const pm = check(1);
    const msg = cacheRows(heap, STAT_NAMES).find((r: { name: string }) => r.name === "msg-64");
    expect(msg.counters).toEqual(w.caches[0].cache.stats().counters); // the rows' counters are the library's
    expect(msg.counters.alien_free).toBeGreaterThan(0); // consumers on the other node free remotely
    expect(pm.caches.map((c: { name: string }) => c.name)).toContain("msg-64");
    heap.free(big);
    check(0);
    heap.free(large);
    w.release();
    heap.shrink();
    check(0);
  });

  it("the cache rows agree with slabinfo", async () => {
    const heap = await createAllocator({ reap: false });
    const w = new TraceWorkload(heap, parseTrace(readFileSync(trace("amptjp-bal"), "utf8"), "amptjp-bal"));
    w.step(3000);
    const lines = new Map(heap.slabinfo().split("\n").slice(2).filter(Boolean).map((l) => [l.split(/\s+/)[0], l.split(/\s+/)]));
    const rows = cacheRows(heap, STAT_NAMES);
    expect(rows.length).toBe(lines.size);
    for (const r of rows) {
      const f = lines.get(r.name)!;
      expect([Number(f[1]), Number(f[2]), Number(f[3]), Number(f[4]), Number(f[5])]).toEqual([r.active, r.total, r.objsize, r.objperslab, r.pagesperslab]);
      expect([Number(f[13]), Number(f[14])]).toEqual([r.activeSlabs, r.slabs]); // slabdata <active_slabs> <num_slabs>
    }
  });

  it("the synthetic workload is deterministic for a seed and a trace workload stops at its end", async () => {
    const run = async (seed: number) => {
      const heap = await createAllocator({ nodes: 2, cpusPerNode: 2, reap: false });
      new SyntheticWorkload(heap, { seed }).step(20_000);
      return heap.slabinfo();
    };
    expect(await run(3)).toBe(await run(3));
    expect(await run(3)).not.toBe(await run(4));
    const heap = await createAllocator({ reap: false });
    const w = new TraceWorkload(heap, parseTrace(readFileSync(trace("short1-bal"), "utf8"), "short1-bal"));
    expect(w.step(100)).toBe(12);
    expect(w.done).toBe(true);
    expect(w.step(10)).toBe(0);
    w.release();
    expect(heap.validate().ok).toBe(true);
  });
});
