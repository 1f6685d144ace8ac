// threads.ts — shared heaps, the low half: CPU ownership, this instance's token, and the requests only a
// CPU's owner may carry out (the protocol; the work itself is threads-ops.ts's).
//
// Owns: the thread block (layout.ts "threads": per CPU an owner word, a request word and two sequence
// numbers), H_THREADS and H_TOKEN, and this instance's token and claimed CPU.
// Entry points: threadsInit() (heapInit, threaded build), threadsJoin() (attach: a token, parked),
// cpuClaim(cpu), cpuOwner(), threadsRequest(cpu, bits), requestsDone(), threadsHonour() /
// threadsPending() (slow paths), noCpu(), park(), finishRequests(), takeOver()/giveBack() (recovery),
// and borrowCpu()/returnCpu() (bench only: threads-bench.ts's single-lock baseline).
// Called by: cache.ts (init), cpu.ts (slow paths, drains), reclaim.ts (reap of another CPU),
// threads-ops.ts, threads-bench.ts. Calls arena.ts (HEAP), percpu.ts (pinCpu), sync.ts; and, as the one
// way up, the work handler threads-ops.ts registers (`threadsWork`, AssemblyScript's @global, as
// page.ts's shortage handler): draining and reaping live above this layer.
// Only the threaded build (sync.ts THREADED) calls any of this; the single-threaded build folds every
// call away.
//
// Call tree:
//   cpuClaim ─ atomic.cmpxchg(owner, 0, token) ─ run as that CPU (setCpu, pinCpu) ─ finish old requests
//   threadsRequest ─ (owned, not ours) atomic.or(req, bits) ─ atomic.add(reqSeq, 1)
//   threadsHonour ─ loop: seq := reqSeq; bits := xchg(req, 0); threadsWork(bits); doneSeq := seq; notify
//   (threads-ops.ts: cpuRelease, cpuRecover, threadsAttach, threadsPoll, threadsWork)
//
// Invariants:
//   a CPU's owner word is 0 or the token of the one instance running on it; an instance owns at most one
//   CPU; an instance that owns none runs on the parked slot (index ncpus), whose arrays stay empty;
//   a CPU without owner has empty arrays (release and recovery drain them before the owner word clears);
//   doneSeq ≤ reqSeq, and doneSeq = reqSeq whenever req = 0 and the owner is outside threadsHonour.
// Request protocol: a requester ORs its bits into req and then adds 1 to reqSeq (returning the new value
// S); the owner reads reqSeq, then exchanges req with 0, does the work, and stores the sequence it read in
// doneSeq (atomic.notify on it), again while reqSeq moved meanwhile. A request is complete when doneSeq
// ≥ S (wrapping compare). The TS layer waits for that with Atomics.wait, bounded by a timeout.
// A Worker killed inside an allocator call may leave a lock held (lock waiters then time out: sync.ts) or
// a CPU mid-slow-path; recovery clears that CPU's guards and drains what its arrays hold.
import { E_BUSY, E_INVALID, E_OK, H_NCPUS, H_THREADS, H_TOKEN, T_DONE_SEQ, T_OWNER, T_REQ, T_REQ_SEQ, THREAD_BYTES, THREAD_CPU } from "./layout";
import { HEAP } from "./arena";
import { pinCpu } from "./percpu";
import { currentCpu, setCpu } from "./sync";

let token: u32 = 0;        // this instance's token (0 until init / attach)
let mine: usize = 0;       // this instance's CPU record in the thread block, 0 while it owns no CPU

@inline function block(): usize {
  return <usize>load<u32>(HEAP, H_THREADS);
}

@inline function record(cpu: u32): usize {
  return block() + <usize>cpu * THREAD_CPU;
}

@inline function ncpus(): u32 {
  return load<u32>(HEAP, H_NCPUS);
}

// True while this instance owns no CPU (the slow paths refuse then).
@inline export function noCpu(): bool {
  return mine == 0;
}

// A request is waiting for this instance's CPU.
@inline export function threadsPending(): bool {
  return load<u32>(mine, T_REQ) != 0;
}

export function park(): void {
  mine = 0;
  setCpu(ncpus());        // the parked slot
  pinCpu(ncpus());        // its node byte is 0 (MAX_SHARED_CPUS < MAX_CPUS)
}

// heapInit, threaded build: the thread block follows the boot cache (zeroed with the header). The
// creating instance takes the first token and starts parked; the TS layer claims a CPU next.
export function threadsInit(at: usize): void {
  store<u32>(HEAP, <u32>at, H_THREADS);
  memory.fill(at, 0, THREAD_BYTES);
  token = atomic.add<u32>(HEAP + H_TOKEN, 1) + 1;
  park();
}

// A fresh instance attached to an existing heap (threads-ops.ts threadsAttach, after the views): take a
// token, start parked. False when it has one already (attached, or the heap's creator).
export function threadsJoin(): bool {
  if (token != 0) return false;
  token = atomic.add<u32>(HEAP + H_TOKEN, 1) + 1;
  park();
  return true;
}

// This instance's CPU record (0: none).
export function myRecord(): usize {
  return mine;
}

// Recovery (threads-ops.ts cpuRecover): take `cpu` over from the dead owner `dead` and run as it; E_OK,
// E_BUSY when the owner word is not `dead` any more, E_INVALID. giveBack() returns to this instance's own
// CPU (or the parked slot) and frees the recovered one.
let keptMine: usize = 0;
let keptCpu: u32 = 0;
export function takeOver(cpu: u32, dead: u32): i32 {
  if (token == 0 || cpu >= ncpus() || dead == 0 || dead == token) return E_INVALID;
  const r = record(cpu);
  if (atomic.cmpxchg<u32>(r, dead, token, T_OWNER) != dead) return E_BUSY;
  keptMine = mine;
  keptCpu = currentCpu;
  mine = r;
  setCpu(cpu);
  pinCpu(cpu);
  return E_OK;
}

export function giveBack(): void {
  const r = mine;
  finishRequests(r);
  mine = keptMine;
  setCpu(keptCpu);
  pinCpu(keptCpu);
  atomic.store<u32>(r, 0, T_OWNER);
}

// Give this instance's CPU up (threads-ops.ts cpuRelease, after draining it).
export function releaseOwner(): void {
  const r = mine;
  finishRequests(r);
  park();
  atomic.store<u32>(r, 0, T_OWNER);
}

export function instanceToken(): u32 {
  return token;
}

export function threadBlock(): usize {
  return block();
}

export function cpuOwner(cpu: u32): u32 {
  return cpu < ncpus() ? atomic.load<u32>(record(cpu), T_OWNER) : 0;
}

// Claim `cpu` for this instance (0xffffffff: the first free one). E_OK, E_BUSY (owned by another, or
// none free), or E_INVALID (no such CPU, or this instance owns one already: release it first).
export function cpuClaim(cpu: u32): i32 {
  if (token == 0 || mine != 0) return E_INVALID;
  const n = ncpus();
  if (cpu == 0xffffffff) {
    for (let c: u32 = 0; c < n; c++) if (cpuClaim(c) == E_OK) return E_OK;
    return E_BUSY;
  }
  if (cpu >= n) return E_INVALID;
  const r = record(cpu);
  if (atomic.cmpxchg<u32>(r, 0, token, T_OWNER) != 0) return E_BUSY;
  mine = r;
  setCpu(cpu);
  pinCpu(cpu);
  // Requests posted while the CPU had no owner found empty arrays: they are complete.
  atomic.store<u32>(r, atomic.load<u32>(r, T_REQ_SEQ), T_DONE_SEQ);
  atomic.store<u32>(r, 0, T_REQ);
  atomic.notify(r + T_DONE_SEQ);
  return E_OK;
}

// Post request bits for `cpu`'s owner. Returns the sequence number to wait for (doneSeq ≥ it), or 0 when
// there is nothing to wait for (no owner, or the CPU is this instance's own).
export function threadsRequest(cpu: u32, bits: u32): u32 {
  if (cpu >= ncpus()) return 0;
  const r = record(cpu);
  if (r == mine || atomic.load<u32>(r, T_OWNER) == 0) return 0;
  atomic.or<u32>(r, bits, T_REQ);
  const seq = atomic.add<u32>(r, 1, T_REQ_SEQ) + 1;
  return seq == 0 ? 1 : seq; // 0 means "nothing to wait for"; a wrapped sequence waits for 1 instead
}

// Requests done for `cpu` (its doneSeq), for the TS layer's wait.
export function requestsDone(cpu: u32): u32 {
  return cpu < ncpus() ? atomic.load<u32>(record(cpu), T_DONE_SEQ) : 0;
}

// The owner carries out what was asked of its CPU. Called at slow-path entries and by the thread_poll
// export; never with a lock held or an array of the current CPU detached (the caller checks its guard).
// The work (drain, reap) is the handler's that threads-ops.ts registers; without it (a program or spec
// that leaves threads-ops out) a request is marked done with nothing to do.
export function threadsHonour(): void {
  const r = mine;
  if (r == 0) return;
  let seq = atomic.load<u32>(r, T_REQ_SEQ);
  for (;;) {
    const bits = atomic.xchg<u32>(r, 0, T_REQ);
    if (isDefined(threadsWork)) threadsWork(bits);
    atomic.store<u32>(r, seq, T_DONE_SEQ);
    atomic.notify(r + T_DONE_SEQ);
    const again = atomic.load<u32>(r, T_REQ_SEQ);
    if (again == seq) break;
    seq = again;
  }
}

// Mark every request posted so far as done (the arrays are empty: release, recovery).
export function finishRequests(r: usize): void {
  atomic.store<u32>(r, 0, T_REQ);
  atomic.store<u32>(r, atomic.load<u32>(r, T_REQ_SEQ), T_DONE_SEQ);
  atomic.notify(r + T_DONE_SEQ);
}

// ---- borrowing a CPU under an outside lock (bench/threads.mjs's single-lock baseline only) ------------
// The caller holds a lock that serialises every borrower of `cpu`, which nobody owns: for the duration it
// runs as that CPU. Returns the state to give back to returnCpu.
let savedMine: usize = 0;
let savedCpu: u32 = 0;
export function borrowCpu(cpu: u32): void {
  savedMine = mine;
  savedCpu = currentCpu;
  mine = record(cpu);
  setCpu(cpu);
  pinCpu(cpu);
}

export function returnCpu(): void {
  mine = savedMine;
  setCpu(savedCpu);
  pinCpu(savedCpu);
}
