// counted.ts — build/debug.wasm with exact call counters (shared helper, not a test file): for the tests
// that pin down which allocator functions an operation calls (lendfast.test.ts, realloc-inplace.test.ts).
//
// countedBytes(names) returns build/debug.wasm (asc keeps its functions as written there) with an exported
// mutable i32 global "n:<name>" per named function, incremented on the function's entry (binaryen.js, as
// bench/profile-malloc.mjs counts calls). Every name must be a function of the module (checked).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import binaryen from "binaryen";
import { expect } from "vitest";
import { ROOT } from "./cc.js";

// binaryen.js's Function.setBody (present at run time; its typings put it on Module instances only)
const setBody = (binaryen as unknown as { Function: { setBody(f: number, body: number): void } }).Function.setBody;

/** build/debug.wasm with an exported i32 counter "n:<name>" per function of `names`, bumped on entry. */
export function countedBytes(names: readonly string[]): Uint8Array {
  const m = binaryen.readBinary(readFileSync(join(ROOT, "build", "debug.wasm")));
  m.setFeatures(binaryen.Features.MVP | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt | binaryen.Features.MutableGlobals |
    binaryen.Features.SignExt | binaryen.Features.NontrappingFPToInt);
  const found: string[] = [];
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const f = m.getFunctionByIndex(i);
    const info = binaryen.getFunctionInfo(f);
    if (info.module || !names.includes(info.name)) continue;
    found.push(info.name);
    const g = `n$${i}`;
    m.addGlobal(g, binaryen.i32, true, m.i32.const(0));
    m.addGlobalExport(g, `n:${info.name}`);
    const bump = m.global.set(g, m.i32.add(m.global.get(g, binaryen.i32), m.i32.const(1)));
    setBody(f, m.block(null, [bump, info.body], info.results));
  }
  expect(found.sort(), "the counted functions are in build/debug.wasm").toEqual([...names].sort());
  expect(m.validate()).toBeTruthy();
  const bytes = m.emitBinary();
  m.dispose();
  return bytes;
}
