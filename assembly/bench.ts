// bench.ts — loops that run entirely inside Wasm, for bench/micro.mjs. Not used by the allocator.
//
// Owns: a toy LIFO array (the honest floor for an alloc+free pair: a count and entries in linear memory,
// a one-byte node check, no counters, no validation) at an address the caller provides.
import { cacheAlloc, cacheFree } from "./cpu";

// An empty export: the cost of one JS → Wasm call.
export function benchEmpty(): u32 {
  return 0;
}

// n alloc+free pairs of `cache` through the real fast paths. Returns a checksum so nothing is elided.
export function benchPairs(cache: usize, n: u32): u32 {
  let sum: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const p = cacheAlloc(cache);
    sum += <u32>p;
    cacheFree(cache, p);
  }
  return sum;
}

// n alloc+free pairs of `cache`, k objects deep: alloc k, free k (LIFO traffic through the arrays).
export function benchBursts(cache: usize, n: u32, k: u32, scratch: usize): u32 {
  let sum: u32 = 0;
  for (let i: u32 = 0; i < n; i += k) {
    for (let j: u32 = 0; j < k; j++) store<u32>(scratch + (<usize>j << 2), <u32>cacheAlloc(cache));
    for (let j: u32 = 0; j < k; j++) {
      const p = <usize>load<u32>(scratch + (<usize>j << 2));
      sum += <u32>p;
      cacheFree(cache, p);
    }
  }
  return sum;
}

// The toy: toy = [count u32][node table byte][pad][entries...]. Pop, then push back after a node check.
export function benchToyInit(toy: usize, objects: usize, n: u32, stride: u32): void {
  store<u32>(toy, n);
  store<u8>(toy + 4, 0);
  for (let i: u32 = 0; i < n; i++) store<u32>(toy + 16 + (<usize>i << 2), <u32>(objects + i * stride));
}

export function benchToyPairs(toy: usize, n: u32): u32 {
  let sum: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    let c = load<u32>(toy);
    const p = load<u32>(toy + 16 + (<usize>(c - 1) << 2));
    store<u32>(toy, c - 1);
    sum += p;
    if (load<u8>(toy + 4 + (p >> 31)) == 0) { // the one-byte node check
      c = load<u32>(toy);
      store<u32>(toy + 16 + (<usize>c << 2), p);
      store<u32>(toy, c + 1);
    }
  }
  return sum;
}
