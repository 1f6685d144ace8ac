// bench/wasm/pairs.ts — a benchmark entry: the whole ABI plus alloc/free loops that run inside Wasm.
// Built by bench/inuse.mjs twice, against this tree's assembly/ and against a baseline revision's, so
// that both are measured in the same process. Not part of the package.
export * from "../../assembly/index";
import { cacheAlloc, cacheFree } from "../../assembly/cpu";

// n alloc+free pairs of one object (the hottest case: both hit the main array).
export function bench_pairs(cache: u32, n: u32): u32 {
  let x: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const p = <u32>cacheAlloc(cache);
    x ^= p;
    cacheFree(cache, p);
  }
  return x;
}

// `rounds` rounds of: allocate k objects into buf (u32 each), free them in reverse order.
export function bench_batch(cache: u32, rounds: u32, k: u32, buf: u32): u32 {
  let x: u32 = 0;
  for (let r: u32 = 0; r < rounds; r++) {
    for (let i: u32 = 0; i < k; i++) store<u32>(buf + (i << 2), <u32>cacheAlloc(cache));
    for (let i: u32 = k; i > 0; i--) {
      const p = load<u32>(buf + ((i - 1) << 2));
      x ^= p;
      cacheFree(cache, p);
    }
  }
  return x;
}
