// classes.test.ts — malloc's default size classes (assembly/kmalloc.ts KM_SET_FINE): every request size
// from 1 B up to the large-block threshold gets a block whose class rounding is at most 12.5% from 128 B
// up, and less than 16 B below; the kernel's classes stay selectable and unchanged.
import { describe, expect, it } from "vitest";
import { createAllocator } from "../bindings/index.js";

describe("malloc size classes: rounding", () => {
  it("every size from 1 B to the large-block threshold: ≤ 12.5% from 128 B, < 16 B below", async () => {
    const heap = await createAllocator();
    heap.setMallocClasses("fine"); // the classes themselves: a chosen set lends nothing (kmalloc.ts borrow)
    const max = heap.L.KMALLOC_MAX!;
    expect(max).toBeGreaterThanOrEqual(8192);
    let worst = 0;
    let worstAt = 0;
    for (let n = 1; n <= max; n++) {
      const p = heap.malloc(n);
      const u = heap.usableSize(p);
      heap.free(p);
      expect(u, `malloc(${n})`).toBeGreaterThanOrEqual(n);
      if (n < 128) expect(u - n, `malloc(${n}) → ${u}`).toBeLessThan(16);
      else {
        const r = (u - n) / n;
        if (r > worst) { worst = r; worstAt = n; }
        expect(r, `malloc(${n}) → ${u}`).toBeLessThanOrEqual(0.125);
      }
    }
    expect(worst, `worst rounding at ${worstAt}`).toBeGreaterThan(0.1); // the walk saw the boundaries
    expect(heap.validate().ok).toBe(true);
  });

  it("the kernel set keeps the kernel's 13 classes", async () => {
    const heap = await createAllocator();
    heap.setMallocClasses("kernel");
    const kernel = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];
    const seen = new Set<number>();
    for (let n = 1; n <= 8192; n += 1) {
      const p = heap.malloc(n);
      seen.add(heap.usableSize(p));
      heap.free(p);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(kernel);
  });
});
