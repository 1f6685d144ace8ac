#!/usr/bin/env node
// bin/wasm-slab.mjs — the `wasm-slab` command: a table of subcommands, each a module under cli/.
//
// Owns: the dispatch from argv[2] to a subcommand, the top-level --help, and the exit code for an unknown
// command. Each cli/<name>.mjs exports `summary` (one line for --help) and `run(argv): Promise<number>`
// (its own argument parsing with node:util parseArgs, its own --help, unknown options rejected).
// To add a subcommand: write cli/<name>.mjs and add one line to `commands` below.
const commands = {
  bench: () => import("../cli/bench.mjs"),
  replay: () => import("../cli/replay.mjs"),
  slabinfo: () => import("../cli/slabinfo.mjs"),
  top: () => import("../cli/top.mjs"),
  dashboard: () => import("../cli/dashboard.mjs"),
  "merge-c": () => import("../cli/merge-c.mjs"),
};

function usage(out) {
  out.write("usage: wasm-slab <command> [options]   (wasm-slab <command> --help for its options)\n\ncommands:\n");
  return Promise.all(Object.entries(commands).map(async ([name, load]) => [name, (await load()).summary]))
    .then((rows) => { for (const [name, s] of rows) out.write(`  ${name.padEnd(12)} ${s}\n`); });
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === undefined || cmd === "--help" || cmd === "-h" || cmd === "help") {
  await usage(process.stdout);
  process.exit(cmd === undefined ? 2 : 0);
}
if (!Object.hasOwn(commands, cmd)) {
  process.stderr.write(`wasm-slab: unknown command '${cmd}'\n`);
  await usage(process.stderr);
  process.exit(2);
}
const mod = await commands[cmd]();
process.exitCode = await mod.run(rest);
