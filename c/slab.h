/* slab.h — wasm-slab's malloc for C programs compiled to wasm32.
 *
 * The allocator is a separate Wasm module (the wasm-slab package). A C program reaches it in one of two
 * ways, both through c/slab_shim.c, which defines malloc & co. (so libc's dlmalloc is not linked) as
 * calls to functions imported from the module "wasm_slab":
 *
 *  (a) at instantiation: link with --import-memory and --export=__heap_base; in JS,
 *        const heap = await createAllocator({ heapBase: cHeapBase(bytes) });
 *        WebAssembly.instantiate(bytes, { ...heap.imports(), wasi_snapshot_preview1: ... });
 *      Every call crosses from the C instance into the allocator's instance (a direct Wasm call).
 *  (b) merged into one module: link with --export=__heap_base (memory defined by C, the default), then
 *        wasm-merge prog.wasm env node_modules/wasm-slab/dist/slab-merge.wasm wasm_slab -o out.wasm
 *        wasm-opt -O3 out.wasm -o out.wasm          (or: node scripts/merge-c.mjs prog.wasm out.wasm)
 *      The calls become direct calls inside one module (wasm-opt inlines the shim). The allocator sets
 *      its heap up at instantiation, above __heap_base. The merged module imports env.hook(op, a, b, c):
 *      give it a function that returns 0 (op 4 = a bad pointer was passed to free/realloc: a = code,
 *      b = pointer).
 *
 * Compile: clang --target=wasm32-wasi -O2 prog.c c/slab_shim.c -Ic ... (wasi-libc), or
 *          clang --target=wasm32 -nostdlib -O2 -mbulk-memory prog.c c/slab_shim.c -Ic -Wl,--no-entry ...
 *
 * Semantics are C's, plus: malloc(0) returns a unique pointer; realloc(p, 0) frees p and returns NULL;
 * aligned_alloc supports alignments up to 64 KiB (8 KiB for blocks above 512 KiB); a bad pointer given to
 * free or realloc changes nothing and is reported to the host (realloc then returns NULL).
 */
#ifndef WASM_SLAB_H
#define WASM_SLAB_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void *malloc(size_t size);
void free(void *ptr);
void *calloc(size_t n, size_t size);
void *realloc(void *ptr, size_t size);
void *aligned_alloc(size_t align, size_t size);
int posix_memalign(void **memptr, size_t align, size_t size);
size_t malloc_usable_size(void *ptr);

/* The last failure the allocator recorded (free/realloc/malloc_usable_size of a bad pointer, or no
 * memory), as the README describes: the code (0 none, 1 out of memory, 2 not a heap pointer, 3 not the
 * start of a block, 4 another cache's object, 5 double free, 6 invalid argument), the pointer concerned
 * and, for debug caches, the offset of the bad byte from the object, the byte found and the one expected.
 * Through heap.imports() (module "wasm_slab") or merged into one module. */
#define WASM_SLAB_IMPORT(name) __attribute__((import_module("wasm_slab"), import_name(#name)))
int wasm_slab_last_error(void) WASM_SLAB_IMPORT(last_error);
void *wasm_slab_last_error_addr(void) WASM_SLAB_IMPORT(last_error_addr);
int wasm_slab_last_error_offset(void) WASM_SLAB_IMPORT(last_error_offset);
unsigned wasm_slab_last_error_found(void) WASM_SLAB_IMPORT(last_error_found);
unsigned wasm_slab_last_error_expected(void) WASM_SLAB_IMPORT(last_error_expected);

#ifdef __cplusplus
}
#endif

#endif /* WASM_SLAB_H */
