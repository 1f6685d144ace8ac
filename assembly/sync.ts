// sync.ts — the lock primitives every layer uses, the per-instance "current CPU", and the few shared words
// that must be written atomically in a threaded build.
//
// Owns: lock()/unlock() over a u32 word in linear memory, the heap lock (heapLock/heapUnlock, H_HEAP_LOCK,
// recursive per instance), the lock-order check, publish()/atomicAdd() for shared words, the lock
// timeout, and the CPU id global (with its slot offset).
// Called by: every layer. Calls nothing.
//
// One source, two builds. THREADED is the compile-time constant ASC_FEATURE_THREADS (the "threaded"
// targets of asconfig.json pass `--enable threads` with a shared imported memory); every `if (THREADED)`
// below is folded away in the single-threaded build, which keeps plain stores.
//
// Lock order (a holder of a lock may take only locks further down this list; checked in debug builds):
//   0. heap lock              (H_HEAP_LOCK: the cache list, ids, lazily created internal caches, kmalloc
//                              tables; recursive for one instance, so cache creation may nest)
//   1. cache-node list lock   (CN_LOCK: a cache's slab lists and barn on one node), or a node's medium
//                             heap lock (MC_LOCK in its control block, medium.ts: its regions and free lists)
//   2. node page lock         (N_LOCK: that node's free page runs (bins) and free chunks)
//   3. grow lock              (H_GROW_LOCK: memory.grow, the chunk table, nchunks)
// At most one lock of each rank is held at a time: an operation that touches several nodes (a batch free
// that mixes nodes: node.ts freeToSlabs, bulk.ts checkNodes) takes their cache-node locks one after
// another, never two at once. No lock of ranks 1..3 is ever held across a call to
// the host (env.hook): constructors, destructors, shrinkers and report callbacks may re-enter the
// allocator. The heap lock may be (pressure reclaim inside a cache creation runs shrinkers); a re-entered
// call on the same instance takes it again recursively.
//
// Single-threaded build: a lock is a plain word, and taking one that is held is a bug (a re-entrant call
// that broke the rule above), caught by an assertion in debug builds.
// Threaded build: a lock word is 0 (free), 1 (held) or 2 (held, maybe waiters) — a futex mutex. Taking it
// is one atomic.cmpxchg when free; else a bounded spin, then atomic.wait32 with a 1 ms timeout where the
// thread may block (canWait: not a browser's main thread, where atomic.wait traps) or more spinning where
// it may not. A waiter never hangs forever: after `lockTimeout` timed-out waits (or spin rounds) without
// getting the lock, lock() records the word in lockTimedOutWord and traps (unreachable): a lock held that
// long means its holder died inside the allocator, and the heap cannot be trusted any more.
//
// The CPU-local fast path takes no lock and uses no atomic instruction: a CPU is owned by exactly one
// instance at a time (threads.ts: the owner word), as the kernel disables preemption there.

export const THREADED: bool = ASC_FEATURE_THREADS;

// The current CPU of this instance (Wasm globals are per instance, as a CPU is per Worker), and the
// offset of its slot inside any cache (percpu.ts cpuSlot: one global and one add on the fast paths),
// kept equal to slotArea + currentCpu × slotBytes by the two setters below.
export let currentCpu: u32 = 0;
export let currentSlotOff: usize = 0;
let slotArea: usize = 0;
let slotBytes: usize = 0;

export function setCpu(cpu: u32): void {
  currentCpu = cpu;
  currentSlotOff = slotArea + <usize>cpu * slotBytes;
}

// Where the per-CPU slots start inside a cache and how long each is (percpu.ts setCpuOff, at init and
// attach).
export function setSlotArea(area: usize, bytes: usize): void {
  slotArea = area;
  slotBytes = bytes;
  currentSlotOff = area + <usize>currentCpu * bytes;
}

// ---- the heap lock's address (set by arena init / attach; 0 before) ------------------------------------
let heapLockWord: usize = 0;
let heapLockDepth: u32 = 0;
export function setHeapLockWord(word: usize): void {
  heapLockWord = word;
}

// ---- lock order (debug builds) ------------------------------------------------------------------------
// Ranks of the locks this instance holds (bit r = rank r). The rank of a word is told by its caller
// (lockRank) or found from its address: the grow lock and the node structs sit at fixed header offsets.
let heldRanks: u32 = 0;
let growLockWord: usize = 0;
let nodesLo: usize = 0;
let nodesHi: usize = 0;
export const RANK_HEAP: u32 = 0;
export const RANK_CACHE_NODE: u32 = 1;
export const RANK_NODE: u32 = 2;
export const RANK_GROW: u32 = 3;

// Tell the order check where the grow lock and the node structs are (arena init / attach).
export function setLockMap(growWord: usize, nodes: usize, nodesEnd: usize): void {
  growLockWord = growWord;
  nodesLo = nodes;
  nodesHi = nodesEnd;
}

@inline function rankOf(word: usize): u32 {
  if (word == growLockWord) return RANK_GROW;
  if (word >= nodesLo && word < nodesHi) return RANK_NODE;
  return RANK_CACHE_NODE;
}

function orderTake(word: usize): void {
  const r = rankOf(word);
  assert((heldRanks >> r) == 0); // lock order broken: a lock of this or a later rank is held
  heldRanks |= 1 << r;
}

function orderDrop(word: usize): void {
  heldRanks &= ~(1 << rankOf(word));
}

// Ranks held now (debug builds; 0 in release builds, which do not track them).
export function locksHeld(): u32 {
  return heldRanks;
}

// ---- waiting policy (threaded build) ------------------------------------------------------------------
let canWait: bool = true;
let lockTimeout: u32 = 30000;       // timed-out 1 ms waits (or spin rounds) before giving up: ≥ 30 s
export let lockTimedOutWord: usize = 0;
const SPINS: u32 = 100;              // cmpxchg attempts before the first wait
const SPIN_ROUND: u32 = 1 << 20;     // spins that count as one "timed-out wait" when waiting is not allowed
const WAIT_NS: i64 = 1000000;        // 1 ms

export function setWaitPolicy(wait: bool, timeout: u32): void {
  canWait = wait;
  lockTimeout = timeout == 0 ? 1 : timeout;
}

// ---- lock / unlock -------------------------------------------------------------------------------------

@inline export function lock(word: usize): void {
  if (ASC_NO_ASSERT == false) orderTake(word);
  if (THREADED) {
    if (atomic.cmpxchg<u32>(word, 0, 1) != 0) lockContended(word);
  } else {
    if (ASC_NO_ASSERT == false) assert(load<u32>(word) == 0); // lock already held: a re-entrant call
    store<u32>(word, 1);
  }
}

@inline export function unlock(word: usize): void {
  if (ASC_NO_ASSERT == false) orderDrop(word);
  if (THREADED) {
    if (atomic.xchg<u32>(word, 0) == 2) atomic.notify(word, 1);
  } else {
    store<u32>(word, 0);
  }
}

// Try once; true when taken (threaded build; the single-threaded build takes a free lock).
export function tryLock(word: usize): bool {
  if (THREADED) {
    if (atomic.cmpxchg<u32>(word, 0, 1) != 0) return false;
  } else {
    if (load<u32>(word) != 0) return false;
    store<u32>(word, 1);
  }
  if (ASC_NO_ASSERT == false) orderTake(word);
  return true;
}

// The slow half of lock() (threaded build): spin, then wait (or keep spinning), bounded.
function lockContended(word: usize): void {
  for (let i: u32 = 0; i < SPINS; i++) {
    if (atomic.load<u32>(word) == 0 && atomic.cmpxchg<u32>(word, 0, 2) == 0) return;
  }
  let rounds: u32 = 0;
  for (;;) {
    // Mark "held, with waiters" (2); if it was free, we have it (in state 2: one needless notify).
    if (atomic.xchg<u32>(word, 2) == 0) return;
    if (canWait) {
      if (memory.atomic.wait32(word, 2, WAIT_NS) == 2) rounds++;       // 2: timed out
    } else {
      let k: u32 = 0;
      while (k < SPIN_ROUND && atomic.load<u32>(word) != 0) k++;
      if (k == SPIN_ROUND) rounds++;
    }
    if (rounds >= lockTimeout) {
      lockTimedOutWord = word;
      unreachable(); // never hang: the holder died inside the allocator (threads.ts documents this)
    }
  }
}

// ---- the heap lock (recursive per instance) ------------------------------------------------------------

export function heapLock(): void {
  if (heapLockDepth++ != 0) return;
  if (ASC_NO_ASSERT == false) {
    assert(heldRanks == 0); // lock order: the heap lock comes first
    heldRanks |= 1 << RANK_HEAP;
  }
  if (THREADED) {
    if (atomic.cmpxchg<u32>(heapLockWord, 0, 1) != 0) lockContended(heapLockWord);
  }
}

export function heapUnlock(): void {
  if (--heapLockDepth != 0) return;
  if (ASC_NO_ASSERT == false) heldRanks &= ~(1 << RANK_HEAP);
  if (THREADED) {
    if (atomic.xchg<u32>(heapLockWord, 0) == 2) atomic.notify(heapLockWord, 1);
  }
}

// ---- shared words --------------------------------------------------------------------------------------

// Store a word other instances read without a lock, after everything it points to was written.
@inline export function publish(addr: usize, v: u32): void {
  if (THREADED) atomic.store<u32>(addr, v);
  else store<u32>(addr, v);
}

// Read a word another instance publishes.
@inline export function readShared(addr: usize): u32 {
  if (THREADED) return atomic.load<u32>(addr);
  return load<u32>(addr);
}

// Add to a shared counter; returns the old value.
@inline export function atomicAdd(addr: usize, v: u32): u32 {
  if (THREADED) return atomic.add<u32>(addr, v);
  const old = load<u32>(addr);
  store<u32>(addr, old + v);
  return old;
}
