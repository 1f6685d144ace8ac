// sync.spec.ts — the lock order of sync.ts, checked in debug builds (specs build with assertions on):
// heap lock, then a cache-node lock, then a node page lock, then the grow lock; a lock taken against that
// order aborts. (The threaded build's futex path is exercised by test/threads-*.test.ts with Workers.)
import { freshHeap } from "./setup.include";
import { heapLock, heapUnlock, lock, locksHeld, unlock } from "../sync";
import { HEAP } from "../arena";
import { C_HDR, CN_LOCK, H_BOOT, H_GROW_LOCK, H_NODES, N_LOCK } from "../layout";

let cnLock: usize = 0;
let nodeLock: usize = 0;
let growLock: usize = 0;

function setUp(): void {
  freshHeap();
  cnLock = HEAP + H_BOOT + C_HDR + CN_LOCK;   // the boot cache's node-0 list lock
  nodeLock = HEAP + H_NODES + N_LOCK;          // node 0's page lock
  growLock = HEAP + H_GROW_LOCK;
}

describe("lock order", () => {
  it("allows heap → cache-node → node → grow, and tracks what is held", () => {
    setUp();
    heapLock();
    heapLock();                                 // the heap lock is recursive for one instance
    lock(cnLock);
    lock(nodeLock);
    lock(growLock);
    expect(locksHeld()).toBe(0b1111);
    unlock(growLock);
    unlock(nodeLock);
    unlock(cnLock);
    heapUnlock();
    expect(locksHeld()).toBe(0b0001);
    heapUnlock();
    expect(locksHeld()).toBe(0);
    lock(nodeLock);                             // skipping ranks is fine
    lock(growLock);
    unlock(growLock);
    unlock(nodeLock);
    expect(locksHeld()).toBe(0);
  });

  it("aborts on a cache-node lock taken under a node page lock", () => {
    setUp();
    expect(() => {
      lock(nodeLock);
      lock(cnLock);
    }).toThrow();
  });
});
