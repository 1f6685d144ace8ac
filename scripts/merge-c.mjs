#!/usr/bin/env node
// merge-c.mjs — merge a C program (wasm32, linked with c/slab_shim.c and --export=__heap_base) with
// wasm-slab into one module, so its malloc calls are direct calls (c/slab.h, way (b)).
//
//   node scripts/merge-c.mjs prog.wasm out.wasm [--no-opt]
//
// Runs binaryen's wasm-merge (the C module is named "env", so the allocator's env.memory and
// env.__heap_base imports resolve to the C module's exports; the shim's "wasm_slab" imports resolve to
// the allocator's exports), then wasm-opt -O3 with more inlining (the shim's wrappers and the fast paths go into their callers),
// then a second wasm-opt run that inlines the allocator's malloc and free into their C callers and nothing
// else (inlineAllocator: every other function marked no-inline by a name prefix). The result
// imports env.hook (give it a function returning 0) besides whatever the C program imported.
// Needs the npm package "binaryen" 132 (wasm-merge, wasm-opt): a dev dependency here, an optional peer
// dependency of the published package (104 MB, needed only for this tool), so a project that merges C
// installs it beside wasm-slab (npm i -D binaryen@132.0.0); without it mergeC throws saying so.
// Entry points: mergeC() (exported as "wasm-slab/merge-c"; types in merge-c.d.mts), optimizeMerged() and
// inlineAllocator() (bench/profile-malloc.mjs), the command line below, and `wasm-slab merge-c`
// (cli/merge-c.mjs).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const SLAB_MERGE_WASM = join(here, "..", "dist", "slab-merge.wasm");
const FEATURES = ["--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext", "--enable-mutable-globals"];

function binaryenTool(name) {
  const require = createRequire(import.meta.url);
  let pkg;
  try {
    pkg = dirname(require.resolve("binaryen/package.json"));
  } catch {
    throw new Error("merge-c needs the npm package binaryen 132 (an optional peer dependency of wasm-slab): npm i -D binaryen@132.0.0");
  }
  const tool = join(pkg, "bin", name);
  if (!existsSync(tool)) throw new Error(`merge-c: binaryen has no ${name} (install binaryen@132)`);
  return tool;
}

/** Merge `input` (a C module) with the allocator into `output`; optimise unless opt is false. `slab` is
 * another build of assembly/merged.ts (bench/profile-malloc.mjs passes one with function names); `names`
 * keeps the function names through wasm-merge and wasm-opt (-g). */
export function mergeC(input, output, { opt = true, slab = SLAB_MERGE_WASM, names = false, inline = true } = {}) {
  if (!existsSync(slab)) throw new Error(`merge-c: ${slab} is missing (npm run build)`);
  execFileSync(process.execPath, [binaryenTool("wasm-merge"), input, "env", slab, "wasm_slab", "-o", output, ...FEATURES, ...(names ? ["-g"] : [])], { stdio: ["ignore", "ignore", "inherit"] });
  if (opt) optimizeMerged(output, { names, inline });
}

/** wasm-opt a merged module in place, as mergeC does; `names` keeps the function names (-g); `inline`
 * (default on) inlines the allocator's malloc and free into their C callers (inlineAllocator). */
export function optimizeMerged(file, { names = false, inline = true } = {}) {
  // -aimfs/-fimfs: inline small functions more eagerly than -O3 alone, so the shim's wrappers and the
  // allocator's fast paths land in their callers (mix benchmark: about 10% fewer ns per operation).
  execFileSync(process.execPath, [binaryenTool("wasm-opt"), "-O3", "-aimfs", "20", "-fimfs", "100", ...FEATURES, ...(names ? ["-g"] : []), file, "-o", file], { stdio: ["ignore", "ignore", "inherit"] });
  if (inline) inlineAllocator(file, { names });
}

// ---- malloc and free inlined into the C program ---------------------------------------------------------
// wasm-opt never inlines malloc or free into a C caller: each holds calls (its cold paths), and binaryen
// inlines a function with calls only when it is at most -aimfs nodes (free is over 300); a larger -aimfs
// inlines every such function everywhere (the mbench module 230 -> 435 KB). So a second wasm-opt run
// inlines exactly those two: every other function is named with the prefix KEEP and marked
// --no-full-inline / --no-partial-inline by that pattern, malloc's and free's functions (found by their
// exports) are not, and -aimfs is past their size. The names are then put back (names) or dropped.
// Measured on mbench's mix (bench/PROFILE.md, "pairfloor"): x86 instructions per operation 101 -> 90,
// dlmalloc's time / ours 1.9x -> 2.9x; each inlined call site costs about 1-2 KB of code.
const KEEP = "~";
const INLINED = ["malloc", "free"];

/** Read a LEB128 u32 at bytes[at]: [value, next offset]. */
function leb(bytes, at) {
  let v = 0, shift = 0, b;
  do { b = bytes[at++]; v += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
  return [v, at];
}
function lebBytes(v) {
  const out = [];
  do { let b = v & 0x7f; v = Math.floor(v / 128); if (v) b |= 0x80; out.push(b); } while (v);
  return out;
}
const utf8 = (bytes) => new TextDecoder().decode(bytes);
const nameBytes = (n) => { const b = new TextEncoder().encode(n); return [...lebBytes(b.length), ...b]; };

/** The module's sections: [{ id, start, body, end, name (custom) }]. */
function sections(bytes) {
  const out = [];
  for (let at = 8; at < bytes.length;) {
    const start = at;
    const id = bytes[at++];
    let size;
    [size, at] = leb(bytes, at);
    const sec = { id, start, body: at, end: at + size };
    if (id === 0) { const [n, p] = leb(bytes, at); sec.name = utf8(bytes.subarray(p, p + n)); }
    out.push(sec);
    at += size;
  }
  return out;
}

/** Function names of a module: imported function count, defined count, names by index, export index. */
function functionsOf(bytes) {
  const secs = sections(bytes);
  let imported = 0, defined = 0;
  const names = new Map();
  const exported = new Map();
  for (const s of secs) {
    let at = s.body, n;
    if (s.id === 2) {
      [n, at] = leb(bytes, at);
      for (let i = 0; i < n; i++) {
        let l;
        [l, at] = leb(bytes, at); at += l;
        [l, at] = leb(bytes, at); at += l;
        const kind = bytes[at++];
        if (kind === 0) { [, at] = leb(bytes, at); imported++; }
        else if (kind === 1) { at++; let f; [f, at] = leb(bytes, at); [, at] = leb(bytes, at); if (f & 1) [, at] = leb(bytes, at); }
        else if (kind === 2) { let f; [f, at] = leb(bytes, at); [, at] = leb(bytes, at); if (f & 1) [, at] = leb(bytes, at); }
        else if (kind === 3) at += 2;
        else if (kind === 4) { at++; [, at] = leb(bytes, at); }
        else throw new Error(`merge-c: import kind ${kind}`);
      }
    } else if (s.id === 3) {
      [defined] = leb(bytes, at);
    } else if (s.id === 7) {
      [n, at] = leb(bytes, at);
      for (let i = 0; i < n; i++) {
        let l, idx;
        [l, at] = leb(bytes, at);
        const name = utf8(bytes.subarray(at, at + l)); at += l;
        const kind = bytes[at++];
        [idx, at] = leb(bytes, at);
        if (kind === 0) exported.set(name, idx);
      }
    } else if (s.id === 0 && s.name === "name") {
      [n, at] = leb(bytes, at); at += n;
      while (at < s.end) {
        const sub = bytes[at++];
        let size;
        [size, at] = leb(bytes, at);
        if (sub === 1) {
          let p = at, count;
          [count, p] = leb(bytes, p);
          for (let i = 0; i < count; i++) {
            let idx, l;
            [idx, p] = leb(bytes, p);
            [l, p] = leb(bytes, p);
            names.set(idx, utf8(bytes.subarray(p, p + l))); p += l;
          }
        }
        at += size;
      }
    }
  }
  return { secs, imported, defined, names, exported };
}

/** `bytes` with its name section replaced by one naming functions `names` (index → name), or none. */
function withFunctionNames(bytes, secs, names) {
  const parts = [bytes.subarray(0, 8)];
  for (const s of secs) if (!(s.id === 0 && s.name === "name")) parts.push(bytes.subarray(s.start, s.end));
  if (names) {
    const map = [...lebBytes(names.size)];
    for (const [idx, n] of [...names].sort((a, b) => a[0] - b[0])) map.push(...lebBytes(idx), ...nameBytes(n));
    const body = [...nameBytes("name"), 1, ...lebBytes(map.length), ...map];
    parts.push(Uint8Array.from([0, ...lebBytes(body.length), ...body]));
  }
  return Buffer.concat(parts);
}

/** Inline the allocator's malloc and free (and nothing else) into their callers, in place. */
export function inlineAllocator(file, { names = false } = {}) {
  let bytes = readFileSync(file);
  const f = functionsOf(bytes);
  const targets = new Set(INLINED.map((n) => f.exported.get(n)).filter((i) => i !== undefined));
  if (targets.size === 0) return;
  const marked = new Map();
  for (let i = 0; i < f.imported + f.defined; i++) {
    const old = f.names.get(i) ?? `f${i}`;
    marked.set(i, targets.has(i) ? `wasm_slab_inline_${old}` : KEEP + old);
  }
  writeFileSync(file, withFunctionNames(bytes, f.secs, marked));
  execFileSync(process.execPath, [binaryenTool("wasm-opt"), `--no-full-inline=${KEEP}*`, `--no-partial-inline=${KEEP}*`,
    "-aimfs", "100000", "-fimfs", "100000", "--inlining-optimizing", ...FEATURES, "-g", file, "-o", file], { stdio: ["ignore", "ignore", "inherit"] });
  // the names back as they were (functions keep their order: inlining removes none that is exported or called)
  bytes = readFileSync(file);
  const g = functionsOf(bytes);
  let restored = null;
  if (names) {
    restored = new Map();
    for (const [i, n] of g.names) {
      const old = n.startsWith(KEEP) ? n.slice(KEEP.length) : n.replace(/^wasm_slab_inline_/, "");
      if (!/^f\d+$/.test(old) || f.names.has(i)) restored.set(i, old);
    }
  }
  writeFileSync(file, withFunctionNames(bytes, g.secs, restored));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
  if (args.length !== 2) {
    console.error("usage: node scripts/merge-c.mjs prog.wasm out.wasm [--no-opt]");
    process.exit(2);
  }
  mergeC(args[0], args[1], { opt: !process.argv.includes("--no-opt") });
}
