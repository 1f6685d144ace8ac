// cli/merge-c.mjs — `wasm-slab merge-c in.wasm out.wasm [--no-opt]`: the command-line face of
// scripts/merge-c.mjs (which owns the merge itself).
import { parseArgs } from "node:util";

export const summary = "merge a C program (linked with c/slab_shim.c) with the allocator into one module";

const help = `usage: wasm-slab merge-c <in.wasm> <out.wasm> [--no-opt]

Merges a wasm32 C module linked with c/slab_shim.c and --export=__heap_base with wasm-slab, so its
malloc calls are direct calls, then optimises with wasm-opt -O3 (skip with --no-opt).
`;

export async function run(argv) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { "no-opt": { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  } catch (err) {
    process.stderr.write(`wasm-slab merge-c: ${err.message}\n${help}`);
    return 2;
  }
  if (parsed.values.help) { process.stdout.write(help); return 0; }
  if (parsed.positionals.length !== 2) { process.stderr.write(help); return 2; }
  const { mergeC } = await import("../scripts/merge-c.mjs");
  try {
    mergeC(parsed.positionals[0], parsed.positionals[1], { opt: !parsed.values["no-opt"] });
  } catch (err) {
    process.stderr.write(`wasm-slab merge-c: ${err.message}\n`);
    return 1;
  }
  return 0;
}
