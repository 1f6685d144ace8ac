#!/usr/bin/env node
// creep-map.mjs — by hand: where slab pages, medium regions and free runs sit in the heap after each replay
// of a trace (mbench.c given the trace N times, 1 repetition each, the heap carried over as in a
// malloc-peers.mjs sample), and the memory pages at exit after each count of replays.
//
// Owns: nothing shared; a measurement tool (bench/PROFILE.md "The heap's creep over replays, session 12
// (helper creep)").
// Usage: node bench/creep-map.mjs TRACE.rep N [--map [--peak]] [--reps] [--no-dl] [--counts 1,2,3,6] [name=slab-merge.wasm ...]
//   e.g. node bench/creep-map.mjs /work/shared/traces/random2-bal.rep 3 --map base=/tmp/base.wasm new=dist/slab-merge.wasm
// Without --map: one process per build and per count in --counts (default 1,2,3,6), printing the Wasm
// memory pages at exit (dlmalloc's too). With --map: one process per build replaying N times, printing
// after each replay (when mbench prints its line: after the replay's final sweep of frees) the heap's
// page map, one line per chunk, one character per 4 KiB page: s slab, m medium region, L large block,
// R run of chunks, . free run below the high-water mark, _ free above it (never handed out), - a free
// chunk; then the totals: slab pages (and empty slabs), medium regions and their pages, the high-water
// mark and memory in Wasm pages; --peak adds the map at each replay's highest live bytes (mbench.c built
// with -DMBENCH_HOOK: a hook import, the same static data). --reps: the trace given once with a repetition count (`mbench traces K
// TRACE`, as malloc-peers.mjs and util-peers.mjs run it) instead of K times: the program's arguments,
// which wasi-libc mallocs before main, then have the same length at every count (they move wasm-slab's
// layout: bench/PROFILE.md, session 12). With --map, only the heap at exit.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { execFileSync, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { WASI } from "node:wasi";
import { mergeC } from "../scripts/merge-c.mjs";
import { wasmRunFlags } from "./wasm-run.mjs";

const self = fileURLToPath(import.meta.url);
const here = dirname(self);
const root = join(here, "..");

/** The page map of a merged module's heap (exports x). */
function heapMap(x) {
  const g = (name) => x[name].value >>> 0;
  const dv = new DataView(x.memory.buffer);
  const u32 = (a) => dv.getUint32(a, true);
  const hdr = (g("__heap_base") + 63) & ~63;
  const chunkBase = u32(hdr + g("H_CHUNK_BASE"));
  const hw = u32(hdr + g("H_HIGH_WATER"));
  const nchunks = u32(hdr + g("H_NCHUNKS"));
  const memEnd = x.memory.buffer.byteLength;
  const PS = g("PAGE_SIZE"), DS = g("DESC_SIZE");
  const lines = [];
  const tot = { slab: 0, slabEmpty: 0, slabs: 0, medium: 0, regions: 0, large: 0, free: 0, wild: 0, freeChunks: 0, bySize: {} };
  for (let c = 0; c < nchunks; c++) {
    const cs = chunkBase + c * g("CHUNK_SIZE");
    if (dv.getUint8(hdr + g("H_CHUNK_TABLE") + c) & g("CT_RUN_TAIL")) { lines.push(`${String(c).padStart(3)} R(tail)`); continue; }
    if (cs >= memEnd) { lines.push(`${String(c).padStart(3)} (uncommitted)`); continue; }
    const state = dv.getUint8(cs + g("CH_STATE"));
    if (state === g("CS_FREE")) { tot.freeChunks++; lines.push(`${String(c).padStart(3)} - free chunk`); continue; }
    let s = "";
    for (let p = g("META_PAGES"); p < g("PAGES_PER_CHUNK");) {
      const d = cs + p * DS, a = cs + p * PS;
      if (a >= memEnd) { s += "u".repeat(g("PAGES_PER_CHUNK") - p); break; }
      const kind = dv.getUint8(d + g("D_KIND"));
      let n = 1, ch = "?";
      if (kind === g("K_FREE")) {
        n = dv.getUint16(d + g("D_OBJECTS"), true);
        ch = a + n * PS <= hw ? "." : "_";
        if (ch === ".") tot.free += n; else tot.wild += n;
        if (a < hw && a + n * PS > hw) { const k = Math.floor((hw - a) / PS); s += ".".repeat(k); tot.free += k; tot.wild -= k; ch = "_"; n -= k; p += k; }
      } else if (kind === g("K_SLAB")) {
        const cache = u32(d + g("D_CACHE"));
        n = 1 << u32(cache + g("C_ORDER"));
        ch = "s";
        tot.slab += n; tot.slabs++;
        const size = u32(cache + g("C_SIZE"));
        tot.bySize[size] = (tot.bySize[size] ?? 0) + n;
        if (dv.getUint16(d + g("D_INUSE"), true) === 0) { tot.slabEmpty += n; ch = "e"; }
      } else if (kind === g("K_LARGE")) { n = dv.getUint16(d + g("D_OBJECTS"), true); ch = "L"; tot.large += n; }
      else if (kind === g("K_MEDIUM")) { n = dv.getUint16(d + g("D_OBJECTS"), true); ch = "m"; tot.medium += n; tot.regions++; }
      else if (kind === g("K_RUN")) { n = g("PAGES_PER_CHUNK") - p; ch = "R"; }
      if (ch === "m") s += "[" + "m".repeat(Math.max(0, n - 2)) + (n > 1 ? "]" : "");
      else s += ch.repeat(n);
      p += n;
    }
    lines.push(`${String(c).padStart(3)} ${s}`);
  }
  return { lines, tot, hwPages: ((hw - g("__heap_base")) / 65536).toFixed(2), memPages: memEnd / 65536 };
}

// Child mode: --child FILE TRACE N MAP → JSON lines
if (process.argv[2] === "--child") {
  const [file, trace, n, map, reps] = process.argv.slice(3);
  const targs = reps === "1" ? [n, trace] : ["1", ...Array(Number(n)).fill(trace)];
  const wasi = new WASI({ version: "preview1", args: ["mbench", "traces", ...targs], preopens: { [dirname(trace)]: dirname(trace) }, returnOnExit: true });
  let x = null;
  const snaps = [];
  // the hooked build (--peak): the map at the highest live bytes of each replay
  let peakLive = -1, peakSnap = null;
  const mbench_hook = (live) => {
    if (map === "1" && live > peakLive) { peakLive = live; peakSnap = heapMap(x); }
  };
  const imp = { ...wasi.wasiImport };
  const fdWrite = imp.fd_write;
  let buf = "";
  imp.fd_write = (fd, iovs, niovs, nwritten) => {
    if (fd === 1 && x) {
      const dv = new DataView(x.memory.buffer);
      for (let i = 0; i < niovs; i++) {
        const p = dv.getUint32(iovs + 8 * i, true), l = dv.getUint32(iovs + 8 * i + 4, true);
        buf += Buffer.from(x.memory.buffer, p, l).toString();
      }
      let k;
      while ((k = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, k); buf = buf.slice(k + 1);
        if (line.startsWith("trace ") && map === "1") { snaps.push({ line, ...heapMap(x), peak: peakSnap }); peakLive = -1; peakSnap = null; }
      }
    }
    return fdWrite(fd, iovs, niovs, nwritten);
  };
  const inst = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(file)), { env: { hook: () => 0, mbench_hook }, wasi_snapshot_preview1: imp });
  x = inst.exports;
  wasi.start(inst);
  process.stderr.write(JSON.stringify({ pages: x.memory.buffer.byteLength / 65536, snaps }) + "\n");
  process.exit(0);
}

const args = process.argv.slice(2);
const map = args.includes("--map");
const repsMode = args.includes("--reps");
const peak = args.includes("--peak");
const ci = args.indexOf("--counts");
const counts = ci >= 0 ? args[ci + 1].split(",").map(Number) : [1, 2, 3, 6];
const [trace, n, ...builds] = args.filter((a, i) => a !== "--map" && a !== "--reps" && a !== "--peak" && a !== "--no-dl" && (ci < 0 || (i !== ci && i !== ci + 1)));
if (!trace || !(Number(n) >= 1)) {
  console.error("usage: node bench/creep-map.mjs TRACE.rep N [--map] [--counts 1,2,3,6] [name=slab-merge.wasm ...]");
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), "creep-map-"));
// mbench.c alone (for wasm-slab, merged below) and with wasi-libc's dlmalloc, as bench/c/build.mjs builds them
const WASI_FLAGS = ["--target=wasm32-wasi", "-O2", "-Wl,--export=__heap_base"];
const peers = { own: join(work, "own.wasm"), dl: join(work, "dlmalloc.wasm") };
execFileSync("clang", [...WASI_FLAGS, `-I${join(root, "c")}`, join(here, "c", "mbench.c"), join(root, "c", "slab_shim.c"), "-o", peers.own]);
if (!map && !args.includes("--no-dl")) execFileSync("clang", [...WASI_FLAGS, join(here, "c", "mbench.c"), "-o", peers.dl]);
if (peak) {                       // mbench.c with -DMBENCH_HOOK (as bench/util-peers.mjs's breakdown builds it)
  peers.own = join(work, "own-hook.wasm");
  execFileSync("clang", ["--target=wasm32-wasi", "-O2", "-DMBENCH_HOOK", "-Wl,--export=__heap_base", `-I${join(root, "c")}`, join(here, "c", "mbench.c"), join(root, "c", "slab_shim.c"), "-o", peers.own]);
}
const files = map || args.includes("--no-dl") ? {} : { dl: peers.dl };
if (builds.length === 0) builds.push(`slab=${join(root, "dist", "slab-merge.wasm")}`);
for (const b of builds) {
  const [name, f] = b.split("=");
  mergeC(peers.own, join(work, `${name}.wasm`), { slab: resolve(f) });
  files[name] = join(work, `${name}.wasm`);
}
const run = (f, k, m) => {
  const c = spawnSync(process.execPath, [...wasmRunFlags, self, "--child", f, resolve(trace), String(k), m ? "1" : "0", repsMode ? "1" : "0"], { encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "ignore", "pipe"] });
  if (c.status !== 0) throw new Error(`run exited ${c.status}: ${c.stderr.slice(-2000)}`);
  return JSON.parse(c.stderr.trim().split("\n").pop());
};
if (map) {
  for (const [name, f] of Object.entries(files)) {
    const r = run(f, Number(n), true);
    r.snaps.forEach((s, i) => {
      console.log(`== ${name} after replay ${i + 1}: memory ${s.memPages} Wasm pages, high water ${s.hwPages}; slab pages ${s.tot.slab} in ${s.tot.slabs} slabs (${s.tot.slabEmpty} in empty slabs) ${JSON.stringify(s.tot.bySize)}; medium ${s.tot.medium} pages in ${s.tot.regions} regions; large ${s.tot.large}; free runs ${s.tot.free} below the high water, ${s.tot.wild} above; free chunks ${s.tot.freeChunks}`);
      for (const l of s.lines) console.log(l);
      if (s.peak) {
        const q = s.peak;
        console.log(`-- at its peak of live bytes: memory ${q.memPages}, high water ${q.hwPages}; slab pages ${q.tot.slab} (${q.tot.slabEmpty} empty); medium ${q.tot.medium} pages in ${q.tot.regions} regions; large ${q.tot.large}; free runs ${q.tot.free} below the high water, ${q.tot.wild} above; free chunks ${q.tot.freeChunks}`);
        for (const l of q.lines) console.log(l);
      }
    });
  }
} else {
  const trName = trace.split("/").pop().replace(".rep", "");
  for (const [name, f] of Object.entries(files)) {
    const pages = counts.map((k) => run(f, k, false).pages);
    console.log(`${trName} ${name.padEnd(6)} pages at exit after ${counts.join(",")} replays: ${pages.join(" ")}`);
  }
}
rmSync(work, { recursive: true, force: true });
