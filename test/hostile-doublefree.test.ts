// hostile-doublefree.test.ts — no object is ever handed out twice: every double free is refused with
// DoubleFreeError (C: a report and last_error 5), nothing changed, wherever the object sits — deep in a
// CPU's main or spare array, in a barn, in an alien array, freed from another CPU of the node or of
// another node, through realloc, in bulk, and objects the allocator holds that were never handed out.
// Each case runs in a worker with a time limit (test/hostile-harness.ts): a double free that corrupts an
// array can make a later alloc loop for ever, which must fail the test, not hang the run.
import { describe, expect, it } from "vitest";
import { valueOf } from "./hostile-harness.js";

const MODES = [
  { name: "default", inuse: false },
  { name: "inUseBits", inuse: true },
];

describe.each(MODES)("double frees ($name)", ({ inuse }) => {
  it.each(["cache", "malloc"])("the issue's example: 61 freed, the first freed again (%s)", async (kind) => {
    const r = await valueOf("dfIssueDeep", { inuse, kind });
    expect(r).toMatchObject({ err: "DoubleFreeError", distinct: true, clash: 0, validate: true });
  });

  // 5: main array; 61: main and spare; 130: + barn; 700: + slabs (past the barn's ten arrays)
  it.each([5, 61, 130, 700])("every one of %i freed objects freed again is refused", async (k) => {
    const r = await valueOf("dfEveryFreed", { k, inuse });
    expect(r.names).toEqual({ DoubleFreeError: k });
    expect(r).toMatchObject({ distinct: true, clash: 0, validate: true });
  });

  it.each(["malloc", "ctor", "reclaimable"])("every freed object freed again is refused (%s)", async (kind) => {
    const r = await valueOf("dfEveryFreed", { k: 130, inuse, kind });
    expect(r.names).toEqual({ DoubleFreeError: 130 });
    expect(r).toMatchObject({ distinct: true, clash: 0, validate: true });
  });

  it("a double free from another CPU of the same node is refused", async () => {
    const r = await valueOf("dfEveryFreed", { k: 130, inuse, cpus: 2 });
    expect(r.names).toEqual({ DoubleFreeError: 130 });
    expect(r).toMatchObject({ distinct: true, clash: 0, validate: true });
  });

  it("a double free into an alien array (another node's CPU) is refused, from either node", async () => {
    const r = await valueOf("dfAlien", { inuse });
    expect(r).toMatchObject({ err: "DoubleFreeError", err2: "DoubleFreeError", distinct: true, clash: 0, validate: true });
  });

  it("the issue's alien example: a double free on another node, a reap, then 200 allocs (used to hang)", async () => {
    const r = await valueOf("dfAlienIssue", { inuse }, 20_000);
    expect(r).toEqual({ err: "DoubleFreeError", distinct: true, validate: true });
  });

  it("a free of an object never handed out (the rest of a refill batch) is refused, changing nothing", async () => {
    const r = await valueOf("dfNeverHandedOut", { inuse });
    expect(r.names).toEqual({ DoubleFreeError: 3 });
    expect(r).toMatchObject({ distinct: true, clash: 0, validate: true });
  });

  it("a free of an object inside a prefill handle is refused; the handle still hands it out once", async () => {
    const r = await valueOf("dfPrefilled", { inuse });
    expect(r).toMatchObject({ names: { DoubleFreeError: 5 }, handle: 10, distinct: true, clash: 0, validate: true });
  });

  it.each([
    { size: 24, to: 100 },
    { size: 24, to: 16 },
    { size: 100, to: 20000 },
  ])("realloc of a freed block is a double free ($size → $to)", async ({ size, to }) => {
    const r = await valueOf("dfRealloc", { inuse, size, to });
    expect(r).toEqual({ err: "DoubleFreeError", distinct: true, validate: true });
  });

  it("C's realloc of a freed block reports a double free and returns 0", async () => {
    const r = await valueOf("dfRealloc", { inuse, api: "c" });
    expect(r).toEqual({ err: "code 5", distinct: true, validate: true });
  });

  it("freeBulk naming a parked object, or one object twice, is refused and changes nothing", async () => {
    const r = await valueOf("dfBulk", { inuse });
    expect(r).toMatchObject({ parked: "DoubleFreeError", twice: "DoubleFreeError", changed: 0, distinct: true, clash: 0, validate: true });
  });

  it("C's free of a block deep in an array: one report, last_error 5, nothing changed", async () => {
    const r = await valueOf("dfCFree", { inuse });
    expect(r).toEqual({ code: 5, reports: 1, changed: 0, distinct: true, validate: true });
  });
});
