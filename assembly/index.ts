// index.ts — the Wasm ABI of wasm-slab: exported functions only, no logic.
//
// Conventions: pointers and sizes are u32 byte offsets into the shared linear memory; 0 is "no memory".
// Functions that can fail return a pointer (0 on failure) or an error code (E_*, 0 = success); the last
// failure's code is readable with lastError(). Layout constants are exported as globals so the TS layer
// reads structures with the same offsets the Wasm uses.
import { E_INVALID, E_OK, H_CACHE_HEAD, H_NCPUS, H_NNODES, H_LAST_ERROR, H_CPU_NODE, H_FLAGS2 } from "./layout";
import { HEAP, nodeOf as arenaNodeOf, chunkIndex, nchunks } from "./arena";
import { cacheCreate, cacheDestroy, heapInit, isCache, liveObjects, setError } from "./cache";
import { cacheAlloc, cacheAllocNode, cacheFree, drainCpuArrays, parkedObjects, pinCpu, tuneArrays } from "./cpu";
import { setCpu, currentCpu } from "./sync";
import { validate as validateHeap } from "./validate";
import { freePages } from "./page";

export * from "./layout";
export { NR_STATS } from "./stats";

// Set up the heap. maxBytes is a double so JS can pass any byte count (exact to 2^53).
export function init(heapBase: u32, nodes: u32, cpusPerNode: u32, maxBytes: f64): i32 {
  return heapInit(heapBase, nodes, cpusPerNode, maxBytes <= 0 ? <u64>0xffffffff : <u64>maxBytes);
}

export function heapAddr(): u32 { return <u32>HEAP; }
export function lastError(): i32 { return load<i32>(HEAP, H_LAST_ERROR); }

export function pin(cpu: u32): i32 {
  if (cpu >= load<u32>(HEAP, H_NCPUS)) return E_INVALID;
  setCpu(cpu);
  pinCpu(cpu);
  return E_OK;
}
export function cpu(): u32 { return currentCpu; }
export function cpuNode(cpu: u32): u32 { return load<u8>(HEAP + H_CPU_NODE + cpu); }

// The node owning ptr, or -1 if ptr is not inside the heap.
export function nodeOf(ptr: u32): i32 {
  return chunkIndex(ptr) < nchunks() ? <i32>arenaNodeOf(ptr) : -1;
}

export function createCache(size: u32, align: u32, flags: u32, arrayCap: u32): u32 {
  return <u32>cacheCreate(size, align, flags, arrayCap);
}

export function destroyCache(cache: u32): i32 {
  return cacheDestroy(cache);
}

export function alloc(cache: u32): u32 {
  return <u32>cacheAlloc(cache);
}

export function allocNode(cache: u32, node: u32): u32 {
  return <u32>cacheAllocNode(cache, node);
}

export function free(cache: u32, ptr: u32): i32 {
  const e = cacheFree(cache, ptr);
  if (e != E_OK) setError(e);
  return e;
}

export function validCache(cache: u32): bool { return isCache(cache); }
export function cacheLive(cache: u32): u32 { return liveObjects(cache); }
export function cacheParked(cache: u32): u32 { return parkedObjects(cache); }
export function cacheDrain(cache: u32): u32 { return drainCpuArrays(cache); }
export function cacheTune(cache: u32, cap: u32): i32 { return tuneArrays(cache, cap); }
export function cacheHead(): u32 { return load<u32>(HEAP, H_CACHE_HEAD); }
export function nodeFreePages(node: u32): u32 { return node < load<u32>(HEAP, H_NNODES) ? freePages(node) : 0; }
export function setHeapFlags2(v: u32): void { store<u32>(HEAP, v, H_FLAGS2); }

export function validate(): u32 { return validateHeap(); }

// End of the module's own static data: the lowest address a heap may use when the embedder has no data.
export function dataEnd(): u32 { return <u32>__heap_base; }
