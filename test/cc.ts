// cc.ts — compiling C test programs to wasm32 for the C-client tests (shared helper, not a test file).
//
// Uses the system clang (Debian: clang lld wasi-libc libclang-rt-14-dev-wasm32; .ci/run installs them).
// Without it, C-client tests are skipped with a visible message; under CI (CI=true) its absence is an
// error, so a CI run cannot pass without having compiled and run the C programs.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

function probe(): string | undefined {
  const r = spawnSync("clang", ["--version"], { encoding: "utf8" });
  if (r.status !== 0) return "clang is not installed";
  const w = spawnSync("wasm-ld", ["--version"], { encoding: "utf8" });
  if (w.status !== 0) return "wasm-ld (lld) is not installed";
  return undefined;
}

const missing = probe();
if (missing && process.env.CI === "true") {
  throw new Error(`C-client tests need clang for wasm32 under CI, but ${missing} (see .ci/run)`);
}
if (missing) console.warn(`\n*** SKIPPING C-client tests: ${missing} (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32) ***\n`);

/** Whether C programs can be compiled here. */
export const haveClang = missing === undefined;

/** A fresh temporary directory for build outputs. */
export function tmp(): string {
  return mkdtempSync(join(tmpdir(), "wasm-slab-c-"));
}

/** PATH without node_modules/.bin directories: `npm run` puts this repo's there, and clang 14 runs any
 *  wasm-opt it finds on PATH (binaryen's, in JS: seconds per module) over what it links. */
export const PATH_WITHOUT_NODE_MODULES = (process.env.PATH ?? "").split(":").filter((d) => !d.includes("node_modules")).join(":");

/** clang with these arguments; throws with clang's message on failure. */
export function clang(args: string[]): void {
  execFileSync("clang", args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PATH: PATH_WITHOUT_NODE_MODULES } });
}

/** Flags for a freestanding wasm32 module (no libc). */
export const FREESTANDING = ["--target=wasm32", "-nostdlib", "-O2", "-mbulk-memory", "-Wl,--no-entry", "-Wl,--export=__heap_base"];
/** Flags for a wasm32-wasi command using wasi-libc. */
export const WASI = ["--target=wasm32-wasi", "-O2", "-Wl,--export=__heap_base"];
