// rollup.config.mjs — the package's bundles, from the TypeScript layer compiled by tsc into build/tsc/.
//
// Owns: what dist/ holds for JS and types (dist/slab-merge.wasm comes from asc's merge target).
//   dist/index.js + dist/debug-wasm.js          ESM entry (Node, bundlers); the release Wasm embedded
//   dist/index.cjs + dist/debug-wasm.cjs        CommonJS entry (require)
//   dist/browser/wasm-slab.min.js (+ chunk)     ESM minified for browsers (<script type="module">, CDNs)
//   dist/index.d.ts, dist/index.d.cts           the types, one bundled file each (ESM and CJS views)
// The debug Wasm is reached only through a dynamic import (bindings/wasm.ts), so every output keeps it in
// its own chunk, loaded for createAllocator({ debugBuild: true }) alone.
// Called by: `npm run bundle` (the last step of `npm run build`). Invariant: build/tsc/ is fresh (tsc runs
// just before).
import { readdirSync, rmSync } from "node:fs";
import terser from "@rollup/plugin-terser";
import { dts } from "rollup-plugin-dts";

// Outputs of an earlier bundle go first (chunk names may change); asc's dist/slab-merge.wasm stays.
for (const f of readdirSync("dist", { withFileTypes: true })) {
  if (f.isDirectory() ? f.name === "browser" : /\.(c?js|d\.c?ts)$/.test(f.name)) rmSync(`dist/${f.name}`, { recursive: true });
}

const input = "build/tsc/index.js";
const chunk = (ext) => ({ chunkFileNames: `[name]${ext}`, entryFileNames: `index${ext}` });

export default [
  {
    input,
    output: [
      { dir: "dist", format: "es", ...chunk(".js") },
      { dir: "dist", format: "cjs", exports: "named", ...chunk(".cjs") },
      {
        dir: "dist/browser",
        format: "es",
        chunkFileNames: "[name].min.js",
        entryFileNames: "wasm-slab.min.js",
        plugins: [terser({ ecma: 2020, module: true })],
      },
    ],
  },
  { input: "build/tsc/index.d.ts", output: { file: "dist/index.d.ts", format: "es" }, plugins: [dts()] },
  { input: "build/tsc/index.d.ts", output: { file: "dist/index.d.cts", format: "es" }, plugins: [dts()] },
];
