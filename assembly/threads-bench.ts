// threads-bench.ts — loops for bench/threads.mjs, run entirely inside Wasm by each Worker. Not used by
// the allocator.
//
// Owns nothing in linear memory but a lock word the caller provides.
// Entry points: benchLockedBursts (the single-lock baseline). The per-CPU workload is bench.ts's
// benchBursts, run by each Worker on the CPU it owns.
// Called by: index.ts (bench_locked_bursts). Calls cpu.ts (fast paths), threads.ts (borrowCpu), sync.ts.
//
// The baseline is "the single-threaded allocator behind one global lock": every operation takes one
// heap-wide lock and runs as CPU `cpu`, which no thread owns, so all Workers share one set of arrays —
// what a Wasm program linking a single-lock malloc gets. The lock is the allocator's own futex lock
// (sync.ts), so waiting costs what it costs in the allocator.
import { cacheAlloc, cacheFree } from "./cpu";
import { lock, unlock } from "./sync";
import { borrowCpu, returnCpu } from "./threads";

// benchBursts(cache, n, k, scratch) with every alloc and every free under the lock at `word`.
export function benchLockedBursts(cache: usize, n: u32, k: u32, scratch: usize, word: usize, cpu: u32): u32 {
  let sum: u32 = 0;
  for (let i: u32 = 0; i < n; i += k) {
    for (let j: u32 = 0; j < k; j++) {
      lock(word);
      borrowCpu(cpu);
      store<u32>(scratch + (<usize>j << 2), <u32>cacheAlloc(cache));
      returnCpu();
      unlock(word);
    }
    for (let j: u32 = 0; j < k; j++) {
      const p = <usize>load<u32>(scratch + (<usize>j << 2));
      sum += <u32>p;
      lock(word);
      borrowCpu(cpu);
      cacheFree(cache, p);
      returnCpu();
      unlock(word);
    }
  }
  return sum;
}
