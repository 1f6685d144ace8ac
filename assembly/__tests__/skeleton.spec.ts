// Trivial spec: proves the as-pect pipeline (build with ./asconfig.json options,
// imported env.memory, as-pect's own imports) works end to end.
describe("skeleton", () => {
  test("arithmetic works", () => {
    expect<i32>(1 + 1).toBe(2);
  });

  test("linear memory is usable", () => {
    const ptr = heap.alloc(16);
    store<u32>(ptr, 0xdeadbeef);
    expect<u32>(load<u32>(ptr)).toBe(0xdeadbeef);
    expect<i32>(memory.size()).toBeGreaterThan(0);
  });
});
