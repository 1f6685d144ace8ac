// cli/dashboard.mjs — `wasm-slab dashboard`: start the dashboard's local server (dashboard/server.mjs)
// and print its address; it runs until interrupted (Ctrl-C).
import { UsageError, intArg, parseCommand } from "./lib/args.mjs";

export const summary = "a live slab map, counters and slabinfo in the browser (local server on 127.0.0.1)";

const help = `usage: wasm-slab dashboard [--port N] [--traces DIR]

Starts a local HTTP server on 127.0.0.1 and prints its address. The page runs wasm-slab in the browser
(dist/index.js) under a workload you choose (a trace, or a synthetic producer/consumer across simulated
CPUs and nodes) and shows a live slab map (one cell per 4 KiB page, coloured by owning cache, shaded by
fill), per-cache counters and slabinfo, with pause, step, reap and shrink controls.

  --port N       port to listen on (default 0: a free port)
  --traces DIR   directory of .rep traces offered by the page (default ../shared/traces or $WASM_SLAB_TRACES)
`;

export async function run(argv) {
  const parsed = parseCommand("dashboard", help, { port: { type: "string" }, traces: { type: "string" } }, argv);
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  const { existsSync } = await import("node:fs");
  let port;
  try {
    port = intArg(values, "port", 0, 0, 65535);
    if (values.traces !== undefined && !existsSync(values.traces)) throw new UsageError(`--traces ${values.traces}: no such directory`);
  } catch (err) {
    process.stderr.write(`wasm-slab dashboard: ${err.message}\n`);
    return 2;
  }
  const { startServer, defaultTraceDir } = await import("../dashboard/server.mjs");
  let srv;
  try {
    srv = await startServer({ port, traceDir: values.traces ?? defaultTraceDir() });
  } catch (err) {
    process.stderr.write(`wasm-slab dashboard: ${err.message}\n`);
    return 1;
  }
  process.stdout.write(`wasm-slab dashboard: ${srv.url}  (Ctrl-C to stop)\n`);
  await new Promise((r) => {
    process.once("SIGINT", r);
    process.once("SIGTERM", r);
  });
  await srv.close();
  return 0;
}
