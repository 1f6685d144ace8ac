// abi.test.ts — the generated ABI (bindings/generated/abi.ts, scripts/gen-abi.mjs) matches the modules
// the package embeds: every export's name and kind, every constant's value, in both build flavours; and
// the public constants are the module's own (no hand-kept copy left to drift).
import { describe, expect, it } from "vitest";
import { Abi, ClassSets, EXPORT_SIGNATURES, ErrorCodes, Flags, HookOps, ValidateKinds } from "../bindings/generated/abi.js";
import { CacheFlags, ErrorCode, createAllocator } from "../bindings/index.js";
import { slabWasmBytes } from "../bindings/wasm.js";

const releaseWasm = await slabWasmBytes(false);
const debugWasm = await slabWasmBytes(true);

describe.each([
  ["release", releaseWasm],
  ["debug", debugWasm],
])("the %s module", (_, bytes) => {
  it("exports exactly the functions of SlabExports and the globals of Abi", () => {
    const module = new WebAssembly.Module(bytes);
    const exports = WebAssembly.Module.exports(module);
    const fns = exports.filter((e) => e.kind === "function").map((e) => e.name).sort();
    const globals = exports.filter((e) => e.kind === "global").map((e) => e.name).sort();
    expect(fns).toEqual(Object.keys(EXPORT_SIGNATURES).sort());
    expect(globals).toEqual(Object.keys(Abi).sort());
  });

  it("has the constant values of Abi, and functions of the arity of their signatures", () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory, hook: () => 0 } });
    for (const [name, value] of Object.entries(Abi)) {
      expect([name, Number((instance.exports[name] as WebAssembly.Global).value) >>> 0]).toEqual([name, value]);
    }
    for (const [name, [params]] of Object.entries(EXPORT_SIGNATURES)) {
      expect([name, (instance.exports[name] as (...a: unknown[]) => unknown).length]).toEqual([name, params === "" ? 0 : params.split(",").length]);
    }
  });
});

describe("the TS constants are the module's", () => {
  it("groups hold the prefixed constants of Abi", () => {
    const groups: [Record<string, number>, string][] = [
      [ErrorCodes, "E_"], [Flags, "F_"], [HookOps, "HOOK_"], [ValidateKinds, "V_"], [ClassSets, "KM_SET_"],
    ];
    for (const [group, prefix] of groups) {
      expect(Object.keys(group).length).toBeGreaterThan(0);
      for (const [k, v] of Object.entries(group)) expect((Abi as Record<string, number>)[prefix + k]).toBe(v);
    }
  });

  it("ErrorCode and CacheFlags come from the module", () => {
    expect(ErrorCode).toBe(ErrorCodes);
    for (const [k, v] of Object.entries(CacheFlags)) expect((Flags as Record<string, number>)[k]).toBe(v);
  });

  it("heap.L is the generated Abi", async () => {
    const heap = await createAllocator({ reap: false });
    expect(heap.L).toBe(Abi);
  });
});
