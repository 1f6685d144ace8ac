#!/usr/bin/env node
// wasm-run.mjs — run one wasm32-wasi build of bench/c/mbench.c in this process, for malloc-peers.mjs and
// profile-malloc.mjs.
//   node <wasmRunFlags> bench/wasm-run.mjs FILE.wasm [PRESOPEN_DIR] -- ARGS...
// Prints the program's output, then "footprint N": memory size − __heap_base at exit (every byte the
// allocator took from the engine). A build instrumented by bench/profile-malloc.mjs exports one i32 global
// per counted function, named "prof:<function>": each is printed at exit as "count <function> N".
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

if (process.argv[1] === wasmRunner) {
  const sep = process.argv.indexOf("--");
  const [file, preopen] = process.argv.slice(2, sep);
  const args = process.argv.slice(sep + 1);
  const wasi = new WASI({ version: "preview1", args: ["mbench", ...args], preopens: preopen ? { [preopen]: preopen } : {}, returnOnExit: true });
  const { instance } = await WebAssembly.instantiate(readFileSync(file), { env: { hook: () => 0 }, wasi_snapshot_preview1: wasi.wasiImport });
  const code = wasi.start(instance);
  for (const [name, v] of Object.entries(instance.exports)) {
    if (name.startsWith("prof:") && v instanceof WebAssembly.Global) console.log(`count ${name.slice(5)} ${v.value >>> 0}`);
  }
  console.log(`footprint ${instance.exports.memory.buffer.byteLength - instance.exports.__heap_base.value}`);
  process.exit(code);
}
