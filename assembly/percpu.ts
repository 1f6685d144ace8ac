// percpu.ts — which CPU this instance runs as, and where that CPU's slot of a cache is.
//
// Owns: the cached per-heap offset of the per-CPU area inside a cache (CPU_OFF, copied from H_CPU_OFF at
// init), the current node (the node of the pinned CPU), the slot address arithmetic, and the address of
// the heap's empty sheaf (the array every detached or unused CC_MAIN / CC_SPARE word points at).
// Entry points: setCpuOff(), pinCpu(), slotOf(), cpuSlot(), emptySheaf(), currentNode, fastNode(), and the
// fast paths' views of the heap (fastHeap(), fastChunkByteOf(), fastPageOf(): constants in a SINGLE_CPU build).
// Called by: every layer that reads or writes a per-CPU slot (stats, node, cache, sheaf, cpu, debug, bulk,
// prefill, reclaim, validate). Calls sync.ts (setSlotArea: the current CPU's slot offset lives there).
//
//   cache ┼ header ┼ cache-node × nnodes ┼pad┼ slot cpu 0 ┼ slot cpu 1 ┼ ... ┤   (each slot CC_SIZE bytes)
//         ↑ cache                            ↑ cache + CPU_OFF + cpu × CC_SIZE
import { C_HDR, CACHE_LINE, CC_SIZE, CHUNK_BASE_ALIGN, CHUNK_SHIFT, CHUNK_SIZE, CN_SIZE, DESC_SHIFT, H_BOOT, H_CHUNK_TABLE, H_CPU_NODE, H_EMPTY_SHEAF, PAGE_SHIFT } from "./layout";
import { CHUNK_BASE, HEAP, TABLE, chunkByteOf, pageOf } from "./arena";
import { currentSlotOff, setSlotArea } from "./sync";

// Build constant SINGLE_CPU (asc --use ONE_CPU=1; asconfig.json: the merge target, whose heap is always one node and
// one CPU: merged.ts): the fast paths take the CPU's slot offset and node as constants (ONE_CPU_SLOT, node
// 0) instead of reading two globals. index.ts slab_init refuses a heap of another shape in such a build
// (E_INVALID, nothing changed), so setCpuOff never meets one (its test is an assertion of that).
// @ts-ignore: ONE_CPU is defined by `asc --use ONE_CPU=1` when a target sets it
@inline export const SINGLE_CPU: bool = isDefined(ONE_CPU) ? ONE_CPU != 0 : false;
// The per-CPU area's offset in a cache of a one-node heap (cache.ts cpuOffset(1)): CPU 0's slot.
@inline const ONE_CPU_SLOT: usize = (C_HDR + CN_SIZE + CACHE_LINE - 1) & ~(CACHE_LINE - 1);

// Cached per-heap constant: offset of the per-CPU area inside a cache (set at init).
export let CPU_OFF: usize = 0;
export function setCpuOff(off: usize): void {
  if (SINGLE_CPU && off != ONE_CPU_SLOT) unreachable();        // a SINGLE_CPU build serves one node only
  CPU_OFF = off;
  setSlotArea(off, CC_SIZE);   // sync.ts keeps the current CPU's slot offset from it
}

// Node of the current CPU (per instance, set by pin).
export let currentNode: u32 = 0;
export function pinCpu(cpu: u32): void {
  currentNode = <u32>load<u8>(HEAP + H_CPU_NODE + cpu);
}

// The merge target's heap is always at the C program's __heap_base (merged.ts; index.ts slab_init refuses any
// other base in a SINGLE_CPU build, and checks the chunk base below against heapInit's), which wasm-merge
// makes a constant of the merged module: the fast paths then address the heap header, the chunk table and
// the page descriptors from constants (wasm-opt folds them into the loads' offsets) instead of reading the
// globals HEAP, TABLE and CHUNK_BASE — one load less at the head of malloc's and free's chains of
// dependent loads (bench/PROFILE.md, "mixtime"). Elsewhere they are arena.ts's globals.
// @ts-ignore: decorator
@external("env", "__heap_base")
declare const MERGED_HEAP_BASE: u32;
// The header of a one-node, one-CPU heap (cache.ts headerBytes(1, 1), not threaded): the boot cache's end.
@inline const ONE_CPU_HEADER: usize = <usize>H_BOOT + ONE_CPU_SLOT + <usize>CC_SIZE;

@inline export function fastHeap(): usize {
  return SINGLE_CPU ? (<usize>MERGED_HEAP_BASE + 63) & ~63 : HEAP;
}
@inline export function fastChunkBase(): usize {
  return SINGLE_CPU ? (fastHeap() + ONE_CPU_HEADER + CHUNK_BASE_ALIGN - 1) & ~(<usize>CHUNK_BASE_ALIGN - 1) : CHUNK_BASE;
}
// arena.ts chunkByteOf and pageOf over these views.
@inline export function fastChunkByteOf(ptr: usize): u8 {
  if (!SINGLE_CPU) return chunkByteOf(ptr);
  return load<u8>(fastHeap() + H_CHUNK_TABLE + ((ptr - fastChunkBase()) >> CHUNK_SHIFT));
}
@inline export function fastPageOf(ptr: usize): usize {
  if (!SINGLE_CPU) return pageOf(ptr);
  const off = (ptr - fastChunkBase()) & (CHUNK_SIZE - 1);
  return ptr - off + ((off >> PAGE_SHIFT) << DESC_SHIFT);
}
// (TABLE is HEAP + H_CHUNK_TABLE in every build: arena.ts setViews.)
@inline export function fastViewsHold(): bool {
  return !SINGLE_CPU || (HEAP == fastHeap() && CHUNK_BASE == fastChunkBase() && TABLE == fastHeap() + H_CHUNK_TABLE);
}

// currentNode for the fast paths' tests: 0 in a SINGLE_CPU build (no global read).
@inline export function fastNode(): u32 {
  return SINGLE_CPU ? 0 : currentNode;
}

// CPU `cpu`'s slot inside `cache`.
@inline export function slotOf(cache: usize, cpu: u32): usize {
  return cache + CPU_OFF + <usize>cpu * CC_SIZE;
}

// The current CPU's slot inside `cache`: slotOf(cache, currentCpu), its offset kept by sync.ts setCpu.
@inline export function cpuSlot(cache: usize): usize {
  return cache + (SINGLE_CPU ? ONE_CPU_SLOT : currentSlotOff);   // (SINGLE_CPU: pin_cpu accepts CPU 0 only)
}

// The empty sheaf: count 0, capacity 0, never freed. A slot whose array is detached points here.
@inline export function emptySheaf(): usize {
  return HEAP + H_EMPTY_SHEAF;
}
