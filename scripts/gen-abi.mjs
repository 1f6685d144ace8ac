#!/usr/bin/env node
// gen-abi.mjs — writes bindings/generated/abi.ts from the compiled module, so the TS layer never copies
// a value or a signature of the Wasm side by hand.
//
// Owns: reading build/release.wasm (and build/debug.wasm for parameter names and a consistency check)
// and generating, from what the module really exports:
//   - `Abi`: every exported global (assembly/abi.ts re-exports them: layout offsets, sizes, limits,
//     flags, error codes, hook ops, validate kinds, class sets), as one typed `as const` object;
//   - the groups the TS API speaks in, by name prefix (ErrorCodes E_*, Flags F_*, HookOps HOOK_*,
//     ValidateKinds V_*, ClassSets KM_SET_*), each an `as const` object with the prefix dropped;
//   - `SlabExports`: the exported functions with their parameter and result types, read from the type
//     section (i32/f32/f64 → number, i64 → bigint), parameter names from the debug build's name section.
// Entry point: `npm run build` runs it after asc (script "abi"). Called by: nothing else.
// Invariants: every exported global is an immutable i32 constant, read as a u32 (the ABI's constants are
// u32 offsets, sizes, masks and codes, or non-negative i32 codes; 0xffffffff stays 4294967295), and
// the debug build exports the
// same globals with the same values and the same functions; otherwise this fails and names the
// difference (the two builds must never disagree on the ABI).
// Call tree: main → parseModule (sections 1,2,3,6,7 and the custom "name" section) → render.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const releaseFile = join(root, "build", "release.wasm");
const debugFile = join(root, "build", "debug.wasm");
const outFile = join(root, "bindings", "generated", "abi.ts");

/** Prefix groups: name in the generated file, prefix, what it is. Order matters (longest prefix first
 *  where two could match). */
const GROUPS = [
  ["ErrorCodes", "E_", "error codes (assembly/layout.ts E_*): the return values of the failing calls"],
  ["Flags", "F_", "cache flags (assembly/layout.ts F_*)"],
  ["HookOps", "HOOK_", "the ops of env.hook(op, a, b, c) (assembly/layout.ts HOOK_*)"],
  ["ValidateKinds", "V_", "problem codes in heap_validate()'s report (assembly/validate.ts V_*)"],
  ["ClassSets", "KM_SET_", "malloc size-class sets for km_set_classes (assembly/layout.ts KM_SET_*)"],
];

const VALTYPE = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128", 0x70: "funcref", 0x6f: "externref" };
const TS_TYPE = { i32: "number", i64: "bigint", f32: "number", f64: "number" };

class Reader {
  constructor(u8, pos = 0) {
    this.u8 = u8;
    this.pos = pos;
  }
  byte() {
    if (this.pos >= this.u8.length) throw new Error("unexpected end of module");
    return this.u8[this.pos++];
  }
  uleb() {
    let r = 0;
    let mul = 1;
    for (;;) {
      const b = this.byte();
      r += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return r;
    }
  }
  sleb(bits) {
    let r = 0n;
    let shift = 0n;
    let b;
    do {
      b = this.byte();
      r |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80);
    if (shift < BigInt(bits) && b & 0x40) r -= 1n << shift;
    return r;
  }
  name() {
    const n = this.uleb();
    const s = new TextDecoder().decode(this.u8.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  limits() {
    const f = this.uleb();
    this.uleb();
    if (f & 1) this.uleb();
  }
}

/** The parts of a module this script needs. */
function parseModule(u8, file) {
  const r = new Reader(u8, 8);
  if (u8[0] !== 0 || u8[1] !== 0x61 || u8[2] !== 0x73 || u8[3] !== 0x6d) throw new Error(`${file}: not a Wasm module`);
  const types = [];
  const funcTypes = []; // type index of every function, imported ones first
  const globals = []; // { type, mutable, value }, imported ones first (value undefined)
  const exports = [];
  const localNames = new Map(); // function index → [param names...]
  while (r.pos < u8.length) {
    const id = r.byte();
    const size = r.uleb();
    const end = r.pos + size;
    if (id === 1) {
      for (let n = r.uleb(); n > 0; n--) {
        if (r.byte() !== 0x60) throw new Error(`${file}: unsupported type form`);
        const params = [];
        for (let k = r.uleb(); k > 0; k--) params.push(VALTYPE[r.byte()]);
        const results = [];
        for (let k = r.uleb(); k > 0; k--) results.push(VALTYPE[r.byte()]);
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = r.uleb(); n > 0; n--) {
        r.name();
        r.name();
        const kind = r.byte();
        if (kind === 0) funcTypes.push(r.uleb());
        else if (kind === 1) { r.byte(); r.limits(); }
        else if (kind === 2) r.limits();
        else if (kind === 3) { const t = VALTYPE[r.byte()]; globals.push({ type: t, mutable: r.byte() === 1, value: undefined }); }
        else if (kind === 4) { r.byte(); r.uleb(); }
        else throw new Error(`${file}: unknown import kind ${kind}`);
      }
    } else if (id === 3) {
      for (let n = r.uleb(); n > 0; n--) funcTypes.push(r.uleb());
    } else if (id === 6) {
      for (let n = r.uleb(); n > 0; n--) {
        const type = VALTYPE[r.byte()];
        const mutable = r.byte() === 1;
        const op = r.byte();
        let value; // undefined: not a plain integer constant (refused below if exported)
        if (op === 0x41) value = r.sleb(32);
        else if (op === 0x42) value = r.sleb(64);
        else if (op === 0x43) r.pos += 4;
        else if (op === 0x44) r.pos += 8;
        else if (op === 0x23 || op === 0xd2) r.uleb();
        else if (op === 0xd0) r.byte();
        else throw new Error(`${file}: unsupported global initializer 0x${op.toString(16)}`);
        if (r.byte() !== 0x0b) throw new Error(`${file}: a global initializer longer than one instruction`);
        globals.push({ type, mutable, value });
      }
    } else if (id === 7) {
      for (let n = r.uleb(); n > 0; n--) {
        const name = r.name();
        const kind = r.byte();
        const index = r.uleb();
        exports.push({ name, kind, index });
      }
    } else if (id === 0) {
      const sub = new Reader(u8, r.pos);
      const cname = sub.name();
      if (cname === "name") {
        while (sub.pos < end) {
          const sid = sub.byte();
          const ssize = sub.uleb();
          const send = sub.pos + ssize;
          if (sid === 2) {
            for (let n = sub.uleb(); n > 0; n--) {
              const fidx = sub.uleb();
              const locals = [];
              for (let k = sub.uleb(); k > 0; k--) locals[sub.uleb()] = sub.name();
              localNames.set(fidx, locals);
            }
          }
          sub.pos = send;
        }
      }
    }
    r.pos = end;
  }
  const functions = new Map();
  const consts = new Map();
  for (const e of exports) {
    if (e.kind === 0) {
      const t = types[funcTypes[e.index]];
      functions.set(e.name, { ...t, paramNames: localNames.get(e.index) ?? [] });
    } else if (e.kind === 3) {
      const g = globals[e.index];
      if (g.mutable || g.type !== "i32" || g.value === undefined) {
        throw new Error(`${file}: exported global ${e.name} is not an immutable i32 constant`);
      }
      consts.set(e.name, Number(g.value) >>> 0); // read as u32 (Wasm has no unsigned type; see Invariants)
    }
  }
  return { functions, consts };
}

function sameSignature(a, b) {
  return a.params.join() === b.params.join() && a.results.join() === b.results.join();
}

function identifier(s, i) {
  const clean = (s ?? "").replace(/[^A-Za-z0-9_$]/g, "_");
  return /^[A-Za-z_$]/.test(clean) ? clean : `a${i}`;
}

function render(rel, mod, debugMod) {
  const lines = [];
  lines.push(`// GENERATED by scripts/gen-abi.mjs from ${rel}. Do not edit: change assembly/abi.ts (or what it`);
  lines.push(`// re-exports) and rebuild. Every value and signature below is read from the compiled module.`);
  lines.push("");
  const names = [...mod.consts.keys()].sort();
  lines.push(`/** Every constant the module exports (assembly/abi.ts): layout offsets, sizes, limits and codes. */`);
  lines.push(`export const Abi = {`);
  for (const n of names) lines.push(`  ${n}: ${mod.consts.get(n)},`);
  lines.push(`} as const;`);
  lines.push(`export type AbiName = keyof typeof Abi;`);
  for (const [group, prefix, what] of GROUPS) {
    lines.push("");
    lines.push(`/** The ${what}. */`);
    lines.push(`export const ${group} = {`);
    const members = names.filter((n) => n.startsWith(prefix)).sort((a, b) => mod.consts.get(a) - mod.consts.get(b) || (a < b ? -1 : 1));
    for (const n of members) {
      if (GROUPS.some(([, p]) => p !== prefix && p.startsWith(prefix) && n.startsWith(p))) continue; // a longer prefix owns it
      lines.push(`  ${n.slice(prefix.length)}: ${mod.consts.get(n)},`);
    }
    lines.push(`} as const;`);
  }
  lines.push("");
  lines.push(`/** The functions the module exports, with the types of its type section (pointers and sizes are`);
  lines.push(` *  u32 at the ABI, but an i32 result reaches JS signed: callers apply \`>>> 0\` where it is a pointer). */`);
  lines.push(`export interface SlabExports {`);
  for (const [name, f] of [...mod.functions].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const pn = debugMod?.functions.get(name)?.paramNames ?? f.paramNames;
    const params = f.params.map((t, i) => `${identifier(pn[i], i)}: ${TS_TYPE[t] ?? "unknown"}`).join(", ");
    const result = f.results.length === 0 ? "void" : f.results.length === 1 ? (TS_TYPE[f.results[0]] ?? "unknown") : "unknown[]";
    lines.push(`  ${name}(${params}): ${result};`);
  }
  lines.push(`}`);
  lines.push("");
  lines.push(`/** Export name → [parameter types, result types], to check a module against this file at run time. */`);
  lines.push(`export const EXPORT_SIGNATURES: Readonly<Record<keyof SlabExports, readonly [string, string]>> = {`);
  for (const [name, f] of [...mod.functions].sort(([a], [b]) => (a < b ? -1 : 1))) {
    lines.push(`  ${name}: [${JSON.stringify(f.params.join(","))}, ${JSON.stringify(f.results.join(","))}],`);
  }
  lines.push(`};`);
  lines.push("");
  return lines.join("\n");
}

async function main() {
  let release;
  try {
    release = new Uint8Array(await readFile(releaseFile));
  } catch (err) {
    console.error(`gen-abi: cannot read ${relative(root, releaseFile)} (run asbuild:release first): ${err.message}`);
    process.exit(1);
  }
  const mod = parseModule(release, relative(root, releaseFile));
  let debugMod;
  try {
    debugMod = parseModule(new Uint8Array(await readFile(debugFile)), relative(root, debugFile));
  } catch (err) {
    if (err.code !== "ENOENT") throw err;
  }
  if (debugMod) {
    const problems = [];
    for (const [n, v] of mod.consts) if (debugMod.consts.get(n) !== v) problems.push(`global ${n}: release ${v}, debug ${debugMod.consts.get(n)}`);
    for (const n of debugMod.consts.keys()) if (!mod.consts.has(n)) problems.push(`global ${n}: only in the debug build`);
    for (const [n, f] of mod.functions) {
      const d = debugMod.functions.get(n);
      if (!d) problems.push(`function ${n}: not in the debug build`);
      else if (!sameSignature(f, d)) problems.push(`function ${n}: signatures differ`);
    }
    for (const n of debugMod.functions.keys()) if (!mod.functions.has(n)) problems.push(`function ${n}: only in the debug build`);
    if (problems.length > 0) {
      console.error(`gen-abi: the release and debug builds disagree on the ABI:\n  ${problems.join("\n  ")}`);
      process.exit(1);
    }
  }
  await mkdir(dirname(outFile), { recursive: true });
  await writeFile(outFile, render(relative(root, releaseFile), mod, debugMod));
  console.log(`gen-abi: wrote ${relative(root, outFile)} (${mod.consts.size} constants, ${mod.functions.size} functions)`);
}

await main();
