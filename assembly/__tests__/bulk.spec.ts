// bulk.spec.ts — bulk.ts (runs in and out of the arrays, the check pass) and node.ts slabsReleased (the
// count fix for a batch whose free bits are already set), against validate() and the slab counters.
import { freshHeap } from "./setup.include";
import { DEFAULT_CAP, cacheCreate } from "../cache";
import { bulkBadIndex, cacheAllocBulk, cacheFreeBulk } from "../bulk";
import { slabsReleased } from "../node";
import { pageOf } from "../arena";
import { validate } from "../validate";
import { D_BITS, D_INUSE, D_LIST, E_DOUBLE_FREE, E_NOT_OBJECT, E_OK, L_EMPTY, L_FULL, L_PARTIAL } from "../layout";
import { cacheAlloc } from "../cpu";

// Objects of cache c that are live (allocated and not parked), by walking nothing: the spec keeps them.
const BUF = memory.data(4 * 5000);
const BUF2 = memory.data(4 * 5000);

@inline function at(buf: usize, k: u32): u32 { return load<u32>(buf + (<usize>k << 2)); }

describe("bulk runs", () => {
  test("a run larger than the arrays and the barn goes out and back, the heap consistent", () => {
    freshHeap();
    const c = cacheCreate(64, 8, 0, DEFAULT_CAP);
    for (let round = 0; round < 4; round++) {
      expect<u32>(cacheAllocBulk(c, BUF, 5000)).toBe(5000);
      expect<u32>(validate()).toBe(0);
      expect<i32>(cacheFreeBulk(c, BUF, 5000)).toBe(E_OK);
      expect<u32>(validate()).toBe(0);
    }
  });

  test("a duplicate far apart in one batch is a double free, and nothing changes", () => {
    freshHeap();
    const c = cacheCreate(64, 8, 0, DEFAULT_CAP);
    expect<u32>(cacheAllocBulk(c, BUF, 1000)).toBe(1000);
    memory.copy(BUF2, BUF, 4000);
    store<u32>(BUF2 + 4 * 999, at(BUF, 3));                      // object 3 again, at the end
    const slab = pageOf(at(BUF, 3));
    const inuse = load<u16>(slab, D_INUSE);
    const bits = load<u64>(slab, D_BITS);
    expect<i32>(cacheFreeBulk(c, BUF2, 1000)).toBe(E_DOUBLE_FREE);
    expect<u32>(bulkBadIndex).toBe(999);
    expect<u16>(load<u16>(slab, D_INUSE)).toBe(inuse);
    expect<u64>(load<u64>(slab, D_BITS)).toBe(bits);
    expect<u32>(validate()).toBe(0);
    store<u32>(BUF2 + 4 * 999, at(BUF, 999) + 8);               // not an object start
    expect<i32>(cacheFreeBulk(c, BUF2, 1000)).toBe(E_NOT_OBJECT);
    expect<u32>(bulkBadIndex).toBe(999);
    expect<u32>(validate()).toBe(0);
    expect<i32>(cacheFreeBulk(c, BUF, 1000)).toBe(E_OK);
    expect<u32>(validate()).toBe(0);
  });
});

describe("slabsReleased", () => {
  test("fixes counts and lists once per run of one slab, bits already set", () => {
    freshHeap();
    const c = cacheCreate(64, 8, 0, 0);                          // no arrays: objects straight from slabs
    const p = memory.data(4 * 64);
    for (let i: u32 = 0; i < 64; i++) store<u32>(p + (i << 2), <u32>cacheAlloc(c));
    const d = pageOf(at(p, 0));
    expect<u8>(load<u8>(d, D_LIST)).toBe(L_FULL);
    // free objects 10..19 the way bulk.ts does: set their bits, then fix the count
    let bits = load<u64>(d, D_BITS);
    for (let i: u32 = 10; i < 20; i++) bits |= <u64>1 << i;
    store<u64>(d, bits, D_BITS);
    slabsReleased(c, p + 40, 10);
    expect<u16>(load<u16>(d, D_INUSE)).toBe(54);
    expect<u8>(load<u8>(d, D_LIST)).toBe(L_PARTIAL);
    expect<u32>(validate()).toBe(0);
    store<u64>(d, <u64>-1, D_BITS);                              // and the other 54
    memory.copy(p + 40, p + 80, 44 * 4);
    slabsReleased(c, p, 54);
    expect<u16>(load<u16>(d, D_INUSE)).toBe(0);
    expect<u8>(load<u8>(d, D_LIST)).toBe(L_EMPTY);
    expect<u32>(validate()).toBe(0);
  });
});

describe("bulk check pass", () => {
  test("a first pointer in memory's first slab-sized block is refused, not taken for the current slab", () => {
    freshHeap();
    const c = cacheCreate(64, 8, 0, DEFAULT_CAP);
    expect<u32>(cacheAllocBulk(c, BUF, 10)).toBe(10);
    const low = load<u64>(0);
    for (let bad: u32 = 0; bad < 4096; bad += 64) {
      store<u32>(BUF2, bad);
      memory.copy(BUF2 + 4, BUF, 40);
      expect<bool>(cacheFreeBulk(c, BUF2, 11) != E_OK).toBe(true);
      expect<u32>(bulkBadIndex).toBe(0);
      expect<u64>(load<u64>(0)).toBe(low);                      // nothing written at address 0
    }
    expect<u32>(validate()).toBe(0);
    expect<i32>(cacheFreeBulk(c, BUF, 10)).toBe(E_OK);
  });
});
