// run.mjs — `npm run bench`: every benchmark in bench/, each in its own process, in a fixed order.
// A benchmark that needs tools this machine lacks says so and is skipped; the others still run.
// Usage: node bench/run.mjs [name ...]   (names: micro, and the others listed below when present)
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const all = [
  { name: "micro", file: "micro.mjs", what: "per-CPU fast paths vs empty calls and a toy LIFO" },
  { name: "capacity", file: "capacity.mjs", what: "per-CPU array capacity: hits, locks, parked memory" },
  { name: "overhead", file: "overhead.mjs", what: "objects per slab and metadata bytes per object byte" },
  { name: "inuse", file: "inuse.mjs", what: "double-free hardening: in-use bit and top-of-array check vs before" },
  { name: "reclaim", file: "reclaim.mjs", what: "slab-oriented reclaim vs LRU eviction" },
  { name: "malloc", file: "malloc-peers.mjs", what: "malloc peers: dlmalloc, AS TLSF, glibc, jemalloc, mimalloc, bump; trace replays" },
  { name: "js", file: "js-peers.mjs", what: "JS peers: Cache API vs @thi.ng/malloc MemPool vs plain JS objects (GC included)" },
];
const wanted = process.argv.slice(2);
let failed = 0;
for (const b of all) {
  if (wanted.length && !wanted.includes(b.name)) continue;
  const file = join(here, b.file);
  if (!existsSync(file)) continue;
  console.log(`\n=== ${b.name}: ${b.what} ===\n`);
  const r = spawnSync(process.execPath, [file], { stdio: "inherit" });
  if (r.status !== 0) {
    failed++;
    console.log(`(${b.name} exited with ${r.status})`);
  }
}
process.exit(failed ? 1 : 0);
