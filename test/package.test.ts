// package.test.ts — wasm-slab as a user installs it: `npm pack` (of the build `npm test` just made) into a
// fresh project in a temporary directory, installed with npm, then used from there, never from the repo:
//   - ESM `import` and CJS `require` of "wasm-slab" (a heap, a cache, a typed error with its name), and the
//     exports map (./package.json, C files, slab-merge.wasm; internal files not reachable);
//   - a TypeScript consumer (ESM .ts and CJS .cts, module nodenext, strict) typechecks against the
//     packed types, and a wrong call is a type error (the types are not `any`);
//   - C way (a): a wasm32-wasi program compiled with node_modules/wasm-slab/c/slab_shim.c, instantiated on
//     heap.imports() and run by node:wasi through instanceForWasi;
//   - C way (b): `npx wasm-slab merge-c` without binaryen says to install it; with binaryen (the optional
//     peer) it merges, and the merged program prints what way (a) printed.
// Needs clang for the C parts (test/cc.ts: skipped with a message without it, an error under CI).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PATH_WITHOUT_NODE_MODULES, ROOT, WASI, clang, haveClang, tmp } from "./cc.js";

const dir = tmp();
const app = join(dir, "app");
const pkg = join(app, "node_modules", "wasm-slab");
const npm = (args: string[], cwd = app) => execFileSync("npm", [...args, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const node = (file: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, [file, ...args], { cwd: app, env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`node ${file} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
};
// npm and npx as a user runs them: without this repo's node_modules/.bin on PATH (`npm run` puts it there,
// and it holds npm 6, a dependency of as-pect),
// and none of the npm_* variables `npm test` sets for its scripts.
const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k))), PATH: PATH_WITHOUT_NODE_MODULES };
const write = (name: string, text: string) => writeFileSync(join(app, name), text);

beforeAll(() => {
  const packed = JSON.parse(npm(["pack", "--ignore-scripts", "--json", "--pack-destination", dir], ROOT));
  mkdirSync(app);
  write("package.json", JSON.stringify({ name: "app", private: true, type: "module" }));
  npm(["install", join(dir, packed[0].filename)]);
}, 90_000);

describe("the packed package in a fresh project", () => {
  it("is imported from ESM and required from CJS, with typed errors that keep their names", () => {
    const use = (lib: string) => `
const heap = await lib.createAllocator({ reap: false });
const c = heap.createCache("p", { size: 24 });
const p = c.alloc();
let err;
try { c.free(p + 4); } catch (e) { err = e; }
c.free(p);
const errs = [err.name, err instanceof lib.InvalidFreeError, err instanceof lib.SlabError, err.reason];
const dbg = await lib.createAllocator({ debugBuild: true, reap: false });
const q = dbg.createCache("q", { size: 8 }).alloc();
console.log(JSON.stringify({ errs, ok: heap.validate().ok, q: q > 0, names: keys }));`;
    write("esm.mjs", `import * as lib from "wasm-slab";\nconst keys = Object.keys(lib).length;\n${use("lib")}`);
    write("cjs.cjs", `const lib = require("wasm-slab");\nconst keys = Object.keys(lib).length;\n(async () => {${use("lib")}})();`);
    const esm = JSON.parse(node("esm.mjs"));
    const cjs = JSON.parse(node("cjs.cjs"));
    expect(esm).toEqual({ errs: ["InvalidFreeError", true, true, "not-object"], ok: true, q: true, names: expect.any(Number) });
    expect(cjs).toEqual(esm);
  });

  it("exports the C files, slab-merge.wasm and package.json, and nothing internal", () => {
    write("resolve.cjs", `
const r = (s) => { try { return require.resolve(s).replace(/.*node_modules\\/wasm-slab\\//, ""); } catch (e) { return e.code; } };
console.log(JSON.stringify(["wasm-slab/package.json", "wasm-slab/c/slab.h", "wasm-slab/c/slab_shim.c", "wasm-slab/slab-merge.wasm", "wasm-slab/dist/index.js", "wasm-slab/scripts/embed.mjs"].map(r)));`);
    expect(JSON.parse(node("resolve.cjs"))).toEqual(["package.json", "c/slab.h", "c/slab_shim.c", "dist/slab-merge.wasm", "ERR_PACKAGE_PATH_NOT_EXPORTED", "ERR_PACKAGE_PATH_NOT_EXPORTED"]);
    expect(WebAssembly.validate(readFileSync(join(pkg, "dist", "slab-merge.wasm")))).toBe(true);
  });

  it("typechecks a TypeScript consumer (ESM and CJS), and rejects a wrong call", () => {
    const body = `
const heap = await createAllocator({ nodes: 2, onOutOfMemory: "null" });
const cache = heap.createCache("t", { size: 16, align: 8 });
const p: number = cache.alloc();
const stats: CacheStats = cache.stats();
const n: number = stats.activeObjects;
try { cache.free(p); } catch (e) { if (e instanceof InvalidFreeError) { const r: "not-ours" | "not-object" | "wrong-cache" = e.reason; void r; } }
// @ts-expect-error size must be a number
heap.createCache("bad", { size: "16" });
export { n };`;
    write("consumer.ts", `import { createAllocator, InvalidFreeError, type CacheStats } from "wasm-slab";\n${body}`);
    write("consumer.cts", `import { createAllocator, InvalidFreeError, type CacheStats } from "wasm-slab";\nexport async function main() {${body.replace("export { n };", "return n;")}}`);
    // the same call without the expect-error comment must fail: the packed types are checked, not `any`
    write("wrong.ts", `import { createAllocator } from "wasm-slab";\nconst heap = await createAllocator();\nheap.createCache("bad", { size: "16" });\n`);
    write("tsconfig.json", JSON.stringify({ compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", lib: ["es2022", "dom"], strict: true, noEmit: true, types: [] }, files: ["consumer.ts", "consumer.cts", "wrong.ts"] }));
    const tsc = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: app, encoding: "utf8" });
    const errors = tsc.stdout.split("\n").filter((l) => /error TS/.test(l));
    expect(errors).toEqual([expect.stringMatching(/^wrong\.ts\(3,.*error TS2322/)]);
  });

  describe.skipIf(!haveClang)("C from node_modules", () => {
    const c = join(pkg, "c");
    const prog = join(ROOT, "test", "c", "wasi.c");
    const runner = (wasm: string, mode: "a" | "b") => `
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";
import { cHeapBase, createAllocator, instanceForWasi } from "wasm-slab";
const bytes = readFileSync(${JSON.stringify(wasm)});
const wasi = new WASI({ version: "preview1", args: ["prog"], returnOnExit: true });
${mode === "a" ? `const heap = await createAllocator({ heapBase: cHeapBase(bytes), reap: false });
const { instance } = await WebAssembly.instantiate(bytes, { ...heap.imports(), wasi_snapshot_preview1: wasi.wasiImport });
const code = wasi.start(instanceForWasi(instance, heap.memory));
if (code !== 0 || !heap.validate().ok || heap.reports().length !== 0) throw new Error("way (a) failed: " + code);`
  : `const mod = await WebAssembly.compile(bytes);
console.log("imports " + WebAssembly.Module.imports(mod).filter((i) => i.module !== "wasi_snapshot_preview1").map((i) => i.module + "." + i.name).join(","));
const instance = await WebAssembly.instantiate(mod, { env: { hook: () => 0 }, wasi_snapshot_preview1: wasi.wasiImport });
const code = wasi.start(instance);
if (code !== 0) throw new Error("way (b) failed: " + code);`}`;

    beforeAll(() => {
      clang([...WASI, `-I${c}`, prog, join(c, "slab_shim.c"), "-Wl,--import-memory", "-o", join(app, "prog-a.wasm")]);
      clang([...WASI, `-I${c}`, prog, join(c, "slab_shim.c"), "-o", join(app, "prog-b.wasm")]);
      write("run-a.mjs", runner("prog-a.wasm", "a"));
      write("run-b.mjs", runner("merged.wasm", "b"));
    }, 60_000);

    it("way (a): linked at instantiation, run by node:wasi through instanceForWasi", () => {
      const out = node("run-a.mjs");
      expect(out).toMatch(/^words 5000 first .* last /);
      expect(out).toContain("usable>=asked 1");
    });

    it("way (b): npx wasm-slab merge-c asks for binaryen, then merges; the program prints the same", () => {
      const npx = () => spawnSync("npx", ["--no", "wasm-slab", "merge-c", "prog-b.wasm", "merged.wasm"], { cwd: app, env, encoding: "utf8" });
      const missing = npx();
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain("npm i -D binaryen@132.0.0");
      npm(["install", "-D", "binaryen@132.0.0"]);
      const merged = npx();
      expect(merged.stderr).toBe("");
      expect(merged.status).toBe(0);
      const out = node("run-b.mjs");
      expect(out.split("\n")[0]).toBe("imports env.hook");
      expect(out.split("\n").slice(1).join("\n")).toBe(node("run-a.mjs"));
    }, 90_000);
  });
});
