// cli/lib/args.mjs — argument parsing shared by the subcommands: node:util parseArgs in strict mode,
// --help on every command, and the workload options of `slabinfo` and `top`.
//
// Owns: parseCommand() (usage errors → exit code 2 with the help text on stderr), intArg(), the
// workload options (WORKLOAD_OPTIONS, WORKLOAD_HELP) and startWorkload() (a heap plus a workload from them).
// Called by: cli/*.mjs. Calls: dist/index.js, cli/lib/workload.mjs.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";

/** Parse argv; returns { values, positionals }, or an exit code (0 after --help, 2 on a usage error). */
export function parseCommand(name, help, options, argv, { positionals = false } = {}) {
  try {
    const r = parseArgs({ args: argv, allowPositionals: positionals, options: { ...options, help: { type: "boolean", short: "h" } } });
    if (r.values.help) {
      process.stdout.write(help);
      return 0;
    }
    return r;
  } catch (err) {
    process.stderr.write(`wasm-slab ${name}: ${err.message}\n\n${help}`);
    return 2;
  }
}

/** A whole-number option in lo..hi (default when absent); throws a UsageError otherwise. */
export function intArg(values, key, dflt, lo, hi) {
  const raw = values[key];
  if (raw === undefined) return dflt;
  if (!/^\d+$/.test(raw) || +raw < lo || +raw > hi) throw new UsageError(`--${key} ${raw}: expected a whole number in ${lo}..${hi}`);
  return Number(raw);
}

export class UsageError extends Error {}

export const WORKLOAD_OPTIONS = {
  trace: { type: "string" },
  synthetic: { type: "boolean" },
  loop: { type: "boolean" },
  nodes: { type: "string" },
  "cpus-per-node": { type: "string" },
  seed: { type: "string" },
  classes: { type: "string" },
};

export const WORKLOAD_HELP = `workload (one of):
  --trace FILE          replay a malloc-lab trace (e.g. ../shared/traces/amptjp-bal.rep) through malloc
    --loop              start the trace again when it ends (the blocks it holds are freed first)
    --classes SET       malloc size classes: fine (default) or kernel
  --synthetic           producers and consumers across the simulated CPUs and nodes (the default):
                        caches msg-64, task-256, buf-2048 and kmalloc buffers, freed mostly on the
                        other node; the queue depth swings so slabs fill and empty
topology:
  --nodes N             simulated NUMA nodes, 1..8 (default: 2 synthetic, 1 trace)
  --cpus-per-node N     CPUs per node (default: 2 synthetic, 1 trace)
  --seed N              the synthetic workload's seed (default 1)
`;

/** Create the heap and the workload the options ask for. Throws UsageError on bad options. */
export async function startWorkload(values) {
  const { createAllocator, parseTrace } = await import("../../dist/index.js");
  const { SyntheticWorkload, TraceWorkload } = await import("./workload.mjs");
  if (values.trace !== undefined && values.synthetic) throw new UsageError("--trace and --synthetic exclude each other");
  const isTrace = values.trace !== undefined;
  if (!isTrace && (values.loop || values.classes !== undefined)) throw new UsageError("--loop and --classes go with --trace");
  const nodes = intArg(values, "nodes", isTrace ? 1 : 2, 1, 8);
  const cpusPerNode = intArg(values, "cpus-per-node", isTrace ? 1 : 2, 1, 64);
  if (nodes * cpusPerNode > 64) throw new UsageError(`--nodes × --cpus-per-node = ${nodes * cpusPerNode}: at most 64 CPUs`);
  const seed = intArg(values, "seed", 1, 0, 2 ** 32 - 1);
  const classes = values.classes ?? "fine";
  if (!["fine", "kernel"].includes(classes)) throw new UsageError(`--classes ${classes}: expected fine or kernel`);
  let trace = null;
  if (isTrace) {
    let text;
    try {
      text = readFileSync(values.trace, "utf8");
    } catch (err) {
      throw new UsageError(`--trace ${values.trace}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
    }
    try {
      trace = parseTrace(text, basename(values.trace).replace(/\.rep$/, ""));
    } catch (err) {
      throw new UsageError(`--trace ${values.trace}: ${err.message}`);
    }
  }
  const heap = await createAllocator({ nodes, cpusPerNode, reap: false });
  heap.setMallocClasses(classes);
  const workload = isTrace ? new TraceWorkload(heap, trace, { loop: Boolean(values.loop) }) : new SyntheticWorkload(heap, { seed });
  return { heap, workload };
}
