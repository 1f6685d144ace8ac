// util-peers.mjs — utilization of wasm-slab (merged into C) and dlmalloc (wasi-libc) on every trace, one
// replay each: the memory goals of issue 12. Imported by bench/memory.mjs; runnable by hand:
//   node bench/util-peers.mjs
//   node bench/util-peers.mjs --breakdown [TRACE...]   wasm-slab's heap at its high-water point, per trace
//     (default: the traces under 64 KiB live): footprint categories and pages by owner (wasm-run.mjs)
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { mergeC } from "../scripts/merge-c.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");

export function traceDir() {
  return [process.env.WASM_SLAB_TRACES, join(root, "..", "shared", "traces"), join(root, "..", "..", "shared", "traces")].find((d) => d && existsSync(d));
}

/** The payload bytes one replay of a trace fills (bench/c/mbench.c replay): a block's whole size at its
 *  malloc, a realloc's grown part only (fill from the old size), nothing at a free. `lines` are the trace's
 *  operation lines ("a id size", "r id size", "f id"). The benchmarks cap their repetitions with it. */
export function payloadPerReplay(lines) {
  const size = new Map();
  let bytes = 0;
  for (const l of lines) {
    const [op, id, n] = l.split(/\s+/);
    if (op === "a") { bytes += Number(n); size.set(id, Number(n)); }
    else if (op === "r") { bytes += Math.max(0, Number(n) - (size.get(id) ?? 0)); size.set(id, Number(n)); }
    else size.delete(id);
  }
  return bytes;
}

/** Repetitions of a trace per timed sample (bench/malloc-peers.mjs, bench/harness-bound.mjs): about 200k
 *  operations, but at most ~256 MiB of payload filled (corners allocates 50 MiB); `bumpReps` for the bump
 *  peer, which frees nothing, keeps what it takes (every malloc's and realloc's whole size) under ~512 MiB. */
export function traceReps(lines) {
  const filled = payloadPerReplay(lines);
  let taken = 0;
  for (const l of lines) { const p = l.split(/\s+/); if (p[0] !== "f") taken += Number(p[2]); }
  const reps = Math.max(1, Math.min(Math.ceil(200_000 / Math.max(1, lines.length)), Math.floor((256 << 20) / Math.max(1, filled))));
  return { reps, bumpReps: Math.max(1, Math.min(reps, Math.floor((512 << 20) / Math.max(1, taken)))) };
}

/** Build the two Wasm peers; null when clang / wasi-libc are missing. */
export function buildPeers() {
  if (spawnSync("clang", ["--version"], { stdio: "ignore" }).status !== 0 || !existsSync("/usr/lib/wasm32-wasi/libc.a")) return null;
  const dir = mkdtempSync(join(tmpdir(), "util-peers-"));
  const src = join(here, "c", "mbench.c");
  const wasi = ["--target=wasm32-wasi", "-O2", "-Wl,--export=__heap_base"];
  execFileSync("clang", [...wasi, `-I${join(root, "c")}`, src, join(root, "c", "slab_shim.c"), "-o", join(dir, "own.wasm")]);
  mergeC(join(dir, "own.wasm"), join(dir, "slab.wasm"));
  execFileSync("clang", [...wasi, src, "-o", join(dir, "dlmalloc.wasm")]);
  return { slab: join(dir, "slab.wasm"), dl: join(dir, "dlmalloc.wasm") };
}

/** One replay of `trace` (a path) by the peer build `file`: { peakLive, footprint, utilization }. */
export function utilization(file, trace) {
  const r = spawnSync(process.execPath, ["--single-threaded", "--no-warnings", join(here, "wasm-run.mjs"), file, dirname(trace), "--", "traces", "1", trace], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${file} ${trace}: exited ${r.status}: ${r.stderr}`);
  const peakLive = Number(/peak_live=(\d+)/.exec(r.stdout)[1]);
  const footprint = Number(/footprint (\d+)/.exec(r.stdout)[1]);
  return { peakLive, footprint, utilization: peakLive / footprint };
}

/** wasm-slab merged into mbench.c built with -DMBENCH_HOOK (the replay reports every operation to the
 * runner: wasm-run.mjs --breakdown). Never timed. Null without clang / wasi-libc. */
export function buildBreakdownPeer() {
  if (spawnSync("clang", ["--version"], { stdio: "ignore" }).status !== 0 || !existsSync("/usr/lib/wasm32-wasi/libc.a")) return null;
  const dir = mkdtempSync(join(tmpdir(), "util-breakdown-"));
  execFileSync("clang", ["--target=wasm32-wasi", "-O2", "-DMBENCH_HOOK", "-Wl,--export=__heap_base", `-I${join(root, "c")}`, join(here, "c", "mbench.c"), join(root, "c", "slab_shim.c"), "-o", join(dir, "own.wasm")]);
  mergeC(join(dir, "own.wasm"), join(dir, "slab.wasm"));
  return join(dir, "slab.wasm");
}

/** wasm-slab's heap at the high-water point of one replay of `trace` by the hooked build `file`. */
export function breakdown(file, trace) {
  const r = spawnSync(process.execPath, ["--single-threaded", "--no-warnings", join(here, "wasm-run.mjs"), "--breakdown", file, dirname(trace), "--", "traces", "1", trace], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${file} ${trace}: exited ${r.status}: ${r.stderr}`);
  return JSON.parse(/^breakdown (.*)$/m.exec(r.stdout)[1]);
}

/** Every trace, both peers. */
export function utilizationTable(peers, dir = traceDir()) {
  const files = readdirSync(dir).filter((f) => f.endsWith(".rep")).sort();
  return files.map((f) => ({ trace: f.replace(".rep", ""), slab: utilization(peers.slab, join(dir, f)), dl: utilization(peers.dl, join(dir, f)) }));
}

/** The issue-12 goals over a utilization table. */
export function utilizationGoals(rows) {
  const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const slabMean = mean(rows.map((r) => r.slab.utilization));
  const dlMean = mean(rows.map((r) => r.dl.utilization));
  const big = rows.filter((r) => r.slab.peakLive >= 1 << 20);
  const bigOk = big.filter((r) => 100 * (r.slab.utilization - r.dl.utilization) >= -3);
  const small = rows.filter((r) => r.slab.peakLive < 64 << 10);
  const smallOk = small.filter((r) => r.slab.footprint <= 1.5 * r.dl.footprint);
  return { slabMean, dlMean, big: big.length, bigOk: bigOk.length, small: small.length, smallOk: smallOk.length };
}

function printBreakdown(name, b) {
  const kb = (n) => `${(n / 1024).toFixed(1)}K`;
  const f = b.fp;
  f.live = f.live + (b.live - f.largeRequested);          // the replayer knows what its blocks asked for
  f.rounding += f.kmUsable - (b.live - f.largeRequested);
  console.log(`${name}: live ${b.live} at the high-water point ${kb(b.highWater)} (memory ${kb(b.memory)}), header+gap ${kb(b.headerEnd)}`);
  console.log(`  ${["header", "metadata", "internal", "kmUsable", "live", "rounding", "slabTail", "slabFree", "parked", "largeTail", "free", "untouched", "other"].map((k) => `${k} ${f[k]}`).join("  ")}`);
  console.log(`  pages: ${Object.entries(b.pages).map(([k, v]) => `${k} ${v}${b.objects[k] ? ` (${b.objects[k][0]}/${b.objects[k][1]})` : ""}`).join(", ")}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes("--breakdown")) {
  const file = buildBreakdownPeer();
  if (!file) { console.log("(no clang / wasi-libc)"); process.exit(0); }
  const dir = traceDir();
  const names = process.argv.slice(2).filter((a) => !a.startsWith("--"));
  const traces = names.length ? names : ["coalescing-bal", "realloc2-bal", "short2-bal", "bash", "perl", "malloc", "malloc-free", "short1-bal"];
  for (const t of traces) {
    const b = breakdown(file, join(dir, `${t}.rep`));
    printBreakdown(t, b);
    if (b.atGrow && b.atGrow.highWater !== b.highWater) printBreakdown(`${t} (when memory last grew)`, b.atGrow);
  }
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const peers = buildPeers();
  if (!peers) { console.log("(no clang / wasi-libc)"); process.exit(0); }
  const rows = utilizationTable(peers);
  for (const r of rows) {
    const pts = 100 * (r.slab.utilization - r.dl.utilization);
    console.log(`${r.trace.padEnd(16)} live ${String(r.slab.peakLive).padStart(9)}  slab ${(100 * r.slab.utilization).toFixed(1).padStart(5)}% ${String(r.slab.footprint).padStart(9)}  dl ${(100 * r.dl.utilization).toFixed(1).padStart(5)}% ${String(r.dl.footprint).padStart(9)}  ${pts.toFixed(1).padStart(6)} pts  fp ×${(r.slab.footprint / r.dl.footprint).toFixed(2)}`);
  }
  const g = utilizationGoals(rows);
  console.log(`mean utilization: wasm-slab ${(100 * g.slabMean).toFixed(1)}%  dlmalloc ${(100 * g.dlMean).toFixed(1)}%`);
  console.log(`≥ 1 MiB live within 3 points: ${g.bigOk}/${g.big};  < 64 KiB live, footprint ≤ 1.5× dl: ${g.smallOk}/${g.small}`);
}
