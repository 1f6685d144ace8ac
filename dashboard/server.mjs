// dashboard/server.mjs — the dashboard's local HTTP server: the page, the library it runs, the traces.
//
// Owns: startServer({ port, host, traceDir }) → { url, port, close() }, and what it serves:
//   /                       dashboard/index.html
//   /dashboard/<file>       dashboard/app.js, style.css (files of this directory)
//   /dist/<path>            the built package (dist/index.js and what it imports), unbundled ESM
//   /cli/lib/<file>         the browser-safe helpers shared with the CLI (workload, pagemap, caches)
//   /traces/                JSON list of the trace names in traceDir
//   /traces/<name>.rep      one trace's text
// Anything else is 404; a path never leaves its directory (resolved and checked). Listens on 127.0.0.1
// only (no other host is accepted), on the given port or a free one (port 0). Sends COOP/COEP so the page
// is cross-origin isolated (SharedArrayBuffer available), and no-store so a rebuilt dist/ is picked up.
// Called by: cli/dashboard.mjs, test/dashboard.test.ts.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".wasm": "application/wasm", ".json": "application/json", ".map": "application/json", ".rep": "text/plain; charset=utf-8", ".svg": "image/svg+xml" };
const SHARED = new Set(["workload.mjs", "pagemap.mjs", "caches.mjs"]);
export const HOSTS = ["127.0.0.1", "localhost"];

/** The default trace directory: WASM_SLAB_TRACES, or ../shared/traces beside the repository. */
export function defaultTraceDir() {
  return [process.env.WASM_SLAB_TRACES, join(root, "..", "shared", "traces"), join(root, "..", "..", "shared", "traces")].find((d) => d && existsSync(d)) ?? null;
}

/** dir/rel if it stays inside dir and is a file, else null. */
function inside(dir, rel) {
  const base = resolve(dir);
  const p = resolve(base, "." + sep + decodeURIComponent(rel));
  if (!p.startsWith(base + sep)) return null;
  try {
    return statSync(p).isFile() ? p : null;
  } catch {
    return null;
  }
}

function route(pathname, traceDir) {
  if (pathname === "/" || pathname === "/index.html") return join(here, "index.html");
  if (pathname.startsWith("/dashboard/")) return inside(here, pathname.slice("/dashboard/".length));
  if (pathname.startsWith("/dist/")) return inside(join(root, "dist"), pathname.slice("/dist/".length));
  if (pathname.startsWith("/cli/lib/")) {
    const name = pathname.slice("/cli/lib/".length);
    return SHARED.has(name) ? join(root, "cli", "lib", name) : null;
  }
  if (pathname.startsWith("/traces/") && traceDir && pathname.endsWith(".rep")) return inside(traceDir, pathname.slice("/traces/".length));
  return null;
}

export function startServer({ port = 0, host = "127.0.0.1", traceDir = defaultTraceDir() } = {}) {
  if (!HOSTS.includes(host)) throw new RangeError(`host ${host}: the dashboard listens on 127.0.0.1 only`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port ${port}: expected 0..65535`);
  if (!existsSync(join(root, "dist", "index.js"))) throw new Error("dist/index.js is missing: run `npm run build` first");
  const server = createServer((req, res) => {
    const headers = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp", "Cache-Control": "no-store" };
    let pathname;
    try {
      pathname = new URL(req.url, "http://x").pathname;
    } catch {
      res.writeHead(400, headers).end("bad request");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, headers).end("method not allowed");
      return;
    }
    if (pathname === "/traces/") {
      const names = traceDir ? readdirSync(traceDir).filter((f) => f.endsWith(".rep")).sort().map((f) => f.slice(0, -4)) : [];
      res.writeHead(200, { ...headers, "Content-Type": TYPES[".json"] }).end(JSON.stringify(names));
      return;
    }
    let file = null;
    try {
      file = route(pathname, traceDir);
    } catch {
      file = null; // a malformed %-escape
    }
    if (!file) {
      res.writeHead(404, { ...headers, "Content-Type": "text/plain" }).end(`not found: ${pathname}`);
      return;
    }
    res.writeHead(200, { ...headers, "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(req.method === "HEAD" ? undefined : readFileSync(file));
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host === "localhost" ? "127.0.0.1" : host, () => {
      const actual = server.address().port;
      ok({ url: `http://127.0.0.1:${actual}/`, port: actual, server, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}
