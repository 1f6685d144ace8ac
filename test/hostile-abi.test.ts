// hostile-abi.test.ts — the raw Wasm ABI as a C program (or a confused JS caller) could call it: every
// export that takes a cache handle, a prefill handle or an output pointer, called with garbage (0, small
// numbers, the heap header, internal caches, a sheaf, a user object holding the cache magic, a destroyed
// cache, the end of memory, 2^31, 2^32-1), and every free-like entry point given pointers into every
// metadata region. No trap, no hang, no byte changed outside the error detail. Each export runs in a
// worker with a time limit.
import { describe, expect, it } from "vitest";
import { valueOf } from "./hostile-harness.js";
// @ts-expect-error — a plain .mjs module without types
import { ABI_FNS, WILD_VIAS } from "./hostile-cases.mjs";

describe("the raw ABI with garbage handles", () => {
  it.each(ABI_FNS as string[])("%s neither traps, hangs nor writes memory", async (fn) => {
    const r = await valueOf("abiGarbage", { fn }, 60_000);
    expect(r.bad).toEqual([]);
  });
});

describe("pointers into every metadata region", () => {
  it.each(WILD_VIAS as string[])("%s: a typed error or a report, nothing changed", async (via) => {
    const r = await valueOf("wild", { via }, 60_000);
    expect(r.pointers).toBeGreaterThan(25);
    expect(r.bad).toEqual([]);
    expect(r.validate).toBe(true);
  });
});

describe("the C import object", () => {
  it("offers malloc & co. and the last_error functions the README tells C callers to read", async () => {
    const r = await valueOf("modeImports");
    expect(r.missing).toEqual([]);
    expect(r.code).toBe(2); // free(12345): not a heap pointer (E_NOT_OURS)
    expect(r.addr).toBe(12345);
  });
});
