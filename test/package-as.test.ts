// package-as.test.ts — an AssemblyScript program that uses wasm-slab as its allocator: compiled with asc
// (0.27, this repo's) and `--runtime as/slab-runtime --importMemory`, instantiated on createAllocator's
// imports with the heap above the program's static data (dataEnd). Its arrays, strings and objects come
// from the allocator's kmalloc caches (seen in heap.stats() and slabinfo), freeing gives them back, the
// program's static strings survive, and validate() stays clean. asc runs in a temporary directory, so it
// does not pick up this repo's asconfig.json.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createAllocator, dataEnd } from "../bindings/index.js";
import { ROOT, tmp } from "./cc.js";

const PROGRAM = `
class Point { constructor(public x: f64, public y: f64) {} }

/** Sum of 0..n-1 through a growing Array (realloc through __renew). */
export function sum(n: i32): i32 {
  const a = new Array<i32>();
  for (let i = 0; i < n; i++) a.push(i);
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i];
  return s;
}

/** n Points kept alive in an array; returns the array's address (for drop()). */
export function points(n: i32): usize {
  const a = new Array<Point>(n);
  for (let i = 0; i < n; i++) a[i] = new Point(<f64>i, <f64>(2 * i));
  return changetype<usize>(a);
}

export function pointSum(arr: usize): f64 {
  const a = changetype<Array<Point>>(arr);
  let s = 0.0;
  for (let i = 0; i < a.length; i++) s += a[i].x + a[i].y;
  return s;
}

/** Free the points and the array (no collector: the program frees what it made). */
export function drop(arr: usize): void {
  const a = changetype<Array<Point>>(arr);
  for (let i = 0; i < a.length; i++) __free(changetype<usize>(a[i]) - 16);
  __free(changetype<usize>(a.dataStart) - 16);
  __free(arr - 16);
}

/** A string built by concatenation, measured; plus a static string, which must be intact. */
export function strings(n: i32): i32 {
  let s = "";
  for (let i = 0; i < n; i++) s += "ab";
  return s.length + (STATIC == "wasm-slab static" ? 1000000 : 0);
}
const STATIC = "wasm-slab static";
`;

/** asc 0.27's shadow stack for a custom runtime (its DEFAULT_STACK_SIZE), right above the static data. */
const AS_STACK = 32768;

describe("an AssemblyScript program on wasm-slab (as/slab-runtime.ts)", () => {
  let bytes: Uint8Array<ArrayBuffer>;
  beforeAll(() => {
    const dir = tmp();
    writeFileSync(join(dir, "prog.ts"), PROGRAM);
    execFileSync(process.execPath, [
      join(ROOT, "node_modules", "assemblyscript", "bin", "asc.js"), "prog.ts",
      "--runtime", join(ROOT, "as", "slab-runtime"), "--importMemory", "-O3", "-o", "prog.wasm",
    ], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    bytes = new Uint8Array(readFileSync(join(dir, "prog.wasm")));
  }, 60_000);

  it("imports its allocator from wasm_slab and memory from env", () => {
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(bytes)).map((i) => `${i.module}.${i.name}`);
    expect(imports.sort()).toEqual(["env.abort", "env.memory", "wasm_slab.aligned_alloc", "wasm_slab.free", "wasm_slab.realloc"]);
  });

  it("allocates its arrays, objects and strings from the slab heap, and frees them back", async () => {
    // AS puts its static data from 1024 up, then its shadow stack (32 KiB for a custom runtime)
    expect(dataEnd(bytes)).toBeGreaterThan(1024);
    const base = dataEnd(bytes) + AS_STACK;
    const heap = await createAllocator({ heapBase: base, reap: false });
    heap.setMallocClasses("fine"); // a chosen set: every object in its own class (no loans), as counted below
    const { env, wasm_slab } = heap.imports();
    const aborts: number[][] = [];
    const { instance } = await WebAssembly.instantiate(bytes, {
      env: { ...env, abort: (...a: number[]) => { aborts.push(a); throw new Error("abort"); } },
      wasm_slab,
    } as WebAssembly.Imports);
    const x = instance.exports as unknown as {
      sum(n: number): number; points(n: number): number; pointSum(a: number): number; drop(a: number): void; strings(n: number): number;
    };
    /** Active objects of a kmalloc class, from slabinfo. */
    const active = (cls: string) => Number(heap.slabinfo().match(new RegExp(`^${cls} +(\\d+)`, "m"))?.[1] ?? 0);
    expect(x.sum(10_000)).toBe((10_000 * 9_999) / 2);
    const idle48 = active("kmalloc-48");
    const arr = x.points(3000);
    expect(arr).toBeGreaterThanOrEqual(heap.hdr); // in the slab heap, above the program's data and stack
    expect(x.pointSum(arr)).toBe(3 * ((3000 * 2999) / 2));
    // each Point: a 16-byte prefix (its last 4 bytes AS's block header) + AS's 16-byte object header + 16 bytes of fields
    const live48 = active("kmalloc-48");
    expect(live48).toBeGreaterThanOrEqual(idle48 + 3000);
    expect(heap.stats().activeObjects).toBeGreaterThanOrEqual(3000);
    x.drop(arr);
    expect(active("kmalloc-48")).toBeLessThanOrEqual(live48 - 3001); // the points and the array's header
    expect(heap.reports()).toEqual([]); // no bad pointer reached free
    expect(x.strings(500)).toBe(1_000_000 + 1000);
    expect(aborts).toEqual([]);
    expect(heap.validate()).toMatchObject({ ok: true, problemCount: 0 });
  });
});
