// cli/slabinfo.mjs — `wasm-slab slabinfo`: run a workload (a trace or the synthetic one), then print the
// heap's /proc/slabinfo text (heap.slabinfo(), every cache including kmalloc's and the heap's own).
//
// Owns: the command's options and output. Calls: cli/lib/args.mjs (workload), the heap's slabinfo().
import { UsageError, WORKLOAD_HELP, WORKLOAD_OPTIONS, intArg, parseCommand, startWorkload } from "./lib/args.mjs";

export const summary = "run a trace or a synthetic workload, then print /proc/slabinfo for every cache";

const help = `usage: wasm-slab slabinfo [--trace FILE [--loop] | --synthetic] [--ops N] [options]

Runs the workload, then prints slabinfo (version 2.1) for every cache of the heap. The state shown is
the one at the end of the operations: blocks the workload still holds stay allocated.

  --ops N               operations to run (default: the whole trace, once; synthetic: 100000)
  --validate            also check the heap (heap.validate()); exit code 1 if it is not consistent
${WORKLOAD_HELP}`;

export async function run(argv) {
  const parsed = parseCommand("slabinfo", help, { ...WORKLOAD_OPTIONS, ops: { type: "string" }, validate: { type: "boolean" } }, argv);
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  let heap;
  let workload;
  let ops;
  try {
    ({ heap, workload } = await startWorkload(values));
    ops = intArg(values, "ops", values.trace !== undefined && !values.loop ? Infinity : 100_000, 1, 1e9);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`wasm-slab slabinfo: ${err.message}\n`);
    return 2;
  }
  while (ops > 0 && !workload.done) ops -= workload.step(Math.min(ops, 10_000));
  process.stdout.write(`# ${workload.describe()}; ${workload.ops} operations run\n`);
  process.stdout.write(heap.slabinfo());
  if (values.validate) {
    const v = heap.validate();
    process.stdout.write(`# validate: ${v.ok ? "ok" : `${v.problemCount} problems, first: ${v.problems[0]?.kind}`}\n`);
    if (!v.ok) return 1;
  }
  return 0;
}
