// slab-runtime.ts — an AssemblyScript runtime whose memory manager is wasm-slab: AS objects, arrays and
// strings are allocated with the allocator's malloc & co., imported from the module "wasm_slab" (the
// same imports as the C shim, from heap.imports()).
//
// Owns: the runtime interface AS 0.27 code calls (__alloc, __realloc, __free, __new, __renew, __link,
// __pin, __unpin, __collect, __visit, __reset), as in AS's own stub runtime (std/assembly/rt/stub.ts): no
// garbage collector, so memory is freed by __free (or heap.free from JS); unlike the stub, freed memory
// is reused. Entry point: `asc prog.ts --runtime ./node_modules/wasm-slab/as/slab-runtime --importMemory`.
// Invariants: a block is [16-byte prefix whose last 4 bytes are BLOCK.mmInfo (the payload size)][payload];
// the payload (what __alloc returns) is 16-byte aligned, as AS's runtimes guarantee (AL_MASK), so the
// prefix starts at the pointer wasm-slab returned (aligned_alloc(16, …)). Out of memory traps, as it does
// in AS's runtimes (through abort: "Allocation too large" for sizes above BLOCK_MAXSIZE).
// Called by: AS code compiled with this runtime; test/package-as.test.ts.
// Call tree: __new → __alloc → slab_aligned_alloc;  __renew → __realloc → slab_realloc (| aligned copy);
//            __free → slab_free
import { AL_MASK, BLOCK, BLOCK_MAXSIZE, BLOCK_OVERHEAD, OBJECT, OBJECT_MAXSIZE, OBJECT_OVERHEAD } from "~lib/rt/common";
import { E_ALLOCATION_TOO_LARGE } from "~lib/util/error";

// @ts-ignore: decorator
@external("wasm_slab", "aligned_alloc")
declare function slab_aligned_alloc(align: usize, size: usize): usize;
// @ts-ignore: decorator
@external("wasm_slab", "realloc")
declare function slab_realloc(ptr: usize, size: usize): usize;
// @ts-ignore: decorator
@external("wasm_slab", "free")
declare function slab_free(ptr: usize): void;

/** Bytes before the payload: alignment padding, then BLOCK (mmInfo). */
// @ts-ignore: decorator
@inline const PREFIX: usize = AL_MASK + 1;

// @ts-ignore: decorator
@inline function blockOf(ptr: usize): BLOCK {
  return changetype<BLOCK>(ptr - BLOCK_OVERHEAD);
}

// @ts-ignore: decorator
@unsafe @global
export function __alloc(size: usize): usize {
  if (size > BLOCK_MAXSIZE) throw new Error(E_ALLOCATION_TOO_LARGE);
  let base = slab_aligned_alloc(PREFIX, PREFIX + size);
  if (base == 0) unreachable(); // out of memory
  let ptr = base + PREFIX;
  blockOf(ptr).mmInfo = size;
  return ptr;
}

// @ts-ignore: decorator
@unsafe @global
export function __realloc(ptr: usize, size: usize): usize {
  assert(ptr != 0 && !(ptr & AL_MASK)); // must exist and be aligned
  if (size > BLOCK_MAXSIZE) throw new Error(E_ALLOCATION_TOO_LARGE);
  let base = slab_realloc(ptr - PREFIX, PREFIX + size);
  if (base == 0) unreachable(); // out of memory
  if (base & AL_MASK) { // realloc kept malloc's alignment only: move to an aligned block
    let moved = slab_aligned_alloc(PREFIX, PREFIX + size);
    if (moved == 0) unreachable();
    memory.copy(moved, base, PREFIX + size);
    slab_free(base);
    base = moved;
  }
  ptr = base + PREFIX;
  blockOf(ptr).mmInfo = size;
  return ptr;
}

// @ts-ignore: decorator
@unsafe @global
export function __free(ptr: usize): void {
  assert(ptr != 0 && !(ptr & AL_MASK)); // must exist and be aligned
  slab_free(ptr - PREFIX);
}

// @ts-ignore: decorator
@unsafe @global
export function __reset(): void {
  // nothing: blocks are freed one by one (__free), not all at once as in the stub runtime
}

// @ts-ignore: decorator
@unsafe @global
export function __new(size: usize, id: u32): usize {
  if (size > OBJECT_MAXSIZE) throw new Error(E_ALLOCATION_TOO_LARGE);
  let ptr = __alloc(OBJECT_OVERHEAD + size);
  let object = changetype<OBJECT>(ptr - BLOCK_OVERHEAD);
  object.gcInfo = 0;
  object.gcInfo2 = 0;
  object.rtId = id;
  object.rtSize = <u32>size;
  return ptr + OBJECT_OVERHEAD;
}

// @ts-ignore: decorator
@unsafe @global
export function __renew(oldPtr: usize, size: usize): usize {
  if (size > OBJECT_MAXSIZE) throw new Error(E_ALLOCATION_TOO_LARGE);
  let newPtr = __realloc(oldPtr - OBJECT_OVERHEAD, OBJECT_OVERHEAD + size);
  changetype<OBJECT>(newPtr - BLOCK_OVERHEAD).rtSize = <u32>size;
  return newPtr + OBJECT_OVERHEAD;
}

// @ts-ignore: decorator
@global @unsafe
export function __link(parentPtr: usize, childPtr: usize, expectMultiple: bool): void {
  // no collector: nothing to record
}

// @ts-ignore: decorator
@global @unsafe
export function __pin(ptr: usize): usize {
  return ptr;
}

// @ts-ignore: decorator
@global @unsafe
export function __unpin(ptr: usize): void {
  // no collector: nothing to unpin
}

// @ts-ignore: decorator
@global @unsafe
function __visit(ptr: usize, cookie: u32): void { // eslint-disable-line @typescript-eslint/no-unused-vars
  // no collector: nothing visits
}

// @ts-ignore: decorator
@global @unsafe
export function __collect(): void {
  // no collector: memory is freed explicitly
}
