// ownblock.spec.ts — the heap's own objects in a small heap (issue 12): own blocks of the medium heap
// (medium.ts mediumAllocOwn, the O flag), kmem_caches past the header cache slots and kmalloc classes'
// sheaves placed there (cache.ts cacheMemory, sheaf.ts sheafMemory), their frees, the checks a user
// pointer to one meets, and a large heap keeping the internal caches' slabs.
import { freshHeap, takeMedium } from "./setup.include";
import {
  mediumAllocOwn, mediumCheck, mediumFree, mediumFreeOwn, mediumOwnAt, mediumRange, mediumResize, mediumUsable,
  mediumValidate,
} from "../medium";
import { nodeAddr } from "../page";
import { BOOT, cacheCreateInternal, onOwnBlock, smallHeap } from "../cache";
import { cacheDestroy } from "../destroy";
import { sheafDelete, sheafNew } from "../sheaf";
import { HEAP, CHUNK_BASE, pageOf } from "../arena";
import { PageDesc } from "../structs";
import {
  C_FLAGS, C_OWN_BLOCK, CACHE_LINE, E_DOUBLE_FREE, E_NOT_OURS, E_OK, F_INTERNAL, F_KMALLOC, H_CACHE_BYTES, H_HIGH_WATER, H_SHEAF_CACHES,
  H_SLOT_FREE, MB_F_OWN, MB_HDR, MC_BLOCKS, N_MEDIUM, SH_HDR, SHEAF_CLASSES,
} from "../layout";
import { validate } from "../validate";

function control(): usize {
  return <usize>load<u32>(nodeAddr(0) + N_MEDIUM);
}

function noSheafCache(): bool {
  for (let k: u32 = 0; k < SHEAF_CLASSES; k++) if (load<u32>(HEAP + H_SHEAF_CACHES + (k << 2)) != 0) return false;
  return true;
}

describe("own blocks", () => {
  test("none without a medium heap; one is a live block free() and realloc refuse", () => {
    freshHeap();
    expect(mediumAllocOwn(0, 448)).toBe(0);                   // no medium heap: no region is made for it
    const user = takeMedium(100);
    const own = mediumAllocOwn(0, 448);
    expect(own).not.toBe(0);
    expect(load<u32>(own - MB_HDR) & MB_F_OWN).toBe(MB_F_OWN);
    expect(mediumOwnAt(own)).toBe(true);
    expect(mediumOwnAt(user)).toBe(false);
    const blocks = load<u32>(control(), MC_BLOCKS);
    expect(mediumCheck(own)).toBe(E_NOT_OURS);                // free(), realloc, usable size refuse it
    expect(mediumFree(own)).toBe(E_NOT_OURS);
    expect(mediumResize(own, 16)).toBe(false);
    expect(mediumRange(own, 8)).toBe(false);                  // no caller range inside it
    expect(load<u32>(control(), MC_BLOCKS)).toBe(blocks);     // nothing changed
    expect(mediumFreeOwn(user)).toBe(E_NOT_OURS);         // an own free of a user block: refused too
    expect(mediumCheck(user)).toBe(E_OK);
    expect(mediumValidate(0)).toBe(0);
    expect(validate()).toBe(0);
    expect(mediumFreeOwn(own)).toBe(E_OK);
    expect(mediumFreeOwn(own)).toBe(E_DOUBLE_FREE);
    expect(mediumOwnAt(own)).toBe(false);
    expect(load<u32>(control(), MC_BLOCKS)).toBe(blocks - 1);
    expect(mediumFree(user)).toBe(E_OK);
    expect(validate()).toBe(0);
  });

  test("a neighbour's free keeps the O flag of the block after it", () => {
    freshHeap();
    const a = takeMedium(64);
    const own = mediumAllocOwn(0, 256);
    const b = takeMedium(64);
    expect(own).toBe(a + 80);                                  // right after a (a's block: 64 + 8 → 80)
    expect(mediumFree(a)).toBe(E_OK);                          // sets P on own's header
    expect(mediumOwnAt(own)).toBe(true);
    expect(mediumValidate(0)).toBe(0);
    expect(mediumFreeOwn(own)).toBe(E_OK);                  // coalesces with a's free block
    expect(mediumFree(b)).toBe(E_OK);
    expect(validate()).toBe(0);
  });
});

describe("kmem_caches past the header cache slots", () => {
  test("a small heap's own cache is an own block when the slots are taken; destroy gives it back", () => {
    freshHeap();
    expect(smallHeap()).toBe(true);
    const saved = load<u32>(HEAP + H_SLOT_FREE);
    store<u32>(HEAP + H_SLOT_FREE, 0);                         // every header slot taken
    const noMedium = cacheCreateInternal(64);                  // no medium heap yet: a boot-cache object
    expect(noMedium).not.toBe(0);
    expect(onOwnBlock(noMedium)).toBe(false);
    expect(<usize>changetype<PageDesc>(pageOf(noMedium)).cache).toBe(BOOT);
    const user = takeMedium(100);
    const c = cacheCreateInternal(96);
    expect(c).not.toBe(0);
    expect(onOwnBlock(c)).toBe(true);
    expect(c & (CACHE_LINE - 1)).toBe(0);                      // cache-line aligned, as every kmem_cache
    const b = <usize>load<u32>(c, C_OWN_BLOCK);
    expect(c - b).toBeLessThan(<usize>CACHE_LINE);
    expect(mediumOwnAt(b)).toBe(true);
    expect(mediumUsable(b)).toBeGreaterThanOrEqual(c - b + <usize>load<u32>(HEAP + H_CACHE_BYTES));
    expect(load<u32>(noMedium, C_OWN_BLOCK)).toBe(0);
    expect(mediumFree(b)).toBe(E_NOT_OURS);                    // a user free of it: refused
    if (c != b) expect(mediumFree(c)).not.toBe(E_OK);
    expect(validate()).toBe(0);
    const blocks = load<u32>(control(), MC_BLOCKS);
    expect(cacheDestroy(c)).toBe(E_OK);
    expect(load<u32>(control(), MC_BLOCKS)).toBe(blocks - 1);
    expect(mediumOwnAt(b)).toBe(false);
    expect(cacheDestroy(noMedium)).toBe(E_OK);
    expect(mediumFree(user)).toBe(E_OK);
    store<u32>(HEAP + H_SLOT_FREE, saved);
    expect(validate()).toBe(0);
  });

  test("a large heap keeps them on boot-cache slabs", () => {
    freshHeap();
    takeMedium(100);
    store<u32>(HEAP + H_SLOT_FREE, 0);
    store<u32>(HEAP + H_HIGH_WATER, <u32>(CHUNK_BASE + (1 << 20)));  // as if 1 MiB had been handed out
    expect(smallHeap()).toBe(false);
    const c = cacheCreateInternal(96);
    expect(onOwnBlock(c)).toBe(false);
    expect(<usize>changetype<PageDesc>(pageOf(c)).cache).toBe(BOOT);
    expect(cacheDestroy(c)).toBe(E_OK);
  });
});

describe("sheaves", () => {
  test("a kmalloc class's sheaf in a small heap is an own block of exactly its bytes: no sheaf cache", () => {
    freshHeap();
    takeMedium(100);
    const k = cacheCreateInternal(32);
    store<u32>(k, load<u32>(k, C_FLAGS) | F_INTERNAL | F_KMALLOC, C_FLAGS);
    const s = sheafNew(k, 20, 0);
    expect(s).not.toBe(0);
    expect(onOwnBlock(s)).toBe(true);
    expect(mediumUsable(s)).toBeGreaterThanOrEqual(<usize>(SH_HDR + 20 * 4));
    expect(mediumUsable(s)).toBeLessThan(<usize>(SH_HDR + 20 * 4 + 32));
    expect(noSheafCache()).toBe(true);
    expect(mediumFree(s)).toBe(E_NOT_OURS);                    // free() of it: refused
    const blocks = load<u32>(control(), MC_BLOCKS);
    sheafDelete(k, s);
    expect(load<u32>(control(), MC_BLOCKS)).toBe(blocks - 1);
    expect(validate()).toBe(0);
  });

  test("a user cache's sheaf comes from a sheaf cache (prefill handles stay findable)", () => {
    freshHeap();
    takeMedium(100);
    const u = cacheCreateInternal(32);                          // not F_KMALLOC
    const s = sheafNew(u, 20, 0);
    expect(s).not.toBe(0);
    expect(onOwnBlock(s)).toBe(false);
    expect(noSheafCache()).toBe(false);
    sheafDelete(u, s);
    expect(validate()).toBe(0);
  });
});
