// c-link.test.ts — real C on wasm-slab's malloc: a freestanding program and a wasm32-wasi program using
// libc (printf, strdup, qsort), each linked (a) at instantiation through heap.imports() and (b) merged
// into one module with wasm-merge + wasm-opt. Every C program is compiled once, in beforeAll.
import { readFileSync, openSync, closeSync } from "node:fs";
import { join } from "node:path";
import { WASI as NodeWasi } from "node:wasi";
import { beforeAll, describe, expect, it } from "vitest";
import { DoubleFreeError, InvalidFreeError, cHeapBase, createAllocator, instanceForWasi } from "../bindings/index.js";
import { FREESTANDING, ROOT, WASI, clang, haveClang, tmp } from "./cc.js";
import { mergeC } from "../scripts/merge-c.mjs";

const C = (f: string) => join(ROOT, "test", "c", f);
const SHIM = join(ROOT, "c", "slab_shim.c");
const INC = `-I${join(ROOT, "c")}`;

type Fns = Record<string, (...a: number[]) => number>;

describe.skipIf(!haveClang)("C programs on wasm-slab", () => {
  const out: Record<string, string> = {};
  beforeAll(() => {
    const dir = tmp();
    const o = (n: string) => (out[n] = join(dir, n));
    // freestanding: imports from env (no shim, --allow-undefined), through the shim, and merged
    clang([...FREESTANDING, INC, C("freestanding.c"), "-Wl,--import-memory", "-Wl,--allow-undefined", "-o", o("free-env.wasm")]);
    clang([...FREESTANDING, INC, C("freestanding.c"), SHIM, "-Wl,--import-memory", "-o", o("free-shim.wasm")]);
    clang([...FREESTANDING, INC, C("freestanding.c"), SHIM, "-o", o("free-own.wasm")]);
    mergeC(out["free-own.wasm"]!, o("free-merged.wasm"));
    // wasi: on the shim with imported memory, merged, and on wasi-libc's dlmalloc (the reference output)
    clang([...WASI, INC, C("wasi.c"), SHIM, "-Wl,--import-memory", "-o", o("wasi-import.wasm")]);
    clang([...WASI, INC, C("wasi.c"), SHIM, "-o", o("wasi-own.wasm")]);
    mergeC(out["wasi-own.wasm"]!, o("wasi-merged.wasm"));
    clang([...WASI, C("wasi.c"), "-o", o("wasi-dlmalloc.wasm")]);
  }, 600_000); // 7 clang links and 2 merges: seconds alone, minutes on a loaded 2-core machine

  async function viaImports(file: string) {
    const bytes = readFileSync(out[file]!);
    const heap = await createAllocator({ heapBase: cHeapBase(bytes) });
    const { instance } = await WebAssembly.instantiate(bytes, heap.imports() as WebAssembly.Imports);
    return { heap, fns: instance.exports as unknown as Fns };
  }

  async function merged(file: string) {
    const reports: number[][] = [];
    const { instance } = await WebAssembly.instantiate(readFileSync(out[file]!), {
      env: { hook: (op: number, a: number, b: number) => (reports.push([op, a, b >>> 0]), 0) },
    });
    return { reports, fns: instance.exports as unknown as Fns, memory: instance.exports.memory as WebAssembly.Memory };
  }

  const checks: [string, number[]][] = [["lists", [20000]], ["grow", [100000]], ["mixed", [20]], ["zeroed", []], ["aligned", []]];

  for (const file of ["free-env.wasm", "free-shim.wasm"]) {
    it(`freestanding C through heap.imports() (${file === "free-env.wasm" ? "env imports, no shim" : "the shim"})`, async () => {
      const { heap, fns } = await viaImports(file);
      for (const [name, args] of checks) expect(fns[name]!(...args), name).toBe(0);
      expect(heap.validate().ok).toBe(true);
      expect(heap.slabinfo()).toContain("kmalloc-16");
      // the heap starts above the C module's data and stack
      const base = cHeapBase(readFileSync(out[file]!));
      expect(heap.u32(heap.hdr + heap.L.H_HEAP_BASE!)).toBe(base);
      expect(heap.hdr).toBeGreaterThanOrEqual(base);
    });
  }

  it("freestanding C merged into one module (wasm-merge + wasm-opt): direct calls", async () => {
    const { fns, reports } = await merged("free-merged.wasm");
    for (const [name, args] of checks) expect(fns[name]!(...args), name).toBe(0);
    expect(reports).toEqual([]);
    // calls are direct: the merged module imports nothing but env.hook
    const mod = new WebAssembly.Module(readFileSync(out["free-merged.wasm"]!));
    expect(WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}`)).toEqual(["env.hook"]);
    // the allocator's heap lies above the C module's __heap_base
    expect(fns.heap_addr!()).toBeGreaterThanOrEqual(fns.__heap_base === undefined ? 0 : Number((fns.__heap_base as unknown as WebAssembly.Global).value));
    expect(fns.heap_validate!()).toBe(0);
  });

  it("bad pointers from C change nothing and are reported, as typed errors on the TS side", async () => {
    const { heap, fns } = await viaImports("free-shim.wasm");
    expect(fns.bad_pointers!()).toBe(0);
    const errs = heap.reports();
    expect(errs.map((e) => e.constructor.name)).toEqual(["InvalidFreeError", "InvalidFreeError", "InvalidFreeError", "InvalidFreeError", "DoubleFreeError", "DoubleFreeError"]);
    expect((errs[0] as InvalidFreeError).reason).toBe("not-object");
    expect((errs[3] as InvalidFreeError).reason).toBe("not-ours");
    expect(errs[4]).toBeInstanceOf(DoubleFreeError);
    expect(heap.reports()).toEqual([]);
    expect(heap.validate().ok).toBe(true);

    const m = await merged("free-merged.wasm");
    expect(m.fns.bad_pointers!()).toBe(0);
    expect(m.reports.map((r) => r[0])).toEqual([4, 4, 4, 4, 4, 4]);
    expect(m.reports.map((r) => r[1])).toEqual([3, 3, 3, 2, 5, 5]); // not-object ×3, not-ours, double free ×2
    expect(m.fns.heap_validate!()).toBe(0);
  });

  async function runWasi(file: string, mode: "imports" | "merged" | "plain", args: string[] = []) {
    const bytes = readFileSync(out[file]!);
    const outFile = join(tmp(), "stdout.txt");
    const fd = openSync(outFile, "w");
    const wasi = new NodeWasi({ version: "preview1", args: ["prog", ...args], stdout: fd, returnOnExit: true });
    let code: number;
    let heap;
    if (mode === "imports") {
      heap = await createAllocator({ heapBase: cHeapBase(bytes) });
      const { instance } = await WebAssembly.instantiate(bytes, { ...heap.imports(), wasi_snapshot_preview1: wasi.wasiImport } as WebAssembly.Imports);
      // node:wasi wants the memory as an export; the module imports it (instanceForWasi adds it)
      code = wasi.start(instanceForWasi(instance, heap.memory));
    } else {
      const { instance } = await WebAssembly.instantiate(bytes, {
        env: { hook: () => 0 },
        wasi_snapshot_preview1: wasi.wasiImport,
      } as WebAssembly.Imports);
      code = wasi.start(instance);
    }
    closeSync(fd);
    return { code, stdout: readFileSync(outFile, "utf8"), heap };
  }

  it("a wasm32-wasi program using libc (printf, strdup, qsort) prints what it prints on dlmalloc", async () => {
    const ref = await runWasi("wasi-dlmalloc.wasm", "plain");
    expect(ref.code).toBe(0);
    expect(ref.stdout).toContain("words 5000");
    const a = await runWasi("wasi-import.wasm", "imports");
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(ref.stdout);
    expect(a.heap!.validate().ok).toBe(true);
    expect(a.heap!.stats().activeObjects).toBeGreaterThan(0); // stdio's buffers are still allocated
    const b = await runWasi("wasi-merged.wasm", "merged");
    expect(b.code).toBe(0);
    expect(b.stdout).toBe(ref.stdout);
    // a bad free in the program: reported, the block keeps its bytes
    const bad = await runWasi("wasi-import.wasm", "imports", ["bad"]);
    expect(bad.stdout).toContain("after bad free: kept");
    expect(bad.heap!.reports().map((e) => e.message)).toEqual([expect.stringMatching(/not the start of an object/)]);
  });
});
