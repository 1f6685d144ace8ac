// sync.ts — the lock primitive every layer uses, and the per-instance "current CPU".
//
// Owns: lock()/unlock() over a u32 word in linear memory, and the CPU id global.
//
// Lock order (a holder of a lock may take only locks further down this list):
//   1. cache-node list lock   (CN_LOCK: a cache's slab lists and barn on one node)
//   2. node page lock         (N_LOCK: that node's buddy lists and free chunks)
//   3. grow lock              (H_GROW_LOCK: memory.grow, the chunk table, nchunks)
// No lock is ever held across a call to the host (env.hook): constructors, destructors, shrinkers and
// report callbacks may re-enter the allocator.
//
// This build is single-threaded: a lock is a plain word, and taking one that is held is a bug (a
// re-entrant call that broke the rule above), caught by an assertion in debug builds. The threaded build
// (later) replaces the bodies with atomic.cmpxchg spins; callers do not change.

// The current CPU of this instance (Wasm globals are per instance, as a CPU is per Worker).
export let currentCpu: u32 = 0;

export function setCpu(cpu: u32): void {
  currentCpu = cpu;
}

// Count of lock acquisitions, added to the current CPU's lock_acquire counter by the caller's layer.
@inline export function lock(word: usize): void {
  if (ASC_NO_ASSERT == false) assert(load<u32>(word) == 0); // lock already held: a re-entrant call
  store<u32>(word, 1);
}

@inline export function unlock(word: usize): void {
  store<u32>(word, 0);
}
