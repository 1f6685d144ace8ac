import { describe, expect, it } from "vitest";
import { slabWasmBytes } from "../bindings/wasm.js";

const releaseWasm = await slabWasmBytes(false);
const debugWasm = await slabWasmBytes(true);

describe("embedded wasm", () => {
  it("release build is valid Wasm", () => {
    expect(releaseWasm).toBeInstanceOf(Uint8Array);
    expect(WebAssembly.validate(releaseWasm)).toBe(true);
  });

  it("debug build is valid Wasm", () => {
    expect(WebAssembly.validate(debugWasm)).toBe(true);
  });

  it("imports only env.memory and the env.hook callback", () => {
    for (const bytes of [releaseWasm, debugWasm]) {
      const mod = new WebAssembly.Module(bytes);
      const imports = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}:${i.kind}`);
      expect(imports.sort()).toEqual(["env.hook:function", "env.memory:memory"]);
    }
  });
});
