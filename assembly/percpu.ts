// percpu.ts — which CPU this instance runs as, and where that CPU's slot of a cache is.
//
// Owns: the cached per-heap offset of the per-CPU area inside a cache (CPU_OFF, copied from H_CPU_OFF at
// init), the current node (the node of the pinned CPU), the slot address arithmetic, and the address of
// the heap's empty sheaf (the array every detached or unused CC_MAIN / CC_SPARE word points at).
// Entry points: setCpuOff(), pinCpu(), slotOf(), cpuSlot(), emptySheaf(), currentNode, fastNode().
// Called by: every layer that reads or writes a per-CPU slot (stats, node, cache, sheaf, cpu, debug, bulk,
// prefill, reclaim, validate). Calls sync.ts (setSlotArea: the current CPU's slot offset lives there).
//
//   cache ┼ header ┼ cache-node × nnodes ┼pad┼ slot cpu 0 ┼ slot cpu 1 ┼ ... ┤   (each slot CC_SIZE bytes)
//         ↑ cache                            ↑ cache + CPU_OFF + cpu × CC_SIZE
import { C_HDR, CACHE_LINE, CC_SIZE, CN_SIZE, H_CPU_NODE, H_EMPTY_SHEAF } from "./layout";
import { HEAP } from "./arena";
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
