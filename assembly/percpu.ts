// percpu.ts — which CPU this instance runs as, and where that CPU's slot of a cache is.
//
// Owns: the cached per-heap offset of the per-CPU area inside a cache (CPU_OFF, copied from H_CPU_OFF at
// init), the current node (the node of the pinned CPU), the slot address arithmetic, and the address of
// the heap's empty sheaf (the array every detached or unused CC_MAIN / CC_SPARE word points at).
// Entry points: setCpuOff(), pinCpu(), slotOf(), cpuSlot(), emptySheaf(), currentNode.
// Called by: every layer that reads or writes a per-CPU slot (stats, node, cache, sheaf, cpu, debug, bulk,
// prefill, reclaim, validate). Calls sync.ts (setSlotArea: the current CPU's slot offset lives there).
//
//   cache ┼ header ┼ cache-node × nnodes ┼pad┼ slot cpu 0 ┼ slot cpu 1 ┼ ... ┤   (each slot CC_SIZE bytes)
//         ↑ cache                            ↑ cache + CPU_OFF + cpu × CC_SIZE
import { CC_SIZE, H_CPU_NODE, H_EMPTY_SHEAF } from "./layout";
import { HEAP } from "./arena";
import { currentSlotOff, setSlotArea } from "./sync";

// Cached per-heap constant: offset of the per-CPU area inside a cache (set at init).
export let CPU_OFF: usize = 0;
export function setCpuOff(off: usize): void {
  CPU_OFF = off;
  setSlotArea(off, CC_SIZE);   // sync.ts keeps the current CPU's slot offset from it
}

// Node of the current CPU (per instance, set by pin).
export let currentNode: u32 = 0;
export function pinCpu(cpu: u32): void {
  currentNode = <u32>load<u8>(HEAP + H_CPU_NODE + cpu);
}

// CPU `cpu`'s slot inside `cache`.
@inline export function slotOf(cache: usize, cpu: u32): usize {
  return cache + CPU_OFF + <usize>cpu * CC_SIZE;
}

// The current CPU's slot inside `cache`: slotOf(cache, currentCpu), its offset kept by sync.ts setCpu.
@inline export function cpuSlot(cache: usize): usize {
  return cache + currentSlotOff;
}

// The empty sheaf: count 0, capacity 0, never freed. A slot whose array is detached points here.
@inline export function emptySheaf(): usize {
  return HEAP + H_EMPTY_SHEAF;
}
