// cli/bench.mjs — `wasm-slab bench [section...]`: the benchmark suite (bench/run.mjs owns it: sections,
// progress, the results directory). This module only checks that the suite is there and hands over.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const summary = "run the benchmark suite or chosen sections; results to bench-results/<date-time>/";

export async function run(argv) {
  const runner = fileURLToPath(new URL("../bench/run.mjs", import.meta.url));
  if (!existsSync(runner)) {
    process.stderr.write("wasm-slab bench: bench/ is not in this installation (the suite runs from a clone of the repository)\n");
    return 1;
  }
  const { main } = await import("../bench/run.mjs");
  return main(argv);
}
