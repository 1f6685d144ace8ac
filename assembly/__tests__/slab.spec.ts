// slab.spec.ts — slab sizing (SLUB's order calculation), the free bitmap, object ↔ index math.
import { freshHeap } from "./setup.include";
import { calcOrder, cacheCreate, cacheCreateInternal } from "../cache";
import { slabNew, slabTake, slabPut, slabIsFree, resolveObject, resolvedIndex, resolvedError } from "../slab";
import { pageAddr } from "../arena";
import {
  C_BITMAP_WORDS, C_OBJ_OFFSET, C_OBJECTS, C_ORDER, C_STRIDE, D_AUX, D_BITS, D_INUSE, E_DOUBLE_FREE,
  E_NOT_OBJECT, E_NOT_OURS, E_WRONG_CACHE, PAGE_SIZE,
} from "../layout";

describe("slab sizing", () => {
  test("orders as SLUB computes them for one CPU", () => {
    freshHeap();
    expect<u32>(calcOrder(8, 8, 1)).toBe(0);
    expect<u32>(calcOrder(64, 8, 1)).toBe(0);
    expect<u32>(calcOrder(192, 8, 1)).toBe(0);
    expect<u32>(calcOrder(1024, 8, 1)).toBe(1);
    expect<u32>(calcOrder(4096, 8, 1)).toBe(3);
    expect<u32>(calcOrder(32768, 8, 1)).toBe(3);
  });

  test("waste stays within 1/16 of the slab for common sizes", () => {
    freshHeap();
    for (let size: u32 = 8; size <= 4096; size += 8) {
      const c = cacheCreateInternal(size);
      const slab = PAGE_SIZE << load<u32>(c, C_ORDER);
      const used = load<u32>(c, C_OBJECTS) * load<u32>(c, C_STRIDE);
      // sizes just above a page fraction may only reach 1/8 or 1/4 (the fallback fractions)
      expect<bool>(slab - used <= slab / 4).toBe(true);
    }
  });

  test("small objects put the bitmap in the slab, large ones inline", () => {
    freshHeap();
    const small = cacheCreateInternal(8);
    expect<u32>(load<u32>(small, C_OBJECTS)).toBe(504);          // (4096 - 64) / 8
    expect<u32>(load<u32>(small, C_OBJ_OFFSET)).toBe(64);
    expect<u32>(load<u32>(small, C_BITMAP_WORDS)).toBe(8);
    const big = cacheCreateInternal(192);
    expect<u32>(load<u32>(big, C_OBJECTS)).toBe(21);
    expect<u32>(load<u32>(big, C_OBJ_OFFSET)).toBe(0);
    const d = slabNew(big, 0);
    expect<u32>(load<u32>(d, D_AUX)).toBe(<u32>(d + D_BITS));
  });
});

describe("bitmap", () => {
  test("take hands out objects in address order and counts them", () => {
    freshHeap();
    const c = cacheCreateInternal(64);
    const d = slabNew(c, 0);
    const buf = memory.data(4 * 64);
    expect<u32>(slabTake(c, d, buf, 10)).toBe(10);
    expect<u16>(load<u16>(d, D_INUSE)).toBe(10);
    for (let i: u32 = 0; i < 10; i++) expect<u32>(load<u32>(buf + i * 4)).toBe(<u32>(pageAddr(d) + i * 64));
    expect<u32>(slabTake(c, d, buf, 100)).toBe(54);
    expect<u32>(slabTake(c, d, buf, 1)).toBe(0);
    expect<u32>(slabPut(d, 63)).toBe(63);
    expect<bool>(slabIsFree(d, 63)).toBe(true);
    expect<bool>(slabIsFree(d, 62)).toBe(false);
  });

  test("multi-word bitmaps stop at the last object", () => {
    freshHeap();
    const c = cacheCreateInternal(8);
    const d = slabNew(c, 0);
    const buf = memory.data(4 * 600);
    expect<u32>(slabTake(c, d, buf, 600)).toBe(504);
    expect<u32>(load<u32>(buf + 503 * 4)).toBe(<u32>(pageAddr(d) + 64 + 503 * 8));
  });
});

describe("object ↔ index", () => {
  test("every object start resolves to its index; other bytes are refused", () => {
    freshHeap();
    const sizes: u32[] = [8, 24, 56, 96, 192, 200, 1000, 1024, 3000, 4096, 10000, 32768];
    for (let k = 0; k < sizes.length; k++) {
      const c = cacheCreateInternal(sizes[k]);
      const d = slabNew(c, 0);
      const objects = load<u32>(c, C_OBJECTS);
      const stride = load<u32>(c, C_STRIDE);
      const first = pageAddr(d) + load<u32>(c, C_OBJ_OFFSET);
      const buf = memory.data(4 * 512);
      slabTake(c, d, buf, objects); // all allocated
      for (let i: u32 = 0; i < objects; i++) {
        expect<usize>(resolveObject(c, first + i * stride)).toBe(d);
        expect<u32>(resolvedIndex).toBe(i);
        expect<usize>(resolveObject(c, first + i * stride + 4)).toBe(0);
        expect<i32>(resolvedError).toBe(E_NOT_OBJECT);
      }
      if (load<u32>(c, C_OBJ_OFFSET) != 0) {
        expect<usize>(resolveObject(c, pageAddr(d))).toBe(0); // the bitmap is not an object
        expect<i32>(resolvedError).toBe(E_NOT_OBJECT);
      }
    }
  });

  test("foreign, wrong-cache and already-free pointers are told apart", () => {
    freshHeap();
    const a = cacheCreateInternal(64);
    const b = cacheCreateInternal(64);
    const d = slabNew(a, 0);
    const buf = memory.data(4);
    slabTake(a, d, buf, 1);
    const obj = <usize>load<u32>(buf);
    expect<usize>(resolveObject(b, obj)).toBe(0);
    expect<i32>(resolvedError).toBe(E_WRONG_CACHE);
    expect<usize>(resolveObject(a, obj + 64)).toBe(0);          // free in the slab
    expect<i32>(resolvedError).toBe(E_DOUBLE_FREE);
    expect<usize>(resolveObject(a, 16)).toBe(0);                // below the heap
    expect<i32>(resolvedError).toBe(E_NOT_OURS);
    expect<usize>(resolveObject(a, 0xfff00000)).toBe(0);        // above the heap
    expect<i32>(resolvedError).toBe(E_NOT_OURS);
  });
});
