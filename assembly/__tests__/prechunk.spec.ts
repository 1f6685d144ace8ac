// prechunk.spec.ts — the pre-chunk medium region (layout.ts "The pre-chunk region", medium.ts
// mediumPreInit): node 0's home region set up at init in the gap in front of chunk 0, with its own
// descriptor; blocks are taken and freed there with no chunk grown, it never grows (a block larger than
// its free bytes is refused there and takes a chunk region), small blocks come from the ends of its free
// blocks, and the header checks refuse its descriptor, control block and interiors.
import { freshHeap, takeMedium } from "./setup.include";
import { mediumAlloc, mediumCheck, mediumFree, mediumUsable, mediumValidate, regionOf } from "../medium";
import { nodeAddr } from "../page";
import { CHUNK_BASE, PRE_LO, inPre, nchunks } from "../arena";
import { DESC_SIZE, E_DOUBLE_FREE, E_NOT_OBJECT, E_NOT_OURS, E_OK, MB_HDR, MC_FREE_BYTES, N_MEDIUM } from "../layout";
import { validate } from "../validate";

function control(): usize {
  return <usize>load<u32>(nodeAddr(0) + N_MEDIUM);
}

describe("the pre-chunk region", () => {
  test("is node 0's home region from init, below chunk 0, with its own descriptor", () => {
    freshHeap(1, 1, 64 << 20, true);
    expect(PRE_LO).toBeLessThan(CHUNK_BASE);
    expect(CHUNK_BASE & 0xffff).toBe(0);
    const c = control();
    expect(c).toBe(PRE_LO + 2 * MB_HDR);                         // the control block first
    expect(inPre(c)).toBe(true);
    expect(regionOf(c)).toBe(PRE_LO - DESC_SIZE);
    expect(mediumValidate(0)).toBe(0);
    expect(validate()).toBe(0);
  });

  test("takes and frees blocks with no chunk; small ones from a free block's end; never grows", () => {
    freshHeap(1, 1, 64 << 20, true);
    const c = control();
    const big = mediumAlloc(0, 5000);
    expect(inPre(big)).toBe(true);
    const small = mediumAlloc(0, 40);
    expect(inPre(small)).toBe(true);
    expect(small).toBeGreaterThan(big + 20000);                  // cut from the end of the free space
    expect(nchunks()).toBe(0);
    expect(mediumCheck(big)).toBe(E_OK);
    expect(mediumCheck(PRE_LO - DESC_SIZE)).toBe(E_NOT_OURS);      // its descriptor: in no region
    expect(mediumCheck(c)).toBe(E_NOT_OURS);                     // the control block
    expect(mediumCheck(big + 16)).toBe(E_NOT_OBJECT);            // an interior pointer
    const free = load<u32>(c, MC_FREE_BYTES);
    expect(mediumAlloc(0, <usize>free)).toBe(0);                 // more than any free block: no growth
    const far = takeMedium(<usize>free);                          // a region in chunk 0
    expect(inPre(far)).toBe(false);
    expect(nchunks()).toBe(1);
    expect(mediumFree(big)).toBe(E_OK);
    expect(mediumFree(big)).toBe(E_DOUBLE_FREE);
    expect(mediumFree(small)).toBe(E_OK);
    expect(mediumFree(far)).toBe(E_OK);
    expect(mediumUsable(mediumAlloc(0, 100))).toBeGreaterThanOrEqual(100);
    expect(mediumValidate(0)).toBe(0);
    expect(validate()).toBe(0);
  });
});
