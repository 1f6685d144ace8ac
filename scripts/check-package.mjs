#!/usr/bin/env node
// check-package.mjs — lints what `npm pack` would publish: publint (package.json fields, exports map,
// files present), then @arethetypeswrong/cli (types resolve as the JS does, for ESM and CJS consumers).
//
// Owns: `npm run lint:package` (the last step of `npm test`). Packs once (without the prepack build: the
// caller has just built) into a temporary directory and lints that tarball.
//   attw, strict profile, on "." and "./package.json": ESM import and CJS require both typed;
//   attw, esm-only profile, on "./browser" and "./merge-c": ESM-only entries by design.
// ./c/* and ./slab-merge.wasm are not JavaScript; publint checks that they exist in the tarball.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (pkg, name) => join(root, "node_modules", pkg, name); // dev dependencies, pinned
// the user's npm, not the npm 6 that as-pect brings into node_modules/.bin (on PATH under `npm run`)
const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k))), PATH: (process.env.PATH ?? "").split(":").filter((d) => !d.includes("node_modules")).join(":") };
const dir = mkdtempSync(join(tmpdir(), "wasm-slab-pack-"));
const run = (args) => execFileSync(process.execPath, args, { cwd: root, stdio: "inherit" });
try {
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: root, env, encoding: "utf8" }),
  );
  const tarball = join(dir, packed[0].filename);
  run([bin("publint", "src/cli.js"), "run", tarball, "--strict"]);
  const attw = bin("@arethetypeswrong/cli", "dist/index.js");
  run([attw, tarball, "--entrypoints", ".", "./package.json"]);
  run([attw, tarball, "--profile", "esm-only", "--entrypoints", "./browser", "./merge-c"]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
