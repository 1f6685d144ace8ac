#!/usr/bin/env node
// merge-c.mjs — merge a C program (wasm32, linked with c/slab_shim.c and --export=__heap_base) with
// wasm-slab into one module, so its malloc calls are direct calls (c/slab.h, way (b)).
//
//   node scripts/merge-c.mjs prog.wasm out.wasm [--no-opt]
//
// Runs binaryen's wasm-merge (the C module is named "env", so the allocator's env.memory and
// env.__heap_base imports resolve to the C module's exports; the shim's "wasm_slab" imports resolve to
// the allocator's exports), then wasm-opt -O3 with more inlining (the shim's wrappers and the fast paths go into their callers). The result
// imports env.hook (give it a function returning 0) besides whatever the C program imported.
// Needs the npm package "binaryen" 132 (wasm-merge, wasm-opt): a dev dependency here, an optional peer
// dependency of the published package (104 MB, needed only for this tool), so a project that merges C
// installs it beside wasm-slab (npm i -D binaryen@132.0.0); without it mergeC throws saying so.
// Entry points: mergeC() (exported as "wasm-slab/merge-c"; types in merge-c.d.mts), the command line
// below, and `wasm-slab merge-c` (cli/merge-c.mjs).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
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
export function mergeC(input, output, { opt = true, slab = SLAB_MERGE_WASM, names = false } = {}) {
  if (!existsSync(slab)) throw new Error(`merge-c: ${slab} is missing (npm run build)`);
  execFileSync(process.execPath, [binaryenTool("wasm-merge"), input, "env", slab, "wasm_slab", "-o", output, ...FEATURES, ...(names ? ["-g"] : [])], { stdio: ["ignore", "ignore", "inherit"] });
  if (opt) optimizeMerged(output, { names });
}

/** wasm-opt a merged module in place, as mergeC does; `names` keeps the function names (-g). */
export function optimizeMerged(file, { names = false } = {}) {
  // -aimfs/-fimfs: inline small functions more eagerly than -O3 alone, so the shim's wrappers and the
  // allocator's fast paths land in their callers (mix benchmark: about 10% fewer ns per operation).
  execFileSync(process.execPath, [binaryenTool("wasm-opt"), "-O3", "-aimfs", "20", "-fimfs", "100", ...FEATURES, ...(names ? ["-g"] : []), file, "-o", file], { stdio: ["ignore", "ignore", "inherit"] });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
  if (args.length !== 2) {
    console.error("usage: node scripts/merge-c.mjs prog.wasm out.wasm [--no-opt]");
    process.exit(2);
  }
  mergeC(args[0], args[1], { opt: !process.argv.includes("--no-opt") });
}
