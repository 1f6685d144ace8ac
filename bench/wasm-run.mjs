#!/usr/bin/env node
// wasm-run.mjs — run one wasm32-wasi build of bench/c/mbench.c in this process, for malloc-peers.mjs.
//   node --single-threaded bench/wasm-run.mjs FILE.wasm [PRESOPEN_DIR] -- ARGS...
// Prints the program's output, then "footprint N": memory size − __heap_base at exit (every byte the
// allocator took from the engine). malloc-peers.mjs starts it with --single-threaded: on this machine's
// Node 20, runs that grow memory to tens of MiB sometimes died with SIGSEGV at the end of the program
// when V8's background threads were on (seen with wasm-slab's builds; not explained yet).
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";

const sep = process.argv.indexOf("--");
const [file, preopen] = process.argv.slice(2, sep);
const args = process.argv.slice(sep + 1);
const wasi = new WASI({ version: "preview1", args: ["mbench", ...args], preopens: preopen ? { [preopen]: preopen } : {}, returnOnExit: true });
const { instance } = await WebAssembly.instantiate(readFileSync(file), { env: { hook: () => 0 }, wasi_snapshot_preview1: wasi.wasiImport });
const code = wasi.start(instance);
console.log(`footprint ${instance.exports.memory.buffer.byteLength - instance.exports.__heap_base.value}`);
process.exit(code);
