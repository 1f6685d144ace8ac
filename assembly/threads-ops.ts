// threads-ops.ts — shared heaps, the high half: attaching an instance, releasing and recovering a CPU, and
// the work an owner does for requests (drain its arrays, reap).
//
// Owns: no memory of its own (threads.ts owns the thread block); the order of the steps below.
// Entry points: threadsAttach(heap), cpuRelease(), cpuRecover(cpu, dead), threadsPoll(), and the request
// handler threadsWork(bits) that threads.ts calls (registered as AssemblyScript @global, the one way up).
// Called by: index.ts (the ABI). Calls threads.ts (ownership), cpu.ts (drainSlot), reclaim.ts (reapPass),
// arena.ts / cache.ts (an attached instance's views), percpu.ts, report.ts, sync.ts (the heap lock).
//
// Call tree:
//   threadsAttach ─ arenaAttach (views, lock words) ─ cacheAttach (BOOT, CPU_OFF) ─ threadsJoin (token)
//   cpuRelease ─ drainAll ─ releaseOwner (finish requests, park, owner := 0)
//   cpuRecover ─ takeOver (cmpxchg owner dead → us; run as it) ─ clear its guards ─ drainAll ─ giveBack
//   threadsWork(bits) ─ REQ_DRAIN: drainAll ─ REQ_REAP: reapPass(current CPU)
//   drainAll ─ heap lock ─ every cache: drainSlot(cache, current CPU)
// Only the threaded build calls any of this (index.ts guards each export with sync.ts THREADED).
import { C_NEXT, CC_GUARD, E_INVALID, E_NO_CPU, E_OK, H_CACHE_HEAD, REQ_DRAIN, REQ_REAP } from "./layout";
import { HEAP, arenaAttach } from "./arena";
import { cacheAttach } from "./cache";
import { drainSlot } from "./cpu";
import { slotOf } from "./percpu";
import { reapPass } from "./reclaim";
import { setError } from "./report";
import { currentCpu, heapLock, heapUnlock } from "./sync";
import {
  giveBack, myRecord, noCpu, releaseOwner, takeOver, threadsHonour, threadsJoin, threadsPending,
} from "./threads";
import { H_THREADS } from "./layout";

// Drain the current CPU's slot in every cache (the heap lock keeps the cache list still).
function drainAll(): u32 {
  let flushed: u32 = 0;
  heapLock();
  for (let c = <usize>load<u32>(HEAP, H_CACHE_HEAD); c != 0; c = <usize>load<u32>(c, C_NEXT)) {
    flushed += drainSlot(c, currentCpu);
  }
  heapUnlock();
  return flushed;
}

// The work of a request, run by the owner (threads.ts threadsHonour calls it).
@global export function threadsWork(bits: u32): void {
  if ((bits & REQ_DRAIN) != 0) drainAll();
  if ((bits & REQ_REAP) != 0) reapPass(currentCpu);
}

// Attach this (fresh) instance to the heap whose header is at `heap`. E_OK, or E_INVALID when there is
// no shared heap there (or this instance has one). Writes nothing but the token counter.
export function threadsAttach(heap: usize): i32 {
  if (myRecord() != 0) return E_INVALID;
  if (!arenaAttach(heap) || load<u32>(heap, H_THREADS) == 0) return E_INVALID;
  cacheAttach();
  return threadsJoin() ? E_OK : E_INVALID;
}

// Flush every array this instance's CPU holds (all caches) and give the CPU up. E_OK or E_NO_CPU.
export function cpuRelease(): i32 {
  if (noCpu()) return E_NO_CPU;
  drainAll();
  releaseOwner();
  return E_OK;
}

// Take over `cpu`, whose owner (token `dead`) is gone without releasing it: drain its arrays as that CPU
// (no object lost: they go back to their slabs), then leave it free. This instance keeps its own CPU.
// E_OK, E_BUSY (the owner word is not `dead`: it was released or claimed meanwhile), E_INVALID.
export function cpuRecover(cpu: u32, dead: u32): i32 {
  const e = takeOver(cpu, dead);
  if (e != E_OK) return e;
  heapLock();
  for (let c = <usize>load<u32>(HEAP, H_CACHE_HEAD); c != 0; c = <usize>load<u32>(c, C_NEXT)) {
    store<u32>(slotOf(c, cpu), 0, CC_GUARD);                // a slow path it died in is over
  }
  heapUnlock();
  drainAll();
  giveBack();
  return E_OK;
}

// An API call's chance to honour requests (thread_poll). E_OK or E_NO_CPU.
export function threadsPoll(): i32 {
  if (noCpu()) { setError(E_NO_CPU); return E_NO_CPU; }
  if (threadsPending()) threadsHonour();
  return E_OK;
}
