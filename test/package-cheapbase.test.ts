// package-cheapbase.test.ts — cHeapBase (bindings/heap-base.ts) on hand-assembled modules: globals of
// every constant kind before __heap_base (f64/i64/v128 constants whose bytes contain 0x0b, the `end`
// opcode), imported globals shifting the index space, a custom section, global.get and extended-const
// init expressions; and the typed error for what it cannot read (truncated bytes, a non-i32 or imported
// __heap_base, no such export). Real clang output is read in test/c-link.test.ts.
import { describe, expect, it } from "vitest";
import { InvalidArgumentError, cHeapBase } from "../bindings/index.js";

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
};
const str = (s: string) => [...uleb(s.length), ...new TextEncoder().encode(s)];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const module = (...sections: number[][]) => new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...sections.flat()]);

const END = 0x0b;
const I32 = 0x7f, I64 = 0x7e, F64 = 0x7c, V128 = 0x7b;
const global = (type: number, ...init: number[]) => [type, 0, ...init, END];
const i32 = (v: number) => [0x41, ...sleb(v)];
const exportGlobal = (name: string, index: number) => [...str(name), 3, ...uleb(index)];
const imports = section(2, vec([
  [...str("env"), ...str("memory"), 2, 0, 1],
  [...str("env"), ...str("g"), 3, I32, 0],
]));

describe("cHeapBase", () => {
  it("reads __heap_base after f64, i64 and v128 globals whose constants contain the end opcode", () => {
    const bytes = module(
      section(0, [...str("note"), END, END, END]),
      imports,
      section(6, vec([
        global(F64, 0x44, ...new Array(8).fill(END)),
        global(I64, 0x42, ...sleb(-1)),
        global(V128, 0xfd, ...uleb(12), ...new Array(16).fill(END)),
        global(I32, ...i32(66560)),
      ])),
      section(7, vec([exportGlobal("other", 1), exportGlobal("__heap_base", 4)])),
    );
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(cHeapBase(bytes)).toBe(66560);
    expect(cHeapBase(bytes.buffer)).toBe(66560);
    expect(cHeapBase(new DataView(bytes.buffer))).toBe(66560);
  });

  it("follows global.get and evaluates extended-const i32 arithmetic", () => {
    const globals = section(6, vec([
      global(I32, ...i32(1024)),
      global(I32, 0x23, 1), // global.get 1: the first defined global (index 0 is the import)
      global(I32, 0x23, 1, ...i32(4096), 0x6a, ...i32(2), 0x6c), // (g1 + 4096) * 2
    ]));
    expect(cHeapBase(module(imports, globals, section(7, vec([exportGlobal("__heap_base", 2)]))))).toBe(1024);
    expect(cHeapBase(module(imports, globals, section(7, vec([exportGlobal("__heap_base", 3)]))))).toBe(10240);
  });

  it("throws InvalidArgumentError, never a wrong number, for what it cannot read", () => {
    const good = module(imports, section(6, vec([global(I32, ...i32(70000))])), section(7, vec([exportGlobal("__heap_base", 1)])));
    expect(cHeapBase(good)).toBe(70000);
    const cases: [string, Uint8Array<ArrayBuffer>][] = [
      ["not Wasm", new TextEncoder().encode("\0asm but not really")],
      ["truncated", good.subarray(0, good.length - 3)],
      ["imported", module(imports, section(7, vec([exportGlobal("__heap_base", 0)])))],
      ["f64", module(section(6, vec([global(F64, 0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f)])), section(7, vec([exportGlobal("__heap_base", 0)])))],
      ["absent", module(imports, section(6, vec([global(I32, ...i32(5))])), section(7, vec([exportGlobal("__data_end", 1)])))],
      ["not constant", module(section(6, vec([global(I32, 0x20, 0)])), section(7, vec([exportGlobal("__heap_base", 0)])))],
      ["section past the end", module([6, ...uleb(1000), 1])],
    ];
    for (const [what, bytes] of cases) {
      expect(() => cHeapBase(bytes), what).toThrow(InvalidArgumentError);
    }
  });
});
