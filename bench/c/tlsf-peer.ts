// tlsf-peer.ts — AssemblyScript's own allocator (the TLSF of its "minimal" runtime, std/assembly/rt/tlsf.ts,
// reached through std's heap.alloc / heap.realloc / heap.free) as a malloc peer for bench/malloc-peers.mjs.
//
// Owns: nothing but the C allocation functions over heap.*. Entry points: malloc, free, calloc, realloc,
// aligned_alloc, posix_memalign, malloc_usable_size — the names c/slab_shim.c imports from "wasm_slab", so
// the same shim and the same merge (scripts/merge-c.mjs, module name "wasm_slab") link it into
// bench/c/mbench.c in place of wasm-slab. Called by: the C program only.
// Built by malloc-peers.mjs:
//   asc bench/c/tlsf-peer.ts --runtime minimal -O3 --noAssert --importMemory --noExportMemory --use abort=
//       --memoryBase <the C module's __heap_base, 16-aligned>
// --memoryBase puts this module's data, and so TLSF's heap (it starts at this module's __heap_base), above
// the C program's data and stack in the memory both share.
// Invariants: pointers are 16-aligned (TLSF's AL_SIZE); a size TLSF cannot serve traps (TLSF's own
// behaviour: it has no out-of-memory return); alignments above 16 are refused with 0 / EINVAL, which the
// benchmark's C workloads never ask for.

const AL_SIZE: usize = 16; // TLSF's block alignment (rt/common.ts AL_SIZE)
const BLOCK_OVERHEAD: usize = sizeof<usize>(); // TLSF's header before each payload: mmInfo (rt/common.ts)
const TAGS_MASK: usize = 3; // TLSF's FREE | LEFTFREE bits in mmInfo
const EINVAL: i32 = 28; // wasi-libc's errno values
const ENOMEM: i32 = 48;

export function malloc(size: usize): usize {
  return heap.alloc(size);
}

export function free(ptr: usize): void {
  if (ptr != 0) heap.free(ptr);
}

export function calloc(n: usize, size: usize): usize {
  const bytes = <u64>n * <u64>size;
  if (bytes > <u64>0x7fffffff) return 0;
  const p = heap.alloc(<usize>bytes);
  memory.fill(p, 0, <usize>bytes);
  return p;
}

export function realloc(ptr: usize, size: usize): usize {
  if (ptr == 0) return heap.alloc(size);
  if (size == 0) {
    heap.free(ptr);
    return 0;
  }
  return heap.realloc(ptr, size);
}

export function aligned_alloc(align: usize, size: usize): usize {
  return align <= AL_SIZE ? heap.alloc(size) : 0;
}

export function posix_memalign(memptr: usize, align: usize, size: usize): i32 {
  if (align < 4 || (align & (align - 1)) != 0) return EINVAL;
  if (align > AL_SIZE) return ENOMEM;
  store<u32>(memptr, <u32>heap.alloc(size));
  return 0;
}

// The payload size of TLSF's block: its header word without the tag bits.
export function malloc_usable_size(ptr: usize): usize {
  return ptr == 0 ? 0 : load<usize>(ptr - BLOCK_OVERHEAD) & ~TAGS_MASK;
}
