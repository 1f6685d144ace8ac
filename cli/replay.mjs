// cli/replay.mjs — `wasm-slab replay FILE...`: replay malloc-lab traces on wasm-slab's malloc (from JS)
// and print, per trace, whether the checks passed, ops/s, utilization, and the footprint breakdown
// (heap.footprint(), when the heap has it: feature-detected).
//
// Owns: the command's options and output. The replay is cli/lib/replay.mjs (shared with bench/replay.mjs).
import { CLASS_SETS, breakdownRows, replayFiles, replayTable } from "./lib/replay.mjs";
import { UsageError, intArg, parseCommand } from "./lib/args.mjs";
import { table } from "./lib/format.mjs";

export const summary = "replay malloc-lab traces: checks, ops/s, utilization and the footprint breakdown";

const help = `usage: wasm-slab replay [--classes fine|kernel] [--runs N] [--json] FILE...

Replays each trace once with checks (blocks aligned, never overlapping, payload kept) on a fresh heap,
then N times without checks (median ops/s, from JS: the JS → Wasm call per operation is included).
utilization = peak live payload / bytes the heap took from the engine. The footprint breakdown
(where those bytes went) is printed when the heap has footprint().

  --classes SET   malloc size classes: fine (default) or kernel
  --runs N        timed replays per trace (default 5; 0: the checked replay only)
  --json          the results as JSON
Exit code: 0, 1 if a check failed or a trace could not be read, 2 on a usage error.
`;

export async function run(argv) {
  const parsed = parseCommand("replay", help, { classes: { type: "string" }, runs: { type: "string" }, json: { type: "boolean" } }, argv, { positionals: true });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  let runs;
  try {
    if (positionals.length === 0) throw new UsageError("no trace file given");
    if (values.classes !== undefined && !CLASS_SETS.includes(values.classes)) throw new UsageError(`--classes ${values.classes}: expected fine or kernel`);
    runs = intArg(values, "runs", 5, 0, 1000);
  } catch (err) {
    process.stderr.write(`wasm-slab replay: ${err.message}\n\n${help}`);
    return 2;
  }
  let results;
  try {
    results = await replayFiles(positionals, { classes: values.classes ?? "fine", runs });
  } catch (err) {
    process.stderr.write(`wasm-slab replay: ${err.message}\n`);
    return 1;
  }
  if (values.json) process.stdout.write(JSON.stringify(results, null, 2) + "\n");
  else {
    const [header, rows] = replayTable(results);
    process.stdout.write(table(header, rows));
    for (const r of results) {
      if (!r.breakdown) continue;
      process.stdout.write(`\nfootprint breakdown of ${r.trace} (at the end of the trace):\n`);
      process.stdout.write(table(["part", "bytes", "share"], breakdownRows(r.breakdown)));
    }
    if (results.every((r) => !r.breakdown)) process.stdout.write("\n(no footprint breakdown: this build's heap has no footprint())\n");
    for (const r of results.filter((x) => !x.ok)) process.stdout.write(`\n${r.trace}: ${r.errors.join("\n  ") || "validate failed"}\n`);
  }
  return results.every((r) => r.ok) ? 0 : 1;
}
