#!/usr/bin/env node
// check-layers.mjs — every import in assembly/*.ts points down.
//
// The layer order is declared once, in the header comment of assembly/index.ts (the block that starts
// with "Layers (bottom first"): one line per layer, files without ".ts", lowest first. A file may import
// only files on lower lines; a file on the same line or a higher one is an upward (or circular) import,
// and the check fails naming the file and the import. Every assembly/*.ts must appear in the order (a name
// may be listed before its file exists), and
// the README's "How it is built" must show the same lines (so the map a reader sees is the one enforced).
// The as-pect specs under assembly/__tests__ may import anything and are not checked.
//
// Usage: node scripts/check-layers.mjs [repo root]   (exit 0: clean; 1: problems, one per line)
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(process.argv[2] ?? new URL("..", import.meta.url).pathname);
const dir = join(root, "assembly");
const problems = [];

// The order: "//   <n>  file file ..." lines after the "Layers (bottom first" line, up to a line without them.
function readOrder(text, where) {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.includes("Layers (bottom first"));
  if (start < 0) return null;
  const layers = [];
  let i = start + 1;
  while (i < lines.length && lines[i].trim() === "") i++;     // a blank line may open the block (Markdown)
  for (; i < lines.length; i++) {
    const m = /^\s*(?:\/\/)?\s*(\d+)\s{2,}([a-z][\w-]*(?:\s+[a-z][\w-]*)*)\s*(?:—.*)?$/.exec(lines[i].replace(/\s+$/, ""));
    if (!m) break;
    if (Number(m[1]) !== layers.length) problems.push(`${where}: layer ${m[1]} out of sequence (expected ${layers.length})`);
    layers.push(m[2].split(/\s+/));
  }
  return layers;
}

const indexText = readFileSync(join(dir, "index.ts"), "utf8");
const order = readOrder(indexText, "assembly/index.ts");
if (!order || order.length === 0) {
  console.error("check-layers: assembly/index.ts has no \"Layers (bottom first\" block");
  process.exit(1);
}
const layerOf = new Map();
order.forEach((files, n) => files.forEach((f) => {
  if (layerOf.has(f)) problems.push(`assembly/index.ts: ${f} is listed twice in the layer order`);
  layerOf.set(f, n);
}));

// README must show the same order.
const readme = readFileSync(join(root, "README.md"), "utf8");
const shown = readOrder(readme, "README.md");
if (!shown) problems.push("README.md: no \"Layers (bottom first\" block in How it is built");
else if (JSON.stringify(shown) !== JSON.stringify(order)) {
  problems.push("README.md: the layer order differs from assembly/index.ts's header (update one from the other)");
}

// Imports: `import ... from "./x"`, `export ... from "./x"`, `import "./x"`.
const files = readdirSync(dir).filter((f) => f.endsWith(".ts")).sort();
for (const file of files) {
  const name = file.slice(0, -3);
  const text = readFileSync(join(dir, file), "utf8").replace(/\/\/.*$/gm, "");
  const mine = layerOf.get(name);
  if (mine === undefined) {
    problems.push(`assembly/${file}: not in the layer order (add it to the "Layers" block of assembly/index.ts and README.md)`);
    continue;
  }
  const re = /(?:\bfrom\s*|\bimport\s*)"\.\/([\w.-]+?)(?:\.ts)?"/g;
  for (let m; (m = re.exec(text)); ) {
    const dep = m[1];
    const theirs = layerOf.get(dep);
    if (theirs === undefined) problems.push(`assembly/${file} imports "./${dep}", which is not in the layer order`);
    else if (theirs === mine) problems.push(`assembly/${file} (layer ${mine}) imports "./${dep}" on its own layer: circular or sideways`);
    else if (theirs > mine) problems.push(`assembly/${file} (layer ${mine}) imports "./${dep}" (layer ${theirs}): upward`);
  }
}
if (problems.length) {
  for (const p of problems) console.error(`check-layers: ${p}`);
  process.exit(1);
}
console.log(`check-layers: ${files.length} files in ${order.length} layers, every import points down`);
