#!/usr/bin/env node
// wasm-run.mjs — run one wasm32-wasi build of bench/c/mbench.c in this process, for malloc-peers.mjs and
// profile-malloc.mjs.
//   node <wasmRunFlags> bench/wasm-run.mjs FILE.wasm [PRESOPEN_DIR] -- ARGS...
// Prints the program's output, then "footprint N": memory size − __heap_base at exit (every byte the
// allocator took from the engine). A build instrumented by bench/profile-malloc.mjs exports one i32 global
// per counted function, named "prof:<function>": each is printed at exit as "count <function> N".
//   node <wasmRunFlags> bench/wasm-run.mjs --breakdown FILE.wasm [PRESOPEN_DIR] -- ARGS...
// runs a wasm-slab merged build of mbench.c compiled with -DMBENCH_HOOK (bench/util-peers.mjs breakdown):
// mbench calls env.mbench_hook(live) after every replayed operation, and this runner walks the heap
// (the merged module's heap_footprint export) each time the heap's high-water mark (H_HIGH_WATER: the end
// of the highest block ever handed out) rises. Memory only grows, so the last of those walks is the
// highest layout reached. At exit it prints that walk as one "breakdown {json}" line: the footprint categories, memory
// and high-water offsets from __heap_base, and the pages of every chunk by owner; its field atGrow is
// the walk at the rise that last grew memory (the layout that decided the footprint).
//
// Engine flags (wasmRunFlags, the one place they are chosen; callers spawn `node ...wasmRunFlags runner`):
//   --no-liftoff      compile every function with TurboFan before it runs. With V8's default tiering the
//                     program's main loop (mbench's replay, inlined into _start and entered once) never
//                     leaves the baseline compiler, because Node 20's V8 has no on-stack replacement for
//                     Wasm: the replay then measured Liftoff code and tier-up timing, not the allocators
//                     (bench/PROFILE.md, "Liftoff"). Every peer runs with the same flags.
//   --no-wasm-lazy-compilation  compile the whole module at instantiation, not a function at its first
//                     call inside the timed region.
//   --single-threaded on this machine's Node 20, runs that grow memory to tens of MiB sometimes died with
//                     SIGSEGV at the end of the program when V8's background threads were on (seen with
//                     wasm-slab's builds; not explained yet).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { WASI } from "node:wasi";

export const wasmRunFlags = ["--single-threaded", "--no-liftoff", "--no-wasm-lazy-compilation", "--no-warnings"];
export const wasmRunner = fileURLToPath(import.meta.url);

// Footprint result slots of the Wasm walk (assembly/footprint.ts FP_*), by name.
const FP_NAMES = ["total", "header", "metadata", "internal", "live", "rounding", "kmUsable", "slabTail", "slabFree", "parked", "free", "largeTail", "untouched", "other", "kmObjects", "largeRequested"];

/** The heap of a merged module `x` (its exports) right now: footprint slots, offsets, pages by owner. */
function heapSnapshot(x, live) {
  const g = (name) => x[name].value >>> 0;
  const dv = new DataView(x.memory.buffer);
  const u32 = (a) => dv.getUint32(a, true);
  const heapBase = g("__heap_base");
  const hdr = (heapBase + 63) & ~63;
  x.heap_footprint();
  const fp = Object.fromEntries(FP_NAMES.map((n, i) => [n, x.footprint_result(i)]));
  const chunkBase = u32(hdr + g("H_CHUNK_BASE"));
  const boot = u32(hdr + g("H_BOOT_CACHE"));
  const pages = {};
  const objects = {}; // slab caches: [objects in use, objects] over their slabs
  const own = (name, n) => { pages[name] = (pages[name] ?? 0) + n; };
  const nchunks = u32(hdr + g("H_NCHUNKS"));
  const memEnd = x.memory.buffer.byteLength;
  for (let c = 0; c < nchunks; c++) {
    const cs = chunkBase + c * g("CHUNK_SIZE");
    if (cs >= memEnd) break;
    const committed = Math.min(g("PAGES_PER_CHUNK"), Math.floor((memEnd - cs) / g("PAGE_SIZE")));
    // a later chunk of a run of chunks: all user bytes (its descriptor area included), to the end of memory
    if (dv.getUint8(hdr + g("H_CHUNK_TABLE") + c) & g("CT_RUN_TAIL")) { own("run", committed); continue; }
    own("descriptors", g("META_PAGES"));
    for (let p = g("META_PAGES"); p < g("PAGES_PER_CHUNK");) {
      const d = cs + p * g("DESC_SIZE"), a = cs + p * g("PAGE_SIZE");
      if (a >= memEnd) break;
      const kind = dv.getUint8(d + g("D_KIND"));
      let n = 1;
      if (kind === g("K_FREE")) { n = dv.getUint16(d + g("D_OBJECTS"), true); own("free", n); }
      else if (kind === g("K_SLAB")) {
        const cache = u32(d + g("D_CACHE"));
        n = 1 << u32(cache + g("C_ORDER"));
        const flags = u32(cache + g("C_FLAGS"));
        const name = cache === boot ? "kmem_cache" : (flags & g("F_KMALLOC")) ? `kmalloc-${u32(cache + g("C_SIZE"))}` : `internal-${u32(cache + g("C_SIZE"))}`;
        own(name, n);
        const o = objects[name] ??= [0, 0];
        o[0] += dv.getUint16(d + g("D_INUSE"), true);
        o[1] += dv.getUint16(d + g("D_OBJECTS"), true);
      } else if (kind === g("K_LARGE")) { n = dv.getUint16(d + g("D_OBJECTS"), true); own("large", n); }
      else if (kind === g("K_MEDIUM")) { n = dv.getUint16(d + g("D_OBJECTS"), true); own("medium", n); }
      else if (kind === g("K_RUN")) { n = committed - p; own("run", n); } // the first chunk of a run
      else own(`kind${kind}`, 1);
      p += n;
    }
  }
  return { live, fp, heapBase, headerEnd: chunkBase - heapBase, highWater: u32(hdr + g("H_HIGH_WATER")) - heapBase, memory: memEnd - heapBase, pages, objects };
}

if (process.argv[1] === wasmRunner) {
  const sep = process.argv.indexOf("--");
  const opts = process.argv.slice(2, sep);
  const breakdown = opts.includes("--breakdown");
  const [file, preopen] = opts.filter((a) => !a.startsWith("--"));
  const args = process.argv.slice(sep + 1);
  const wasi = new WASI({ version: "preview1", args: ["mbench", ...args], preopens: preopen ? { [preopen]: preopen } : {}, returnOnExit: true });
  let x = null, lastHw = 0, lastMem = 0, atHw = null, atGrow = null;
  const mbench_hook = (live) => {
    const hw = new DataView(x.memory.buffer).getUint32(((x.__heap_base.value + 63) & ~63) + x.H_HIGH_WATER.value, true);
    if (hw > lastHw) {
      lastHw = hw;
      atHw = heapSnapshot(x, live >>> 0);
      if (x.memory.buffer.byteLength > lastMem) { lastMem = x.memory.buffer.byteLength; atGrow = atHw; }
    }
  };
  const env = breakdown ? { hook: () => 0, mbench_hook } : { hook: () => 0 };
  const { instance } = await WebAssembly.instantiate(readFileSync(file), { env, wasi_snapshot_preview1: wasi.wasiImport });
  x = instance.exports;
  lastMem = x.memory.buffer.byteLength;               // atGrow stays null when memory never grows
  const code = wasi.start(instance);
  if (breakdown) console.log(`breakdown ${JSON.stringify({ ...atHw, atGrow })}`);
  for (const [name, v] of Object.entries(instance.exports)) {
    if (name.startsWith("prof:") && v instanceof WebAssembly.Global) console.log(`count ${name.slice(5)} ${v.value >>> 0}`);
  }
  console.log(`footprint ${instance.exports.memory.buffer.byteLength - instance.exports.__heap_base.value}`);
  process.exit(code);
}
